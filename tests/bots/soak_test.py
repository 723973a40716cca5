#!/usr/bin/python3
"""soak_test.py -- runs bots/soak at a tiny scale against the real gateway and checks its
exit status and its --json-out.

  --case clean   3 rounds of 200 clients in 8 rooms: exit 0, one sample per round with
                 a positive RSS and fd count, /stats clients 0 after every round, every
                 swarm connected all its clients and exited 0.
  --case growth  rounds whose big messages stay in the room logs (rooms are never
                 forgotten unless the gateway is told to, and this test does not), with
                 --max-growth-kb 0: exit 1, and for that reason alone.
No timing is asserted. bots/soak bounds itself with --max-s, and this test bounds it
again. Stdlib only.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOAK = os.path.join(HERE, "..", "..", "bots", "soak")

CASES = {
    "clean": ["--clients", "200", "--rooms", "8", "--senders", "40", "--rate", "2"],
    # 50 senders x 5 msg/s x 16 KiB of text for 1 s: about 4 MiB of history per round,
    # kept by the gateway after everyone left, against a limit of 0 KiB of growth.
    "growth": ["--clients", "100", "--rooms", "50", "--senders", "50", "--rate", "5",
               "--size", "16384", "--max-growth-kb", "0"],
}


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def run_soak(args):
    workdir = os.path.join(args.workdir, args.case)
    os.makedirs(workdir, exist_ok=True)
    out = os.path.join(workdir, "soak.json")
    if os.path.exists(out):
        os.remove(out)
    cmd = [sys.executable, SOAK, "--gateway", args.gateway, "--swarm", args.swarm,
           "--rounds", "3", "--chat-s", "1", "--ramp-s", "0.5", "--settle-s", "1", "--max-s", "45",
           "--workdir", workdir, "--json-out", out] + CASES[args.case]
    print("+ " + " ".join(cmd), flush=True)
    try:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=75)
    except subprocess.TimeoutExpired:
        raise Failure("bots/soak did not finish within 75 s")
    print(done.stdout, flush=True)
    check(os.path.exists(out), "bots/soak wrote no JSON (exit %d)" % done.returncode)
    with open(out) as f:
        return done.returncode, done.stdout, json.load(f)


def check_rounds(r, stdout):
    rounds = r["rounds"]
    check([x["round"] for x in rounds] == [1, 2, 3], "want rounds 1, 2, 3, got %s" % rounds)
    check(r["baseline"]["rss_kib"] > 0 and r["baseline"]["fds"] > 0, "baseline: %s" % r["baseline"])
    for x in rounds:
        n = x["round"]
        check(x["rss_kib"] > 0, "round %d: RSS %s" % (n, x["rss_kib"]))
        check(x["fds"] > 0, "round %d: fds %s" % (n, x["fds"]))
        check(x["clients"] == 0, "round %d: /stats clients %s after settling" % (n, x["clients"]))
        check(x["swarm_exit"] == 0, "round %d: swarm exit %s" % (n, x["swarm_exit"]))
        check(x.get("connects") == r["config"]["clients"],
              "round %d: %s of %d clients connected" % (n, x.get("connects"), r["config"]["clients"]))
        check(x.get("messages_sent", 0) > 0, "round %d: nothing was sent" % n)
        check(x["room_prefix"] == "r%d-" % n, "round %d: room prefix %s" % (n, x["room_prefix"]))
    # The Markdown table: header, rule, the baseline and one row per round.
    table = [line for line in stdout.splitlines() if line.startswith("|")]
    check(len(table) == 2 + 1 + len(rounds), "table has %d lines" % len(table))
    check(r["verdict"]["rss_growth_kib"] == rounds[2]["rss_kib"] - rounds[1]["rss_kib"],
          "RSS growth is not round 3's minus round 2's")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", choices=sorted(CASES), required=True)
    p.add_argument("--gateway", required=True)
    p.add_argument("--swarm", required=True)
    p.add_argument("--workdir", required=True)
    args = p.parse_args()
    try:
        code, stdout, r = run_soak(args)
        check_rounds(r, stdout)
        failures = r["verdict"]["failures"]
        if args.case == "clean":
            check(code == 0 and not failures, "exit %d, failures %s" % (code, failures))
            check("verdict: ok" in stdout, "no 'verdict: ok' line")
        else:
            check(r["verdict"]["rss_growth_kib"] > 0, "RSS did not grow: %s" % r["verdict"])
            check(code == 1, "exit %d, want 1" % code)
            check(len(failures) == 1 and failures[0].startswith("RSS grew"),
                  "want only the RSS failure, got %s" % failures)
    except Failure as e:
        print("FAIL %s: %s" % (args.case, e), flush=True)
        return 1
    print("PASS %s" % args.case, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
