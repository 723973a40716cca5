"""The dashboard against a real Prometheus: every PromQL expression returns data.

Starts Debian's redis-server on a free loopback port (bots/redis_process.py) and two real
gateways (TIDEGATE_BIN) in cluster mode on it (--redis), each on 127.0.0.1 with
--metrics-listen 127.0.0.1:0 (it prints `metrics 127.0.0.1:PORT`) and the front door on:
TLS with a self-signed certificate valid a day (clients on https:// and wss://), --auth
optional with an HS256 secret, and the publish API (--api-listen); Debian's prometheus on
a free loopback port with temporary storage and grafana/prometheus.yml turned into a 1 s
scrape of both gateways; and a short load of python3-websockets clients, each room with
clients on both nodes, so batches cross nodes through Redis (the backplane lag exists only
for another node's batches), one refused token and one API publish on each. While the load runs it polls Prometheus's HTTP API
(/api/v1/query) until every `expr` of grafana/dashboards/tidegate.json returns a non-empty
result and a few key values are positive on every gateway, within a bounded deadline;
then `promtool check metrics` must pass on a scrape of each, and the certificate's day
left must have TidegateCertificateExpiresSoon pending. Last, Redis is killed: both
gateways must report tidegate_backplane_up 0 and the TidegateBackplaneDown rule must go
pending for both. Every process is always stopped. Run with /usr/bin/python3.
"""
import asyncio
import json
import math
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bots"))
from gateway_process import GatewayProcess, stop_process  # noqa: E402
from gateway_process import self_signed_cert  # noqa: E402
from redis_process import RedisProcess  # noqa: E402

