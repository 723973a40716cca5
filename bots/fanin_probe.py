#!/usr/bin/python3
"""fanin_probe -- how should a gateway node learn of the entries other nodes append to
a room's stream? Measured against a real redis-server (bots/redis_process.py), for the
two ways cluster mode could read:

  xread      every reader keeps one `XREAD BLOCK 1000 STREAMS <all R keys> <last ids>`
             outstanding and issues it again after each reply;
  sub+xrange every reader SUBSCRIBEs to one wake-up channel per stream and, on wake-ups,
             reads what is new with `XRANGE key (lastid +` (one per woken stream, the
             wake-ups already buffered taken together, pipelined).

Writers stand for the nodes' flushes: each appends entries (about 300-byte payloads) to
the R room streams through one Lua script (EVALSHA): it increments the room's counter
in `tg:{room}:meta`, XADDs the entry to `tg:{room}:log` with the explicit ID
`<counter>-0` (MAXLEN ~ 10000) and a field `t` holding Redis's TIME at the XADD, and, for
sub+xrange only, PUBLISHes the ID on `tg:{room}:wake`. Writers pace themselves in 5 ms
ticks and pipeline the entries due in a tick, as a node flushing several rooms would.

Per load level (total entries/s, rooms R) and variant, over a measured window after a
warm-up, it reports:
  - latency: Redis's TIME at the XADD to the reader holding the parsed reply, p50/p99
    over every (entry, reader) pair, and the share of pairs delivered at all;
  - Redis commands per entry, from `INFO commandstats` deltas: evalsha, xread, xrange,
    publish and their total (the script's HINCRBY, TIME and XADD, the same in both
    variants, are left out);
  - redis-server CPU per 1000 entries (ms) and in cores: its time on CPU from
    /proc/<pid>/task/*/schedstat, what /proc/<pid>/stat's utime+stime count in 10 ms
    ticks, to the ns.

Writers and readers are separate Python processes (no GIL between them) on the same
machine as Redis: at the highest rates they compete with Redis for CPU, so latencies
there are upper bounds. The command counts and Redis's CPU depend less on that (only
through how many entries each reply happens to carry).

    bots/fanin_probe.py                         # the full grid, about 90 s
    bots/fanin_probe.py --rates 1000 --rooms 10 --seconds 5
"""
import argparse
import array
import multiprocessing
import os
import random
import select
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gateway_process import cpu_seconds  # noqa: E402
from redis_process import RedisProcess, RespConnection, parse_info  # noqa: E402

SCRIPT = r"""
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local id = seq .. '-0'
local t = redis.call('TIME')
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id,
           'p', ARGV[1], 't', t[1] .. string.format('%06d', t[2]))
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], id) end
return id
"""
VARIANTS = ("xread", "sub+xrange")
TICK_S = 0.005


def meta_key(room):
    return "tg:{r%d}:meta" % room


def log_key(room):
    return "tg:{r%d}:log" % room


def wake_channel(room):
    return "tg:{r%d}:wake" % room


def now_us():
    return time.time_ns() // 1000


# -- writers ------------------------------------------------------------------------


def writer(port, sha, index, rate, rooms, publish, payload_bytes, maxlen, stop):
    """Appends `rate` entries/s round-robin over `rooms` until `stop` is set."""
    conn = RespConnection(port=port)
    rnd = random.Random(index)
    payload = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(payload_bytes))
    room = index % rooms
    sent = 0
    start = time.monotonic()
    while not stop.is_set():
        due = int(rate * (time.monotonic() - start)) - sent
        if due > 0:
            batch = []
            for _ in range(due):
                batch.append(("EVALSHA", sha, 2, meta_key(room), log_key(room), payload,
                              wake_channel(room) if publish else "", maxlen))
                room = (room + 1) % rooms
            conn.send_many(batch)
            for _ in batch:
                conn.read_reply()
            sent += due
        time.sleep(TICK_S)
    conn.close()


# -- readers ------------------------------------------------------------------------


class Latencies:
    """(XADD time, latency) in µs for each entry a reader received."""

    def __init__(self):
        self.t = array.array("q")
        self.lat = array.array("q")

    def add_entries(self, entries, received_us):
        """`entries`: [[id, [field, value, ...]], ...]; returns the last id."""
        last = None
        for entry_id, fields in entries:
            t = int(fields[fields.index(b"t") + 1])
            self.t.append(t)
            self.lat.append(received_us - t)
            last = entry_id
        return last


