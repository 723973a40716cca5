#!/usr/bin/python3
"""swarm_integration_test.py -- runs tidegate-bots against a gateway on 127.0.0.1:0 and checks its JSON report.

Modes:
  --mode gateway  (default) the real tidegate: a few hundred clients for a few seconds,
                  over zstd, json, v2 and permessage-deflate, and with --corpus texts
                  that need escaping; asserts zero loss, every message delivered to every
                  client, and that the report's counts add up; deflate's batch bytes per
                  delivery below json's, and the gateway's deflated-batch counter moved.
  --mode faults   tests/bots/fake_gateway.py with injected faults: silently dropped
                  batches must fail the swarm (exit 1), announced gaps must not.
  --mode cluster  the fake as a two-node cluster (one process, two ports, shared rooms),
                  the swarm given both URLs: one node's connections closed with 1001
                  mid-run must be reconnected to the other node and resumed without
                  loss; a resume that silently skips a message must fail the swarm;
                  --no-reconnect keeps a close final; epoch changes, `unavailable`
                  refusals and 503s are counted as what they are, not as loss.
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
from gateway_metrics import scrape_metrics, total  # noqa: E402
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
    """Runs the swarm against `port` (or a list of ports: one --url each)."""
    report = os.path.join(workdir, name + ".json")
    if os.path.exists(report):
        os.remove(report)
    urls = []
    for p in port if isinstance(port, list) else [port]:
        urls += ["--url", "ws://127.0.0.1:%d/ws" % p]
    cmd = [swarm] + urls + ["--json", report, "--csv", os.path.join(workdir, name + ".csv")] + extra
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
    # A room's deliverable messages: those sent, less those the server refused and those
    # whose sender's connection dropped before they came back and never did.
    check(sum(x["members"] * (x["sent"] - x["refused"] - x["in_doubt"]) for x in rooms)
          == r["deliveries_expected"],
          "%s: members x deliverable does not add up to deliveries_expected" % name)
    check(sum(x["in_doubt"] for x in rooms) == r["in_doubt_msgs"],
          "%s: per-room in_doubt does not add up" % name)
    check(sum(x["refused"] for x in rooms) == r["refused_msgs"],
          "%s: per-room refused does not add up" % name)
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


# --corpus texts that only arrive when the swarm escapes them right: quotes, backslashes,
# a tab and line breaks, text outside ASCII, one entry longer than --size (cut on a
# character boundary). A message the gateway could not parse as JSON would be a plain
# text without the cid, and its sender would never see it come back.
CORPUS = ('He said "hi" \\o/\n%\nA tab\there and\na second line\n%\n'
          'naïve café ☕ über 東京 🌊\n%\n' + "long " * 40 + "\n%\n100% sure\n")


def deflated_batches(gw):
    """tidegate_deflated_batches_total of the running gateway (0 before any)."""
    return total(scrape_metrics(gw.metrics_port), "tidegate_deflated_batches_total") or 0.0


def mode_gateway(args):
    corpus = os.path.join(args.workdir, "corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write(CORPUS)
    gw = GatewayProcess(args.gateway, ["--workers", "2", "--metrics-listen", "127.0.0.1:0"],
                        log_path=os.path.join(args.workdir, "gateway.log"), metrics=True)
    try:
        runs = [
            ("zstd", 300, ["--clients", "300", "--rooms", "3", "--senders", "30", "--rate", "5",
                           "--duration", "3", "--ramp", "1", "--threads", "2", "--ping",
                           "--subprotocol", "zstd", "--quiet"], True),
            ("json", 200, ["--clients", "200", "--rooms", "1", "--senders", "20", "--rate", "4",
                           "--size", "100", "--duration", "3", "--ramp", "1", "--threads", "1",
                           "--subprotocol", "json", "--quiet"], False),
            # No sub-protocol, permessage-deflate offered like a browser: the same load as
            # json, each batch inflated from its RSV1 frame.
            ("deflate", 200, ["--clients", "200", "--rooms", "1", "--senders", "20", "--rate", "4",
                              "--size", "100", "--duration", "3", "--ramp", "1", "--threads", "1",
                              "--subprotocol", "deflate", "--quiet"], False),
            # tidegate.v2.zstd: the room streams decoded, the replay from a keyframe after
            # each hello dropped (not counted as duplicates).
            ("v2", 150, ["--clients", "150", "--rooms", "3", "--senders", "15", "--rate", "5",
                         "--duration", "3", "--ramp", "1", "--threads", "2",
                         "--subprotocol", "v2", "--quiet"], False),
            ("corpus", 60, ["--clients", "60", "--rooms", "2", "--senders", "20", "--rate", "5",
                            "--size", "40", "--duration", "2", "--ramp", "1", "--threads", "1",
                            "--corpus", corpus, "--quiet"], False),
        ]
        reports = {}
        for name, clients, extra, ping in runs:
            before = deflated_batches(gw)
            code, report = run_swarm(args.swarm, gw.port, args.workdir, name, extra)
            check(gw.alive(), "gateway died during the %s run" % name)
            check_clean(code, report, name, clients, ping)
            reports[name] = report
            if name == "deflate":
                moved = deflated_batches(gw) - before
                check(moved > 0, "deflate: the gateway deflated no batch (%g)" % moved)
        json_b, deflate_b = (reports[n]["batch_bytes_per_delivery"] for n in ("json", "deflate"))
        check(0 < deflate_b < json_b, "deflate: batch bytes per delivery %.1f, json's %.1f" % (
            deflate_b, json_b))
        print("batch bytes per delivery: json %.1f, deflate %.1f" % (json_b, deflate_b))
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


def start_cluster(workdir, name, fault):
    """The fake as two nodes; returns (process, [port, port])."""
    ports_file = os.path.join(workdir, name + ".ports")
    if os.path.exists(ports_file):
        os.remove(ports_file)
    gw = GatewayProcess([sys.executable, os.path.join(HERE, "fake_gateway.py")],
                        ["--also-listen", "127.0.0.1:0", "--ports-file", ports_file] + fault,
                        log_path=os.path.join(workdir, name + ".gateway.log"))
    with open(ports_file) as f:
        ports = [int(line) for line in f if line.strip()]
    check(len(ports) == 2 and ports[0] == gw.port, "%s: fake cluster ports %s" % (name, ports))
    return gw, ports


def mode_cluster(args):
    clients = 20
    # 10 senders at 10/s: the fake counts chat messages to place its faults, so they
    # land while the swarm sends (message 60 comes ~0.6 s into 3 s of sending).
    common = ["--clients", str(clients), "--senders", "10", "--rate", "10", "--duration", "3",
              "--ramp", "0.2", "--threads", "1", "--drain", "10", "--quiet"]
    kick = ["--kick-every", "60", "--kicks", "3"]
    cases = [
        # name, fake's faults, extra swarm flags, wanted exit status
        ("cluster-resume", kick, [], 0),
        # A node goes away while the swarm drains: the drain waits for its clients.
        ("cluster-drain", ["--kick-when-quiet", "100"], [], 0),
        ("cluster-skip", kick + ["--skip-on-resume", "1"], [], 1),
        ("cluster-no-reconnect", ["--kick-every", "60"], ["--no-reconnect"], 3),
        # A close about the client (1008: slow consumer) stays final.
        ("cluster-policy", ["--kick-every", "60", "--kick-code", "1008"], [], 0),
        # 1012 (service restart): wslay does not report it, the bots reconnect anyway.
        ("cluster-restart", ["--kick-every", "60", "--kick-code", "1012"], [], 0),
        ("cluster-epoch", ["--kick-every", "60", "--new-epoch-at", "61"], [], 0),
        ("cluster-unavailable", kick + ["--refuse-every", "7"], [], 0),
        # 503s, and closes with 1013 before the hello: the first connects are counted as
        # connect failures (as before), then retried; the resumes refused are retried too.
        ("cluster-503", ["--kick-every", "60", "--refuse-upgrades", "3",
                         "--unavailable-upgrades", "2", "--refuse-resumes", "3"], [], 3),
    ]
    for name, fault, extra, want in cases:
        gw, ports = start_cluster(args.workdir, name, fault)
        try:
            code, r = run_swarm(args.swarm, ports, args.workdir, name, common + extra)
            check(gw.alive(), "%s: the fake died" % name)
        finally:
            stop(gw)
        check_counts_add_up(r, name)
        check(r["config"]["urls"] == ["ws://127.0.0.1:%d/ws" % p for p in ports],
              "%s: urls in the report %s" % (name, r["config"]["urls"]))
        check(r["messages_sent"] > 0, "%s: nothing was sent" % name)
        check(r["errors"] == 0, "%s: %d protocol errors" % (name, r["errors"]))
        check(code == want, "%s: swarm exit %d, want %d" % (name, code, want))
        clean = (r["holes"] == 0 and r["unannounced_lost"] == 0 and r["duplicates"] == 0 and
                 r["order_errors"] == 0)
        if name == "cluster-policy":
            check(r["reconnects"] == 0, "%s: reconnected after 1008" % name)
            check(r["disconnects"] > 0 and r["policy_closes"] == r["disconnects"],
                  "%s: %d disconnects, %d policy closes" % (name, r["disconnects"],
                                                             r["policy_closes"]))
            check(clean and r["lost"] == 0, "%s: loss among the clients left" % name)
            continue
        if name == "cluster-no-reconnect":
            check(r["reconnects"] == 0 and not r["config"]["reconnect"],
                  "%s: reconnected anyway" % name)
            check(r["disconnects"] > 0 and r["server_closes"] == r["disconnects"],
                  "%s: closes not counted as final: %d disconnects, %d server closes" % (
                      name, r["disconnects"], r["server_closes"]))
            check(r["excluded_clients"] == r["disconnects"], "%s: dropped clients still counted"
                  % name)
            check(clean and r["lost"] == 0, "%s: loss among the clients left" % name)
            continue
        check(r["reconnects"] > 0, "%s: nobody reconnected" % name)
        check(r["disconnects"] == 0, "%s: %d connections lost for good" % (name, r["disconnects"]))
        if name == "cluster-skip":
            check(r["holes"] > 0 and r["hole_msgs"] > 0, "%s: the skipped message made no hole"
                  % name)
            # `lost` is measured against the least every client must get: a message in
            # doubt (its sender was kicked before its echo) that reached everyone adds
            # `clients` deliveries on top, and can hide the skipped one there. Against
            # the most they could get, the skipped message is always missing.
            lost_vs_most = r["lost"] + r["in_doubt_msgs"] * clients
            check(r["unannounced_lost"] > 0 and lost_vs_most > 0 and r["failed"],
                  "%s: the skipped message was not counted as loss (lost %d, in doubt %d)"
                  % (name, r["lost"], r["in_doubt_msgs"]))
            continue
        check(clean, "%s: holes %d, unannounced lost %d, duplicates %d, order errors %d" % (
            name, r["holes"], r["unannounced_lost"], r["duplicates"], r["order_errors"]))
        check(r["lost"] == 0 and r["deliveries_received"] == r["deliveries_expected"],
              "%s: delivered %d of %d" % (name, r["deliveries_received"], r["deliveries_expected"]))
        if name == "cluster-epoch":
            # Every member was told of the new epoch (joined), or came back to it (resume).
            check(r["epoch_resets"] >= clients, "%s: %d epoch resets, want one a client" % (
                name, r["epoch_resets"]))
            check(r["excluded_clients"] == clients, "%s: clients still counted across an epoch"
                  % name)
            continue
        check(r["epoch_resets"] == 0, "%s: epoch resets without an epoch change" % name)
        if name != "cluster-drain":  # nothing new to replay after the sending stopped
            check(r["resumed_msgs"] > 0, "%s: no message came through a resume" % name)
        check(r["excluded_clients"] == 0 and r["connects"] == clients,
              "%s: %d connected, %d excluded" % (name, r["connects"], r["excluded_clients"]))
        if name == "cluster-unavailable":
            check(r["unavailable"] > 0 and r["refused_msgs"] == r["unavailable"],
                  "%s: %d unavailable, %d own messages refused" % (
                      name, r["unavailable"], r["refused_msgs"]))
        if name == "cluster-503":
            check(r["connect_failures"] == 5, "%s: %d connect failures, want the 5 refused" % (
                name, r["connect_failures"]))
            check(r["unavailable"] == 2, "%s: %d unavailable, want 2" % (name, r["unavailable"]))
            check(r["reconnect_failures"] >= 3, "%s: %d reconnect failures, want >= 3" % (
                name, r["reconnect_failures"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateway", help="tidegate binary (mode gateway)")
    parser.add_argument("--swarm", required=True, help="tidegate-bots binary")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--mode", choices=["gateway", "faults", "cluster"], default="gateway")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    started = time.time()
    try:
        if args.mode == "gateway":
            check(args.gateway and os.access(args.gateway, os.X_OK),
                  "no gateway binary at %s (set TIDEGATE_BIN)" % args.gateway)
            mode_gateway(args)
        elif args.mode == "cluster":
            mode_cluster(args)
        else:
            mode_faults(args)
    except (Failure, GatewayError) as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    print("ok (%.1fs)" % (time.time() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
