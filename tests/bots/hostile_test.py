#!/usr/bin/python3
"""hostile_test.py -- runs bots/hostile at a tiny scale against the real gateway with a
small history budget and a 1 s room TTL, and checks what it reports: exit 0, a sample a
second, the largest history held never over the budget and above zero, and every room
gone (tidegate_rooms 0, history 0) by the last sample. No timing is asserted.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
HOSTILE = os.path.join(HERE, "..", "..", "bots", "hostile")
BUDGET = 200000


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gateway", required=True)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "hostile.json")
        cmd = [sys.executable, HOSTILE, "--gateway", args.gateway, "--clients", "3", "--rooms", "4",
               "--msgs", "3", "--bytes", "20000", "--after-s", "5", "--json-out", out,
               "--gateway-args", "--room-ttl-s 1 --history-total-bytes %d" % BUDGET]
        print("+ " + " ".join(cmd), flush=True)
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=90)
        print(done.stdout, flush=True)
        failures = []
        if done.returncode != 0:
            failures.append("exit %d" % done.returncode)
        with open(out) as f:
            report = json.load(f)
    rows = report["rows"]
    if len(rows) < 3:
        failures.append("only %d samples" % len(rows))
    largest = max((r[2] or 0) for r in rows)
    if not 0 < largest <= BUDGET:
        failures.append("largest history %d, budget %d" % (largest, BUDGET))
    last = rows[-1]
    if last[2] != 0 or last[3] != 0:
        failures.append("at the end: history %s, rooms %s" % (last[2], last[3]))
    if min(r[1] for r in rows) <= 0:
        failures.append("an RSS sample of 0")
    for f in failures:
        print("FAIL: " + f)
    print("ok" if not failures else "FAILED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