DASHBOARD = os.path.join(HERE, "..", "..", "grafana", "dashboards", "tidegate.json")
SCRAPE_CONFIG = os.path.join(HERE, "..", "..", "grafana", "prometheus.yml")
ALERT_RULES = os.path.abspath(os.path.join(HERE, "..", "..", "grafana", "tidegate-alerts.yml"))
BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
PROMETHEUS = os.environ.get("PROMETHEUS_BIN", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("PROMTOOL_BIN", "/usr/bin/promtool")
START_TIMEOUT = 30
QUERY_DEADLINE = 90
# Grafana's built-in variables, as Grafana would expand them for a short range.
GRAFANA_VARS = {"$__rate_interval": "15s", "$__interval": "5s", "$__range": "5m"}
# Values that must be positive while the load runs (not just present), on every gateway
# where the result has a series per gateway.
POSITIVE = [
    "sum(tidegate_messages_received_total)",
    "sum(tidegate_deliveries_total)",
    "sum(tidegate_written_bytes_total)",
    "tidegate_batches_total",
    "tidegate_delivery_latency_seconds_count",
    "sum(tidegate_connections_open)",
    "sum(tidegate_deflated_batches_total)",
    "sum(tidegate_v2_compressed_bytes_total)",
    "sum(rate(tidegate_messages_received_total[15s]))",
    "histogram_quantile(0.99, sum by (le) (rate(tidegate_delivery_latency_seconds_bucket[15s])))",
    "sum(rate(tidegate_batch_raw_bytes_total[15s])) / sum(rate(tidegate_batch_compressed_bytes_total[15s]))",
    'tidegate_messages_rejected_total{reason="bad_request"}',
    'tidegate_handshake_failures_total{status="426"}',
    "tidegate_history_bytes",
    "tidegate_history_budget_bytes",
    "tidegate_rooms",
    'tidegate_rooms_by_history_bytes{le="+Inf"}',
    # Cluster mode: connected, appending, answered; another node's batches read here.
    "tidegate_backplane_up",
    "tidegate_backplane_appends_total",
    "tidegate_backplane_commands_total",
    "tidegate_backplane_rtt_seconds_count",
    "tidegate_backplane_lag_seconds_count",
    # The front door: TLS handshakes, a refused token, a message through the API.
    'tidegate_tls_handshakes_total{result="ok"}',
    'tidegate_auth_refused_total{reason="malformed"}',
    'tidegate_api_requests_total{route="publish",status="200"}',
    "tidegate_api_published_messages_total",
    "tidegate_tls_certificate_expiry_timestamp_seconds - time()",
]
API_KEY = "k" * 32
# The gateways' certificate is self-signed: clients do not verify it.
CLIENT_TLS = ssl.create_default_context()
CLIENT_TLS.check_hostname = False
CLIENT_TLS.verify_mode = ssl.CERT_NONE
NODES = 2  # gateways sharing the Redis backplane


def log(*a):
    print(*a, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=5):
    context = CLIENT_TLS if url.startswith("https:") else None
    with urllib.request.urlopen(url, timeout=timeout, context=context) as r:
        return r.status, r.read()


def start_prometheus(tmp, metrics_ports):
    port = free_port()
    # The shipped scrape config, pointed at these gateways and scraping every second.
    with open(SCRAPE_CONFIG) as f:
        text = f.read()
    if "- targets: ['127.0.0.1:9464']" not in text or ": 5s" not in text:
        raise AssertionError("grafana/prometheus.yml changed shape; update this test")
    targets = ", ".join("'127.0.0.1:%d'" % p for p in metrics_ports)
    text = text.replace("['127.0.0.1:9464']", "[%s]" % targets).replace(": 5s", ": 1s")
    # The shipped alerting rules, by absolute path since the config moves to tmp.
    if "  - tidegate-alerts.yml" not in text:
        raise AssertionError("grafana/prometheus.yml no longer loads tidegate-alerts.yml")
    text = text.replace("  - tidegate-alerts.yml", "  - " + ALERT_RULES)
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write(text)
    r = subprocess.run([PROMTOOL, "check", "config", config], capture_output=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("promtool check config: " + (r.stdout + r.stderr).decode())
    proc = subprocess.Popen(
        [PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + os.path.join(tmp, "data"),
         "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "prometheus.log"), "w"))
    base = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("prometheus exited with %s" % proc.returncode)
        try:
            if http_get(base + "/-/ready", 2)[0] == 200:
                return proc, base
        except OSError:
            pass
        time.sleep(0.2)
    stop_process(proc)
    raise RuntimeError("prometheus not ready within %d s" % START_TIMEOUT)


class Load:
    """A few clients in two rooms, each sending 10 messages/s, until stopped. The clients
    are spread over the gateways (`ports`) so that each room has members on each."""

    def __init__(self, ports, api_ports, clients=6):
        self.ports = list(ports)
        self.api_ports = list(api_ports)
        self.clients = clients
        self.stopping = threading.Event()
        self.received = 0
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            asyncio.run(self.main())
        except Exception as e:  # reported by the test, not lost in the thread
            self.error = e

    def url(self, port):
        return "wss://127.0.0.1:%d/ws" % port

    async def main(self):
        for port, api_port in zip(self.ports, self.api_ports):
            await self.bad_requests(port)
            await self.front_door(port, api_port)
        await asyncio.gather(*(self.client(i) for i in range(self.clients)))

    async def bad_requests(self, port):
        # An invalid command (rejected bad_request) and a plain GET /ws (426).
        async with websockets.connect(self.url(port), open_timeout=10, ssl=CLIENT_TLS) as ws:
            await ws.send('{"t":"nope"}')
            await asyncio.wait_for(ws.recv(), 10)
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=CLIENT_TLS)
        writer.write(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.read(), 10)
        writer.close()

    async def front_door(self, port, api_port):
        # A malformed token: 401 (tidegate_auth_refused_total{reason="malformed"}).
        try:
            async with websockets.connect(self.url(port) + "?token=not.a-token", ssl=CLIENT_TLS,
                                          open_timeout=10):
                raise AssertionError("a malformed token was let in")
        except websockets.InvalidStatusCode as e:  # websockets 10: the legacy client
            if e.status_code != 401:
                raise AssertionError("a malformed token got %d, not 401" % e.status_code)
        # One message through the publish API, answered with its seq.
        request = urllib.request.Request(
            "http://127.0.0.1:%d/api/publish" % api_port, method="POST",
            data=json.dumps({"room": "r0", "text": "from the API", "from": "system"}).encode(),
            headers={"Authorization": "Bearer " + API_KEY, "Content-Type": "application/json"})
        answer = await asyncio.to_thread(lambda: json.loads(urllib.request.urlopen(request, timeout=10).read()))
        if not answer.get("seq"):
            raise AssertionError("the API publish got no seq: %r" % answer)

    async def client(self, i):
        # Every encoding has clients: none named (python3-websockets offers
        # permessage-deflate, which the gateway takes only then), v1 zstd and v2 room streams.
        proto = [[], ["tidegate.v1.zstd"], ["tidegate.v2.zstd"]][i % 3]
        # Room i % 2, gateway (i // 2) % nodes: with 6 clients and 2 gateways each room
        # has members on both.
        port = self.ports[(i // 2) % len(self.ports)]
        async with websockets.connect("%s?room=r%d" % (self.url(port), i % 2), subprotocols=proto,
                                      open_timeout=10, max_size=None, ssl=CLIENT_TLS) as ws:
            reader = asyncio.create_task(self.drain(ws))
            n, deadline = 0, time.monotonic() + 120  # bounded even if never stopped
            while not self.stopping.is_set() and time.monotonic() < deadline:
                await ws.send(json.dumps({"t": "msg", "text": "load %d-%d" % (i, n)}))
                n += 1
                await asyncio.sleep(0.1)  # 10 msg/s: within the default --rate-limit
            reader.cancel()

    async def drain(self, ws):
        async for _ in ws:
            self.received += 1

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(30)


def dashboard_exprs():
    with open(DASHBOARD) as f:
        doc = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                if t.get("expr"):
                    out.append((p.get("title", "?"), t["expr"]))
            walk(p.get("panels", []))
    walk(doc.get("panels", []))
    return out


def expand(expr):
    for k, v in GRAFANA_VARS.items():
        expr = expr.replace(k, v)
    if "$" in expr:
        raise AssertionError("unexpanded Grafana variable in %r" % expr)
    return expr


def query(base, expr):
    url = base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        _, body = http_get(url)
    except urllib.error.HTTPError as e:  # 400: the expression does not parse
        return {"status": "error", "error": e.read().decode(errors="replace")}
    return json.loads(body)


def result_values(resp):
    if resp.get("status") != "success":
        return None
    return [float(r["value"][1]) for r in resp["data"]["result"]]


def missing_instances(resp, instances):
    """The gateways that a per-gateway answer (series with an `instance` label) has no
    series for yet; none for an answer aggregated over them (sum, histogram_quantile)."""
    seen = {r["metric"].get("instance") for r in resp["data"]["result"]}
    if seen == {None}:
        return set()
    return set(instances) - seen


def wait_for_queries(base, exprs, positive, instances):
    """Polls until every expression answers and every `positive` one is positive; an
    answer per gateway must have a series for each of `instances` (each scraped, each
    with the data), not just for the first one Prometheus happened to scrape. Returns
    {expression: last answer} of those that never did."""
    pending = {e: None for e in exprs}
    pending.update({e: None for e in positive})
    deadline = time.monotonic() + QUERY_DEADLINE
    while pending and time.monotonic() < deadline:
        for expr in list(pending):
            resp = query(base, expr)
            values = result_values(resp)
            ok = bool(values) and not missing_instances(resp, instances)
            if ok and expr in positive:
                ok = all(math.isfinite(v) and v > 0 for v in values)
            if ok:
                del pending[expr]
            else:
                pending[expr] = resp
        if pending:
            time.sleep(1)
    return pending


def wait_ready(port):
    """Waits until the gateway's /readyz answers 200: in cluster mode only once its Redis
    backplane is connected (before that a WebSocket upgrade is refused with 503)."""
    deadline = time.monotonic() + START_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        try:
            if http_get("https://127.0.0.1:%d/readyz" % port, 2)[0] == 200:
                return
        except OSError as e:  # urllib's HTTPError for the 503 is an OSError
            last = e
        time.sleep(0.1)
    raise AssertionError("gateway on %d not ready within %d s: %s" % (port, START_TIMEOUT, last))


def wait_backplane_down(base, instances):
    """After Redis is gone: waits until Prometheus sees tidegate_backplane_up 0 on every
    gateway and TidegateBackplaneDown pending (its `for` is 1m) or firing for each."""
    deadline = time.monotonic() + START_TIMEOUT
    up = alerts = None
    while time.monotonic() < deadline:
        up = {r["metric"]["instance"]: float(r["value"][1])
              for r in query(base, "tidegate_backplane_up")["data"]["result"]}
        _, body = http_get(base + "/api/v1/alerts")
        alerts = {a["labels"].get("instance"): a["state"]
                  for a in json.loads(body)["data"]["alerts"]
                  if a["labels"].get("alertname") == "TidegateBackplaneDown"}
        if (all(up.get(i) == 0 for i in instances)
                and all(alerts.get(i) in ("pending", "firing") for i in instances)):
            return alerts
        time.sleep(0.5)
    raise AssertionError("with Redis gone: tidegate_backplane_up %s, TidegateBackplaneDown %s"
                         % (up, alerts))


def check_rules(base):
    """Waits until Prometheus has evaluated every shipped alerting rule without error;
    returns {alert name: state}. Raises if a rule keeps failing or never evaluates."""
    deadline = time.monotonic() + START_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        status, body = http_get(base + "/api/v1/rules?type=alert")
        if status == 200:
            groups = json.loads(body)["data"]["groups"]
            rules = [r for g in groups if g["name"] == "tidegate" for r in g["rules"]]
            last = rules
            # A rule never evaluated has lastEvaluation 0001-01-01T00:00:00Z.
            if rules and all(r.get("health") == "ok"
                             and not r.get("lastEvaluation", "0001").startswith("0001")
                             for r in rules):
                return {r["name"]: r["state"] for r in rules}
        time.sleep(0.5)
    raise AssertionError("alerting rules not all evaluated ok: %s" % json.dumps(last)[:800])


def check_promtool(metrics_port):
    _, body = http_get("http://127.0.0.1:%d/metrics" % metrics_port)
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def check_stats(port):
    status, body = http_get("https://127.0.0.1:%d/stats" % port)
    doc = json.loads(body)
    for key in ("clients", "rooms", "window_ms", "messages_per_s"):
        if key not in doc:
            raise AssertionError("/stats has no %r: %r" % (key, doc))
    if status != 200 or doc["clients"] < 1 or doc["rooms"] < 1 or doc["messages_total"] < 1:
        raise AssertionError("/stats does not show the load: %r" % doc)
    return doc


def run(tmp):
    exprs = [expand(e) for _, e in dashboard_exprs()]
    if len(exprs) < 10:
        raise AssertionError("dashboard has only %d expressions" % len(exprs))
    redis = prom = load = None
    gws = []
    try:
        redis = RedisProcess(os.path.join(tmp, "redis")).start()
        log("redis at %s" % redis.url)
        crt, key = self_signed_cert(tmp)
        secret, api_key = os.path.join(tmp, "jwt.secret"), os.path.join(tmp, "api.key")
        with open(secret, "w") as f:
            f.write("s" * 48)
        with open(api_key, "w") as f:
            f.write(API_KEY)
        for i in range(NODES):
            gws.append(GatewayProcess(
                BIN, ["--metrics-listen", "127.0.0.1:0", "--workers", "2", "--log-level", "warn",
                      "--redis", redis.url, "--tls-cert", crt, "--tls-key", key,
                      "--auth", "optional", "--jwt-hs256-secret-file", secret,
                      "--anonymous-rooms", "*", "--api-listen", "127.0.0.1:0",
                      "--api-key-file", api_key],
                metrics=True, api=True, log_path=os.path.join(tmp, "gateway%d.log" % i),
                timeout=START_TIMEOUT))
        for gw in gws:
            wait_ready(gw.port)
            log("gateway on %d, metrics on %d: ready" % (gw.port, gw.metrics_port))
        ports = [gw.port for gw in gws]
        instances = ["127.0.0.1:%d" % gw.metrics_port for gw in gws]
        prom, base = start_prometheus(tmp, [gw.metrics_port for gw in gws])
        log("prometheus at %s" % base)
        load = Load(ports, [gw.api_port for gw in gws])
        load.start()
        pending = wait_for_queries(base, exprs, POSITIVE, instances)
        if load.error:
            raise AssertionError("load failed: %r" % load.error)
        for port in ports:
            log("/stats of %d: %s" % (port, check_stats(port)))
        for expr, resp in pending.items():
            log("NO DATA: %s\n  last answer: %s" % (expr, json.dumps(resp)[:400]))
        # Prometheus scrapes these gateways, and only these.
        scraped = {r["metric"]["instance"] for r in query(base, "up")["data"]["result"]}
        if scraped != set(instances):
            raise AssertionError("prometheus scrapes %s, not the gateways %s" % (scraped, instances))
        states = check_rules(base)
        log("alerting rules: %s" % states)
        if len(states) < 12:
            raise AssertionError("only %d alerting rules loaded" % len(states))
        # The gateways are up, scraped under the shipped job name, and connected to Redis,
        # so these are quiet.
        for name in ("TidegateDown", "TidegateBackplaneDown", "TidegateBackplaneAppendErrors",
                     "TidegateApiErrors"):
            if states.get(name) != "inactive":
                raise AssertionError("%s is %s with the cluster up" % (name, states.get(name)))
        # The certificate has a day left: under 14, so pending (its `for` is an hour).
        if states.get("TidegateCertificateExpiresSoon") != "pending":
            raise AssertionError("TidegateCertificateExpiresSoon is %s with a day left"
                                 % states.get("TidegateCertificateExpiresSoon"))
        lint_failed = []
        for gw in gws:
            rc, out = check_promtool(gw.metrics_port)
            log("promtool check metrics (%d): rc=%d %s" % (gw.metrics_port, rc, out.strip()))
            if rc != 0:
                lint_failed.append(gw.metrics_port)
        if pending:
            raise AssertionError("%d of %d expressions returned no data" %
                                 (len(pending), len(exprs) + len(POSITIVE)))
        if lint_failed:
            raise AssertionError("promtool check metrics failed on %s" % lint_failed)
        log("all %d dashboard expressions and %d key values have data; %d frames received"
            % (len(exprs), len(POSITIVE), load.received))
        # Redis gone: the backplane is down on both, and the alert's expression (which
        # needs Redis to have answered the gateway) holds on both.
        load.stop()
        redis.kill()
        log("redis killed; TidegateBackplaneDown: %s" % wait_backplane_down(base, instances))
    except BaseException:
        path = os.path.join(tmp, "prometheus.log")
        if os.path.exists(path):
            with open(path) as f:
                log("--- prometheus log (tail) ---\n" + f.read()[-2000:])
        for i in range(NODES):
            path = os.path.join(tmp, "gateway%d.log" % i)
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    log("--- gateway %d log (tail) ---\n%s" % (i, f.read()[-2000:]))
        raise
    finally:
        if load:
            load.stop()
        if prom:
            stop_process(prom)
        gw_status = [gw.stop() for gw in gws]
        if redis:
            redis.close()
    # SIGTERM with the metrics server running (and Redis gone) must still be a clean exit
    # (and, in a sanitizer build, one without reports).
    if any(status != 0 for status in gw_status):
        raise AssertionError("gateways exited with %s after SIGTERM" % gw_status)


def main():
    for path in (BIN, PROMETHEUS, PROMTOOL):
        if not os.access(path, os.X_OK):
            log("FAIL: %s is missing (scripts/setup.sh installs prometheus)" % path)
            return 1
    if not shutil.which("redis-server"):
        log("FAIL: redis-server is missing (scripts/setup.sh installs it)")
        return 1
    tmp = tempfile.mkdtemp(prefix="tidegate-prom-")
    try:
        run(tmp)
    except (AssertionError, RuntimeError) as e:
        log("FAIL: %s" % e)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
