"""cluster_bench.py -- bots/bench's cluster scenarios: the same swarm against one gateway and
against Redis + two gateways in cluster mode (`--redis`), at several load levels.

A setup is a set of processes (SETUPS): "one" is one gateway with `--workers 2`, "one-w1"
one gateway with `--workers 1`, "cluster" a redis-server (bots/redis_process.py, no
persistence unless bench --redis-appendonly) and two gateways with `--workers 1 --redis
URL` each, "cluster1" a redis-server and one gateway (`--workers 2 --redis`: what the
Redis hop costs without a second node). The swarm gets every gateway's URL (`--url` once
per node: client i starts on node i mod n and is in room i mod --rooms, so with an odd
room count every room has members, and senders, on both nodes).

Besides bench's columns, each row gets the CPU of the gateways' Batcher and Shard threads
(schedstat at the markers): in cluster mode the Batcher also makes every Redis call.

Measured between the swarm's "phase send" and "phase close" markers, like every bench
row: CPU of the gateways and of redis-server (/proc/<pid>/task/*/schedstat), each
gateway's backplane counters (/metrics), and Redis's `INFO commandstats`. Redis commands
are what the gateways send (EVALSHA, XRANGE, SET, SUBSCRIBE, PING, ...): commandstats also
counts the commands a Lua script runs inside Redis (XADD, HSET, PUBLISH, ...), which are
not round trips and are left out (SCRIPT_CALLS; an XRANGE the append script runs to trim
a log over its byte budget comes with an XDEL, so one XRANGE per XDEL is left out too), as
are bench's own INFO calls.

Used by bots/bench only (bench passes its run_swarms and summarize in), stdlib only.
"""
import os
import shlex
import sys
import threading
import time
import urllib.error

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gateway_metrics import http_get, scrape_metrics, total  # noqa: E402
from gateway_process import GatewayProcess, cpu_seconds, stat_cpu_seconds, thread_schedstats  # noqa: E402
from redis_process import RedisProcess  # noqa: E402

# name -> (description, nodes, --workers per gateway, cluster mode)
SETUPS = {
    "one": ("one gateway, --workers 2", 1, 2, False),
    "one-w1": ("one gateway, --workers 1", 1, 1, False),
    "cluster": ("redis-server + two gateways, --workers 1 --redis each", 2, 1, True),
    "cluster1": ("redis-server + one gateway, --workers 2 --redis (the Redis hop without a "
                 "second node)", 1, 2, True),
}
DEFAULT_SETUPS = "one,one-w1,cluster"

# Commands only the backplane's Lua scripts run (src/cluster/redis_scripts.hpp); the
# gateways never send them themselves.
SCRIPT_CALLS = {"hgetall", "hdel", "time", "hget", "hmget", "hset", "hincrby", "hexists",
                "exists", "xadd", "xdel", "xrevrange", "pexpire", "publish", "del", "get"}
OURS = {"info"}  # bench's own INFO commandstats at the markers

# Each gateway's counters, summed over label sets; histograms as _sum and _count.
NODE_METRICS = ("tidegate_backplane_appends_total", "tidegate_backplane_append_conflicts_total",
                "tidegate_backplane_append_errors_total", "tidegate_backplane_compressions_total",
                "tidegate_backplane_commands_total", "tidegate_backplane_batches_read_total",
                "tidegate_backplane_refused_events_total",
                "tidegate_backplane_rtt_seconds_sum", "tidegate_backplane_rtt_seconds_count",
                "tidegate_backplane_lag_seconds_sum", "tidegate_backplane_lag_seconds_count")


class Sample(tuple):
    """bench's CpuSampler tuple (time, server CPU s, swarms' CPU s, server stat CPU s, the
    machine's busy CPU s), the server being every gateway and redis-server together;
    `parts` holds each one's CPU s ({"gw0": .., "gw1": .., "redis": ..})."""
    parts = None


