"""gateway_metrics.py -- reads a running gateway's numbers over HTTP: the Prometheus text
of GET /metrics (on --metrics-listen) and the JSON of GET /stats (on --listen).
Used by bots/bench and bots/soak. Stdlib only (Debian's /usr/bin/python3).

    metrics = scrape_metrics(gw.metrics_port)   # {family: [value per label set]}
    total(metrics, "tidegate_socket_writes_total")
    stats = get_stats(gw.port)                  # {"clients": ..., "rooms": ..., ...}
"""
import json
import urllib.request


def http_get(port, path, host="127.0.0.1", timeout=10.0):
    with urllib.request.urlopen("http://%s:%d%s" % (host, port, path), timeout=timeout) as resp:
        return resp.read().decode()


def parse_metrics(text):
    """{family: [value of each of its label sets]} of a Prometheus text exposition.
    Histogram and summary series count under their own names (x_bucket, x_sum, x_count);
    comments are skipped."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        family = line.split("{", 1)[0].split(" ", 1)[0]
        out.setdefault(family, []).append(float(line.rsplit(" ", 1)[1]))
    return out


def scrape_metrics(port, host="127.0.0.1", timeout=10.0):
    return parse_metrics(http_get(port, "/metrics", host, timeout))


def total(metrics, family):
    """The family's values summed over its label sets; None if the gateway has no such
    family (an older or newer build)."""
    values = metrics.get(family)
    return None if values is None else sum(values, 0.0)


def get_stats(port, host="127.0.0.1", timeout=10.0):
    """The gateway's GET /stats document (see src/metrics/gateway_stats.hpp)."""
    return json.loads(http_get(port, "/stats", host, timeout))
