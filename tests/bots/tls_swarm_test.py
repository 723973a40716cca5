#!/usr/bin/python3
"""tls_swarm_test.py -- tidegate-bots over wss:// against a --tls-cert gateway (a
certificate `openssl req` makes in a temporary directory): with --tls-ca every client
connects and gets every message, over zstd and json; with --tls-insecure too; without
either the self-signed certificate is refused (no client connects: exit 2). No timing is asserted; every wait is bounded.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)


def swarm_run(swarm, port, tmp, name, extra):
    report = os.path.join(tmp, name + ".json")
    cmd = [swarm, "--url", "wss://127.0.0.1:%d/ws" % port, "--json", report, "--quiet",
           "--threads", "1"] + extra
    print("+ " + " ".join(cmd), flush=True)
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=90)
    print(done.stdout[-1500:], flush=True)
    check(os.path.exists(report), "%s wrote no report (exit %d)" % (name, done.returncode))
    with open(report) as f:
        return done.returncode, json.load(f)


def handshakes(metrics_port, result):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics_port, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith('tidegate_tls_handshakes_total{result="%s"} ' % result):
                return float(line.split()[-1])
    raise SystemExit("FAIL: no tidegate_tls_handshakes_total in /metrics")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", required=True)
    ap.add_argument("--swarm", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tg-bots-tls-")
    gw = None
    try:
        crt, key = os.path.join(tmp, "gw.crt"), os.path.join(tmp, "gw.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                        "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=30)
        gw = GatewayProcess(args.gateway, ["--tls-cert", crt, "--tls-key", key, "--workers", "2",
                                           "--metrics-listen", "127.0.0.1:0", "--rate-limit", "0",
                                           "--log-level", "warn"], metrics=True)
        common = ["--clients", "60", "--rooms", "3", "--rate", "4", "--duration", "2",
                  "--ramp", "0.5"]
        for name, extra in (("zstd", ["--tls-ca", crt]),
                            ("json", ["--tls-ca", crt, "--subprotocol", "json"]),
                            ("insecure", ["--tls-insecure"])):
            code, r = swarm_run(args.swarm, gw.port, tmp, name, common + extra)
            check(code == 0, "%s: exit %d" % (name, code))
            check(r["connects"] == 60, "%s: %d of 60 connected" % (name, r["connects"]))
            check(r["messages_sent"] > 0, "%s: nothing sent" % name)
            check(r["lost"] == 0 and r["deliveries_received"] == r["deliveries_expected"],
                  "%s: delivered %d of %d" % (name, r["deliveries_received"],
                                              r["deliveries_expected"]))
            check(r["errors"] == 0, "%s: %d errors" % (name, r["errors"]))
        ok = handshakes(gw.metrics_port, "ok")
        check(ok >= 180, "only %d handshakes ok" % ok)
        # No CA given: the system's CAs do not know the self-signed certificate.
        code, r = swarm_run(args.swarm, gw.port, tmp, "unverified",
                            ["--clients", "3", "--duration", "1", "--connect-timeout", "5",
                             "--no-reconnect"])
        check(code == 2, "an unverifiable certificate was accepted (exit %d)" % code)
        check(r["connect_failures"] >= 3, "%d connect failures" % r["connect_failures"])
        check(r["connects"] == 0, "%d clients connected to an unverifiable gateway" % r["connects"])
        check(gw.stop() == 0, "gateway exit status")
        gw = None
        print("tls swarm: 4 passed, 0 failed")
    finally:
        if gw:
            gw.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
