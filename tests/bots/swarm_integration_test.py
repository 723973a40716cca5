#!/usr/bin/python3
"""swarm_integration_test.py -- runs tidegate-bots against a gateway on 127.0.0.1:0 and checks its JSON report.

Modes:
  --mode gateway  (default) the real tidegate: a few hundred clients for a few seconds,
                  over zstd and json; asserts zero loss, every message delivered to
                  every client, and that the report's counts add up.
  --mode faults   tests/bots/fake_gateway.py with injected faults: silently dropped
                  batches must fail the swarm (exit 1), announced gaps must not.
No timing is asserted. Every wait is bounded. Stdlib only.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bots"))
from gateway_process import GatewayError, GatewayProcess  # noqa: E402


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def stop(gw):
    """SIGTERM; a gateway still running 15 s later is SIGKILLed and fails the test."""
    code = gw.stop()
    check(not gw.killed, "gateway did not exit within 15s of SIGTERM")
    return code


def run_swarm(swarm, port, workdir, name, extra, timeout=90.0):
    report = os.path.join(workdir, name + ".json")
    if os.path.exists(report):
        os.remove(report)
    cmd = [swarm, "--url", "ws://127.0.0.1:%d/ws" % port, "--json", report,
           "--csv", os.path.join(workdir, name + ".csv")] + extra
    print("+ " + " ".join(cmd), flush=True)
    try:
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure("swarm %s did not finish within %.0fs" % (name, timeout))
    print(done.stdout[-3000:], flush=True)
    check(os.path.exists(report), "swarm %s wrote no JSON report (exit %d)" % (name, done.returncode))
    with open(report) as f:
        return done.returncode, json.load(f)


def check_counts_add_up(r, name):
    rooms = r["rooms"]
    check(sum(x["sent"] for x in rooms) == r["messages_sent"],
          "%s: per-room sent does not add up to messages_sent" % name)
    check(sum(x["members"] * x["sent"] for x in rooms) == r["deliveries_expected"],
          "%s: members x sent does not add up to deliveries_expected" % name)
    check(sum(x["received"] for x in rooms) == r["deliveries_received"],
          "%s: per-room received does not add up to deliveries_received" % name)
    check(r["deliveries_expected"] - r["deliveries_received"] == r["lost"],
          "%s: expected - received != lost" % name)
    check(r["deliveries_received"] + r["excluded_received"] == r["deliveries_all"],
          "%s: counted + excluded deliveries != all deliveries" % name)
    check(r["batch_decodes"] + r["batch_cache_hits"] <= r["frames_received"],
          "%s: more batches than frames" % name)


def check_clean(code, r, name, clients, ping):
    check_counts_add_up(r, name)
    check(r["connects"] == clients, "%s: %d of %d clients connected" % (name, r["connects"], clients))
    check(r["connect_failures"] == 0 and r["disconnects"] == 0,
          "%s: connect failures %d, disconnects %d" % (name, r["connect_failures"], r["disconnects"]))
    check(r["messages_sent"] > 0, "%s: nothing was sent" % name)
    check(r["unannounced_lost"] == 0 and r["holes"] == 0, "%s: unannounced loss" % name)
    check(r["order_errors"] == 0, "%s: duplicated or reordered messages" % name)
    check(r["gap_notices"] == 0, "%s: gap notices with no slow client" % name)
    check(r["excluded_clients"] == 0, "%s: clients excluded from the count" % name)
    # Every client of a room (bot i is in room i % rooms) must be counted, and must have
    # received every message sent to its room.
    k = len(r["rooms"])
    for index, room in enumerate(r["rooms"]):
        want = len(range(index, clients, k))
        check(room["members"] == want, "%s: room %s counted %d members, want %d" %
              (name, room["name"], room["members"], want))
        check(room["received"] == room["members"] * room["sent"], "%s: room %s delivered %d of %d" %
              (name, room["name"], room["received"], room["members"] * room["sent"]))
    check(r["deliveries_received"] == r["deliveries_expected"],
          "%s: delivered %d of %d" % (name, r["deliveries_received"], r["deliveries_expected"]))
    check(r["latency_ms"]["count"] == r["messages_sent"],
          "%s: %d of %d messages came back to their sender" % (name, r["latency_ms"]["count"],
                                                                r["messages_sent"]))
    # No slow clients here: every delivery of this run's messages is timed at its receiver.
    check(r["delivery_ms"]["count"] == r["deliveries_received"],
          "%s: %d deliveries timed, %d received" % (name, r["delivery_ms"]["count"],
                                                    r["deliveries_received"]))
    check(r["errors"] == 0, "%s: %d protocol errors" % (name, r["errors"]))
    # Distinct batches (per-room batch seq spans) against batch frames received: every
    # client of a room receives each of its batches (bots/bench --floor divides them).
    check(0 < r["batches_measured"] <= r["batch_frames_measured"] <= r["frames_measured"],
          "%s: batches %d, batch frames %d, frames %d while measuring" % (
              name, r["batches_measured"], r["batch_frames_measured"], r["frames_measured"]))
    check(sum(x["batches"] for x in r["rooms"]) == r["batches_measured"],
          "%s: per-room batches do not add up" % name)
    if ping:
        check(r["pongs"] > 0 and r["ping_ms"]["count"] == r["pongs"], "%s: no pongs" % name)
    check(code == 0, "%s: swarm exit code %d" % (name, code))


def mode_gateway(args):
    gw = GatewayProcess(args.gateway, ["--workers", "2", "--metrics-listen", "127.0.0.1:0"],
                        log_path=os.path.join(args.workdir, "gateway.log"))
    try:
        runs = [
            ("zstd", 300, ["--clients", "300", "--rooms", "3", "--senders", "30", "--rate", "5",
                           "--duration", "3", "--ramp", "1", "--threads", "2", "--ping",
                           "--subprotocol", "zstd", "--quiet"], True),
            ("json", 200, ["--clients", "200", "--rooms", "1", "--senders", "20", "--rate", "4",
                           "--size", "100", "--duration", "3", "--ramp", "1", "--threads", "1",
                           "--subprotocol", "json", "--quiet"], False),
        ]
        for name, clients, extra, ping in runs:
            code, report = run_swarm(args.swarm, gw.port, args.workdir, name, extra)
            check(gw.alive(), "gateway died during the %s run" % name)
            check_clean(code, report, name, clients, ping)
    finally:
        rc = stop(gw)
    if rc != 0:
        print("note: gateway exited %s after SIGTERM (docs/ARCHITECTURE.md: a drain exits 0)" % rc)


def mode_faults(args):
    fake = os.path.join(HERE, "fake_gateway.py")
    common = ["--clients", "20", "--senders", "5", "--rate", "5", "--duration", "2",
              "--ramp", "0.2", "--threads", "1", "--quiet"]
    for name, fault, want in [("faults-clean", [], 0), ("faults-gap", ["--gap-every", "3"], 0),
                              ("faults-drop", ["--drop-every", "3"], 1)]:
        gw = GatewayProcess([sys.executable, fake], fault,
                            log_path=os.path.join(args.workdir, name + ".gateway.log"))
        try:
            code, r = run_swarm(args.swarm, gw.port, args.workdir, name, common)
        finally:
            stop(gw)
        check_counts_add_up(r, name)
        check(code == want, "%s: swarm exit %d, want %d" % (name, code, want))
        if name == "faults-gap":
            check(r["gap_notices"] > 0 and r["announced_lost"] > 0, "%s: no gap seen" % name)
            check(r["unannounced_lost"] == 0, "%s: announced gaps counted as loss" % name)
        if name == "faults-drop":
            check(r["unannounced_lost"] > 0 and r["holes"] > 0, "%s: loss not detected" % name)
            check(r["failed"], "%s: report not marked failed" % name)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", help="tidegate binary (mode gateway)")
    parser.add_argument("--swarm", required=True, help="tidegate-bots binary")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--mode", choices=["gateway", "faults"], default="gateway")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    started = time.time()
    try:
        if args.mode == "gateway":
            check(args.gateway and os.access(args.gateway, os.X_OK),
                  "no gateway binary at %s (set TIDEGATE_BIN)" % args.gateway)
            mode_gateway(args)
        else:
            mode_faults(args)
    except (Failure, GatewayError) as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    print("ok (%.1fs)" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