def reader_xread(port, rooms, stop, out):
    conn = RespConnection(port=port, timeout=5.0)
    keys = [log_key(r) for r in range(rooms)]
    last = {k.encode(): b"0-0" for k in keys}
    lat = Latencies()
    out.send("ready")
    while not stop.is_set():
        reply = conn.call("XREAD", "BLOCK", 1000, "STREAMS", *keys, *[last[k.encode()] for k in keys])
        if reply is None:
            continue
        received = now_us()
        for key, entries in reply:
            last[key] = lat.add_entries(entries, received)
    conn.close()
    out.send((lat.t.tobytes(), lat.lat.tobytes()))


def reader_sub(port, rooms, stop, out):
    sub = RespConnection(port=port, timeout=5.0)
    sub.send("SUBSCRIBE", *[wake_channel(r) for r in range(rooms)])
    for _ in range(rooms):
        sub.read_reply()  # one confirmation per channel
    conn = RespConnection(port=port, timeout=5.0)
    room_of = {wake_channel(r).encode(): r for r in range(rooms)}
    last = [b"0-0"] * rooms
    lat = Latencies()
    out.send("ready")
    while not stop.is_set():
        # Wait for bytes with a timeout, then read whole replies (a timeout inside one
        # would lose the part already parsed).
        if not sub.pending() and not select.select([sub.sock], [], [], 0.2)[0]:
            continue
        woken = {room_of[sub.read_reply()[1]]}
        # Wake-ups already here are served by the same round of XRANGEs.
        while sub.pending() or select.select([sub.sock], [], [], 0)[0]:
            woken.add(room_of[sub.read_reply()[1]])
        order = sorted(woken)
        conn.send_many([("XRANGE", log_key(r), b"(" + last[r], "+") for r in order])
        for r in order:
            entries = conn.read_reply()
            if entries:
                last[r] = lat.add_entries(entries, now_us())
    sub.close()
    conn.close()
    out.send((lat.t.tobytes(), lat.lat.tobytes()))


# -- one run ------------------------------------------------------------------------


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))]


def snapshot(conn, pid):
    """Redis's TIME (µs) and its command counts {command: calls} at one instant (one
    MULTI, so no other client's command falls between the two), then its CPU seconds."""
    conn.send_many([("MULTI",), ("TIME",), ("INFO", "commandstats"), ("EXEC",)])
    for _ in range(3):
        conn.read_reply()
    (sec, usec), text = conn.read_reply()
    info = parse_info(text)
    calls = {k[len("cmdstat_"):]: v["calls"] for k, v in info.items() if k.startswith("cmdstat_")}
    return int(sec) * 1000000 + int(usec), calls, cpu_seconds(pid)


def idle_cpu(redis, seconds=1.0):
    """redis-server's own CPU per second with nothing to do (its cron, hz 10)."""
    cpu0 = cpu_seconds(redis.pid)
    time.sleep(seconds)
    return (cpu_seconds(redis.pid) - cpu0) / seconds


def run(redis, variant, rate, rooms, args):
    redis.cmd("FLUSHALL")
    sha = redis.cmd("SCRIPT", "LOAD", SCRIPT).decode()
    ctx = multiprocessing.get_context("fork")
    stop_readers, stop_writers = ctx.Event(), ctx.Event()
    readers = []
    target = reader_xread if variant == "xread" else reader_sub
    for _ in range(args.readers):
        mine, theirs = ctx.Pipe()
        p = ctx.Process(target=target, args=(redis.port, rooms, stop_readers, theirs), daemon=True)
        p.start()
        readers.append((p, mine))
    for _, pipe in readers:
        if not pipe.poll(10) or pipe.recv() != "ready":
            raise RuntimeError("a reader did not start")
    writers = []
    for i in range(args.writers):
        p = ctx.Process(target=writer, daemon=True, args=(
            redis.port, sha, i, rate / args.writers, rooms, variant != "xread",
            args.payload_bytes, args.maxlen, stop_writers))
        p.start()
        writers.append(p)
    time.sleep(args.warmup)
    probe = redis.connect()
    t0, stats0, cpu0 = snapshot(probe, redis.pid)
    time.sleep(args.seconds)
    t1, stats1, cpu1 = snapshot(probe, redis.pid)
    probe.close()
    stop_writers.set()
    for p in writers:
        p.join(10)
    time.sleep(args.drain)  # what was appended in the window reaches the readers
    stop_readers.set()
    lats, received = [], 0
    for p, pipe in readers:
        if not pipe.poll(10):
            raise RuntimeError("a reader did not report")
        tb, lb = pipe.recv()
        t, lat = array.array("q"), array.array("q")
        t.frombytes(tb)
        lat.frombytes(lb)
        for ti, li in zip(t, lat):
            if t0 <= ti < t1:
                lats.append(li)
                received += 1
        p.join(10)
    for p in writers + [r[0] for r in readers]:
        if p.is_alive():
            p.kill()
            p.join()
    delta = {k: stats1.get(k, 0) - stats0.get(k, 0) for k in stats1}
    entries = delta.get("evalsha", 0)
    lats.sort()
    per = (lambda name: delta.get(name, 0) / entries) if entries else (lambda name: float("nan"))
    seconds = (t1 - t0) / 1e6
    return {
        "variant": variant, "rate": rate, "rooms": rooms, "got": entries / seconds,
        "p50": percentile(lats, 50) / 1000.0, "p99": percentile(lats, 99) / 1000.0,
        # (entry, reader) pairs received whose XADD time is in the window, over the
        # EVALSHA calls in it times the readers: both bounded by the same two instants.
        "delivered": received / (entries * args.readers) if entries else float("nan"),
        "evalsha": per("evalsha"), "xread": per("xread"), "xrange": per("xrange"),
        "publish": per("publish"),
        # what the nodes send and what Redis fans out; the script's HINCRBY, TIME and XADD
        # are the same in both variants and not counted.
        "total": sum(per(c) for c in ("evalsha", "xread", "xrange", "publish")),
        "cpu_ms_per_k": (cpu1 - cpu0) * 1e6 / entries if entries else float("nan"),
        "cores": (cpu1 - cpu0) / seconds,
    }


