#!/usr/bin/python3
"""bench_encodings_test.py -- bots/bench --encodings at a tiny scale against the real gateway.

Runs the idle scenario once per encoding (zstd, deflate), each against a fresh gateway,
and checks that both rows and the ratios line of deflate against zstd (with its wire and
batch bytes per delivery) are printed and that bench exits 0 (no unannounced loss). No
timing is asserted; the run is bounded.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "..", "..", "bots", "bench")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--gateway", required=True)
    p.add_argument("--swarm", required=True)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="tg-bench-enc-") as workdir:
        cmd = ["/usr/bin/python3", BENCH, "--gateway", args.gateway, "--swarm", args.swarm,
               "--scenarios", "idle", "--scale", "0.2", "--encodings", "zstd,deflate",
               "--workdir", workdir]
        print("+ " + " ".join(cmd), flush=True)
        try:
            done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  timeout=100)
        except subprocess.TimeoutExpired:
            print("FAIL: bench did not finish within 100 s")
            return 1
    print(done.stdout, flush=True)
    lines = done.stdout.splitlines()
    failures = []
    for enc in ("zstd", "deflate"):
        if not any(re.match(r"\| idle \| %s \| 100 \|" % enc, line) for line in lines):
            failures.append("no idle row for %s with 100 clients" % enc)
    if not any("| variant vs zstd |" in line and "wire B/deliv" in line for line in lines):
        failures.append("no ratios table against zstd with a wire B/deliv column")
    # | idle | deflate | CPU | p50 | p99 | deliv p99 | wire B | batch B |: six ratios, the
    # bytes ones never "-" (every row delivers).
    ratio = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines
             if re.match(r"\| idle \| deflate \| ([0-9.]+x|-) \|", line)]
    if (len(ratio) != 1 or len(ratio[0]) != 8 or
            not all(c.endswith("x") or c == "-" for c in ratio[0][2:]) or
            not all(c.endswith("x") for c in ratio[0][6:])):
        failures.append("no ratio line of deflate against zstd with six ratios: %r" % ratio)
    if done.returncode != 0:
        failures.append("bench exited %d" % done.returncode)
    for f in failures:
        print("FAIL: " + f)
    if not failures:
        print("OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