class ClusterSampler:
    """bench's sampler for a setup of several processes. scrape() reads each gateway's
    NODE_METRICS and Redis's commandstats (bench calls it at each marker because
    metrics_port is set)."""

    def __init__(self, gateways, redis, machine_busy_seconds):
        self.gateways, self.redis = gateways, redis
        self.machine_busy_seconds = machine_busy_seconds
        self.metrics_port = True
        self.swarm_pids = []
        self._last = {}
        self._lock = threading.Lock()

    def _pids(self):
        out = [("gw%d" % i, gw.pid) for i, gw in enumerate(self.gateways)]
        return out + ([("redis", self.redis.pid)] if self.redis else [])

    def threads(self):
        """Every gateway's thread_schedstats(), as {"gw<k>:<thread name>": [...]}."""
        return {"gw%d:%s" % (i, name): v for i, gw in enumerate(self.gateways)
                for name, v in thread_schedstats(gw.pid).items()}

    def __call__(self):
        with self._lock:
            for pid in self.swarm_pids:
                try:
                    self._last[pid] = cpu_seconds(pid)
                except OSError:
                    pass
            parts = {name: cpu_seconds(pid) for name, pid in self._pids()}
            stat = sum(stat_cpu_seconds(pid) for _, pid in self._pids())
            s = Sample((time.monotonic(), sum(parts.values()), sum(self._last.values()), stat,
                        self.machine_busy_seconds()))
            s.parts = parts
            return s

    def scrape(self):
        nodes = []
        for gw in self.gateways:
            m = scrape_metrics(gw.metrics_port)
            nodes.append({family: total(m, family) or 0.0 for family in NODE_METRICS})
        commands = None
        if self.redis:
            commands = {k[len("cmdstat_"):]: v["calls"] for k, v in self.redis.info("commandstats").items()
                        if k.startswith("cmdstat_")}
        return {"nodes": nodes, "commands": commands}