def table(rows):
    head = ("| rooms | entries/s (got) | variant | p50 ms | p99 ms | delivered | evalsha/e | "
            "xread/e | xrange/e | publish/e | total/e | redis CPU ms/1k e | redis cores |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append("| %d | %d (%d) | %s | %.2f | %.2f | %.1f %% | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.3f |" % (
            r["rooms"], r["rate"], round(r["got"]), r["variant"], r["p50"], r["p99"],
            100 * r["delivered"], r["evalsha"], r["xread"], r["xrange"], r["publish"], r["total"],
            r["cpu_ms_per_k"], r["cores"]))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="100,1000,10000", help="total entries/s, comma-separated")
    ap.add_argument("--rooms", default="1,10,100", help="streams R, comma-separated")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--writers", type=int, default=3, help="writer processes (nodes' flushes)")
    ap.add_argument("--readers", type=int, default=3, help="reader processes (nodes), each reads every stream")
    ap.add_argument("--payload-bytes", type=int, default=300)
    ap.add_argument("--maxlen", type=int, default=10000, help="XADD MAXLEN ~ per stream")
    ap.add_argument("--seconds", type=float, default=3.0, help="measured window per run")
    ap.add_argument("--warmup", type=float, default=0.7)
    ap.add_argument("--drain", type=float, default=0.5)
    ap.add_argument("--appendonly", action="store_true", help="Redis with the AOF, fsync always")
    args = ap.parse_args()
    rates = [int(x) for x in args.rates.split(",")]
    rooms = [int(x) for x in args.rooms.split(",")]
    variants = args.variants.split(",")
    for v in variants:
        if v not in VARIANTS:
            ap.error("unknown variant %r (known: %s)" % (v, ", ".join(VARIANTS)))
    rows = []
    with RedisProcess(appendonly=args.appendonly) as redis:
        version = redis.info("server")["redis_version"]
        idle = idle_cpu(redis)
        for rate in rates:
            for r in rooms:
                for v in variants:
                    row = run(redis, v, rate, r, args)
                    rows.append(row)
                    print("fanin: %-10s %6d e/s %3d rooms: p50 %.2f ms p99 %.2f ms, %.2f cmds/e, "
                          "%.1f ms CPU/1k e" % (v, rate, r, row["p50"], row["p99"], row["total"],
                                                row["cpu_ms_per_k"]), file=sys.stderr, flush=True)
    print("redis-server %s (appendonly %s), %d writer and %d reader processes, %d-byte payloads, "
          "%g s measured per run, %d CPUs, load average before: %s; redis-server idle: %.4f cores" % (
              version, "yes, fsync always" if args.appendonly else "no", args.writers, args.readers,
              args.payload_bytes, args.seconds, os.cpu_count(), LOAD_BEFORE, idle))
    print()
    print(table(rows))


LOAD_BEFORE = " ".join(open("/proc/loadavg").read().split()[:3])

if __name__ == "__main__":
    main()