def wait_ready(gw, timeout=15.0):
    """Until the gateway's /readyz answers 200 (in cluster mode: its backplane is up)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            http_get(gw.port, "/readyz", timeout=2.0)
            return
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() > deadline:
                raise RuntimeError("gateway on port %d not ready after %g s: %s" % (gw.port, timeout, e))
        time.sleep(0.1)


def client_commands(delta):
    """{command: calls} the gateways sent, from a commandstats delta (module docstring)."""
    out = {k: v for k, v in delta.items() if k not in SCRIPT_CALLS and k not in OURS and v}
    if out.get("xrange") and delta.get("xdel"):
        out["xrange"] = max(0, out["xrange"] - delta["xdel"])
    return out


def run(args, level, level_gw_flags, setup, variant_name, variant_flags, workdir, run_swarms,
        summarize, machine_busy_seconds):
    """One row: starts the setup, runs the level's swarm against it, returns bench's
    summary of it with the cluster columns added (see summarize_cluster)."""
    _, nodes, workers, clustered = SETUPS[setup]
    tag = "%s-%s-%s" % (level, setup, variant_name)
    redis, gateways = None, []
    try:
        if clustered:
            redis = RedisProcess(appendonly=args.redis_appendonly).start()
        for k in range(nodes):
            flags = ["--metrics-listen", "127.0.0.1:0", "--workers", str(workers)]
            flags += (["--redis", redis.url] if redis else []) + shlex.split(level_gw_flags)
            flags += variant_flags
            print("# %s: gateway %d: %s" % (tag, k, " ".join(flags)), file=sys.stderr, flush=True)
            gateways.append(GatewayProcess(args.gateway, flags, metrics=True,
                                           log_path=os.path.join(workdir, "%s.gw%d.log" % (tag, k))))
        for gw in gateways:
            wait_ready(gw)
        sampler = ClusterSampler(gateways, redis, machine_busy_seconds)
        runs = run_swarms(args, tag, level, gateways[0], workdir,
                          urls=[gw.url for gw in gateways], sampler=sampler)
    finally:
        codes = [gw.stop() for gw in gateways]
        if redis:
            redis.close()
    x = summarize(level, variant_name, runs, next((c for c in codes if c), 0))
    x.update(summarize_cluster(runs, setup, nodes, workers))
    x["clustered"] = clustered
    return x


def x_threads_of(runs):
    """{"gw<k>:<thread>": {"cpu_s", ...}} between the markers (one swarm: its own)."""
    run = runs[0]
    a, b = run.threads.get("send", {}), run.threads.get("close", {})
    return {k: {"cpu_s": (v[0] - a.get(k, (0, 0, 0))[0]) / 1e9} for k, v in b.items()}


def summarize_cluster(runs, setup, nodes, workers):
    run = runs[0]
    (t0, t1) = run.marks["send"], run.marks["close"]
    wall = max(t1[0] - t0[0], 1e-9)
    deliveries = sum(r.report["deliveries_all"] for r in runs)
    messages = sum(r.report["messages_sent"] for r in runs)
    cpu = {k: t1.parts[k] - t0.parts[k] for k in t1.parts}
    redis_cpu = cpu.get("redis", 0.0)
    per_1k = lambda s: s * 1e6 / (deliveries / 1000.0) if deliveries else 0.0  # noqa: E731
    x = {
        "setup": setup, "nodes": nodes, "workers": workers, "messages": messages,
        "cpu_parts_s": cpu, "gateways_cpu_per_s": (sum(cpu.values()) - redis_cpu) / wall,
        "redis_cpu_per_s": redis_cpu / wall, "redis_us_per_1k": per_1k(redis_cpu),
        "gateways_us_per_1k": per_1k(sum(cpu.values()) - redis_cpu),
    }
    m0, m1 = run.metrics["send"], run.metrics["close"]
    node_deltas = [{k: b[k] - a[k] for k in NODE_METRICS} for a, b in zip(m0["nodes"], m1["nodes"])]
    x["node_metrics"] = node_deltas
    # The gateways' threads over the measurement (bench's thread_waits), by role: the
    # Batcher (sequencing, encoding, and in cluster mode every Redis call and read), the
    # Shards (reading clients, writing frames), the rest (main, metrics).
    threads = {}
    for key, t in x_threads_of(runs).items():
        role = key.split(":", 1)[1]
        role = "batcher" if role == "tg-batcher" else "shards" if role.startswith("tg-shard") else "rest"
        threads[role] = threads.get(role, 0.0) + t["cpu_s"]
    x["thread_cpu_per_s"] = {k: v / wall for k, v in threads.items()}
    x["batcher_us_per_msg"] = threads.get("batcher", 0.0) * 1e6 / messages if messages else None
    if m0["commands"] is None:
        return x
    allcmds = {k: m1["commands"].get(k, 0) - m0["commands"].get(k, 0)
               for k in set(m0["commands"]) | set(m1["commands"])}
    sent = client_commands(allcmds)
    n = lambda key: sum(d[key] for d in node_deltas)  # noqa: E731
    appends, conflicts = n("tidegate_backplane_appends_total"), n("tidegate_backplane_append_conflicts_total")
    errors = n("tidegate_backplane_append_errors_total")
    ok = appends - conflicts - errors
    rtt_n, lag_n = n("tidegate_backplane_rtt_seconds_count"), n("tidegate_backplane_lag_seconds_count")
    x.update({
        "redis_commands": sum(sent.values()), "redis_commands_by_name": sent,
        "redis_script_calls": {k: v for k, v in allcmds.items() if k in SCRIPT_CALLS and v},
        "redis_commands_per_s": sum(sent.values()) / wall,
        "redis_commands_per_msg": sum(sent.values()) / messages if messages else None,
        "evalsha_per_s": sent.get("evalsha", 0) / wall, "xrange_per_s": sent.get("xrange", 0) / wall,
        "appends": appends, "appends_ok": ok, "conflicts": conflicts, "append_errors": errors,
        "appends_per_s": appends / wall, "appends_ok_per_s": ok / wall, "conflicts_per_s": conflicts / wall,
        "compressions_per_ok_append": n("tidegate_backplane_compressions_total") / ok if ok else None,
        "msgs_per_ok_append": messages / ok if ok else None,
        "batches_read": n("tidegate_backplane_batches_read_total"),
        "xrange_per_ok_append": sent.get("xrange", 0) / ok if ok else None,
        "node_commands": n("tidegate_backplane_commands_total"),
        "refused_events": n("tidegate_backplane_refused_events_total"),
        "redis_us_per_command": redis_cpu * 1e6 / sum(sent.values()) if sent else None,
        "redis_us_per_ok_append": redis_cpu * 1e6 / ok if ok else None,
        "batcher_us_per_command": threads.get("batcher", 0.0) * 1e6 / sum(sent.values()) if sent else None,
        "rtt_mean_ms": n("tidegate_backplane_rtt_seconds_sum") * 1e3 / rtt_n if rtt_n else None,
        "lag_mean_ms": n("tidegate_backplane_lag_seconds_sum") * 1e3 / lag_n if lag_n else None,
        "rooms": run.report["config"]["rooms"],
        "appends_per_room_node_per_s": appends / wall / nodes / run.report["config"]["rooms"],
        # The plan's formula without self-reads (docs/SCALING.md): nodes x rooms x
        # flushes/s per room (= appends/s, each node's flush of a room being one append)
        # x (1 + (nodes - 1) reads).
        "formula_commands_per_s": appends * nodes / wall,
    })
    return x


def fmt(value, spec="%.2f"):
    return "-" if value is None else spec % value


HEADER = ("| level | setup | variant | clients | msgs/s in | deliveries/s | gw+Redis CPU s/s | Redis CPU s/s | "
          "CPU µs/1k deliv | of which Redis | deliv p50/p99 ms | sender p50/p99 ms | Redis cmds/s | "
          "cmds/msg | msgs/append | compressions/append | conflicts/s | lag mean ms | other CPU s/s | swarm exit |")


def row(x):
    return ("| %s | %s | %s | %d | %.0f | %.0f | %.2f | %s | %.1f | %s | %.2f/%.2f | %.2f/%.2f | %s | %s | %s | %s | %s | %s | %.2f | %d |" % (
        x["scenario"], x["setup"], x["variant"], x["clients"], x["msgs_per_s"], x["deliveries_per_s"],
        x["server_cpu_per_s"], fmt(x["redis_cpu_per_s"] if x["clustered"] else None),
        x["server_us_per_1k"], fmt(x["redis_us_per_1k"] if x["clustered"] else None, "%.1f"),
        x["deliv_p50_ms"], x["deliv_p99_ms"], x["p50_ms"], x["p99_ms"],
        fmt(x.get("redis_commands_per_s"), "%.0f"), fmt(x.get("redis_commands_per_msg"), "%.3f"),
        fmt(x.get("msgs_per_ok_append")), fmt(x.get("compressions_per_ok_append"), "%.3f"),
        fmt(x.get("conflicts_per_s"), "%.1f"), fmt(x.get("lag_mean_ms")),
        x["other_cpu_per_s"], x["swarm_exit"]))


def curve(results):
    """Redis commands per message by load, and the formula against the measurement."""
    rows = [x for x in results if "redis_commands" in x]
    if not rows:
        return []
    lines = ["", "| level | setup | variant | msgs/s | Redis cmds/s | EVALSHA/s | XRANGE/s | other/s | cmds/msg | "
                 "msgs/append | appends/s (ok) | appends/s per room per node | XRANGE per ok append | "
                 "nodes x appends/s | measured / that |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in rows:
        other = max(0.0, x["redis_commands_per_s"] - x["evalsha_per_s"] - x["xrange_per_s"])
        f = x["formula_commands_per_s"]
        lines.append("| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.1f | %.3f | %s | %.0f (%.0f) | %.1f | %s | %.0f | %s |" % (
            x["scenario"], x["setup"], x["variant"], x["msgs_per_s"], x["redis_commands_per_s"], x["evalsha_per_s"],
            x["xrange_per_s"], other, x["redis_commands_per_msg"], fmt(x["msgs_per_ok_append"]),
            x["appends_per_s"], x["appends_ok_per_s"], x["appends_per_room_node_per_s"],
            fmt(x["xrange_per_ok_append"], "%.3f"), f,
            "%.2fx" % (x["redis_commands_per_s"] / f) if f else "-"))
    return lines


def costs(results):
    """Where the CPU went: the gateways' Batcher and Shard threads, and Redis per command."""
    if not results:
        return []
    lines = ["", "| level | setup | variant | msgs/s | batcher CPU s/s | batcher µs/msg | shards CPU s/s | "
                 "rest CPU s/s | Redis CPU s/s | Redis µs/command | Redis µs per ok append (with its reads) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for x in results:
        t = x["thread_cpu_per_s"]
        lines.append("| %s | %s | %s | %.0f | %.3f | %s | %.3f | %.3f | %s | %s | %s |" % (
            x["scenario"], x["setup"], x["variant"], x["msgs_per_s"], t.get("batcher", 0.0),
            fmt(x["batcher_us_per_msg"], "%.0f"), t.get("shards", 0.0), t.get("rest", 0.0),
            fmt(x["redis_cpu_per_s"] if x["clustered"] else None, "%.3f"),
            fmt(x.get("redis_us_per_command"), "%.0f"), fmt(x.get("redis_us_per_ok_append"), "%.0f")))
    return lines


def versus(results, base="one", other="cluster"):
    """Each level's cluster row against its one-gateway row."""
    by = {(x["scenario"], x["variant"], x["setup"]): x for x in results}
    lines = []
    for (level, variant, setup), x in by.items():
        b = by.get((level, variant, base))
        if setup != other or not b:
            continue
        r = lambda key: "%.2fx" % (x[key] / b[key]) if b[key] else "-"  # noqa: E731
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            level, variant, r("server_us_per_1k"), r("gateways_us_per_1k"), r("deliv_p50_ms"),
            r("deliv_p99_ms"), r("p99_ms")))
    if not lines:
        return []
    return ["", "| level | variant | %s vs %s: CPU µs/1k (gw+Redis) | gateways only | deliv p50 | deliv p99 | sender p99 |"
            % (other, base), "|---|---|---|---|---|---|---|"] + lines
