#!/usr/bin/python3
"""floor_integration_test.py -- tidegate-floor against a small tidegate-bots --sink swarm.

Starts tidegate-floor on 127.0.0.1:0 (two room groups), runs 50 sink clients for 2 s of
sending, and checks: every client connected and none dropped, the clients received
frames, the floor refused a room it does not serve (404), and the floor exits 0 on
SIGTERM with totals that add up (frames coalesced into fewer writes). No timing is asserted; every wait is bounded. Stdlib only.
"""
import argparse
import http.client
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

TOTALS = re.compile(r"totals (.*)$")


def check(cond, what):
    if not cond:
        print("FAIL: " + what, flush=True)
        sys.exit(1)


def upgrade_status(port, room):
    """The HTTP status the floor answers a WebSocket upgrade for `room` with."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/ws?room=" + room, headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        return conn.getresponse().status
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--floor", required=True)
    p.add_argument("--swarm", required=True)
    p.add_argument("--workdir", required=True)
    args = p.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    report_path = os.path.join(args.workdir, "sink.json")
    if os.path.exists(report_path):
        os.remove(report_path)
    # bots-0..1: 50 windows/s of 300-byte frames worth 4 messages, written 10 times a
    # second (5 frames a write); far-0: never written.
    floor = GatewayProcess(args.floor, ["--workers", "2", "--no-pin", "--rooms", "2",
                                        "--batches-per-s", "50", "--frame-bytes", "300",
                                        "--msgs-per-batch", "4", "--writes-per-s", "10",
                                        "--group", "far-:1:0:10:1"],
                           log_path=os.path.join(args.workdir, "floor.log"))
    try:
        check(upgrade_status(floor.port, "elsewhere") == 404, "an unknown room was not refused")
        check(upgrade_status(floor.port, "far-0") == 101, "a served room was not upgraded")
        cmd = [args.swarm, "--url", floor.url, "--sink", "--clients", "50", "--rooms", "2",
               "--senders", "10", "--rate", "5", "--ping", "--duration", "2", "--ramp", "0.5",
               "--threads", "1", "--quiet", "--json", report_path]
        print("+ " + " ".join(cmd), flush=True)
        swarm = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=60)
        print(swarm.stdout[-3000:], flush=True)
        check(floor.alive(), "the floor died during the run")
    finally:
        code = floor.stop()
    check(not floor.killed, "the floor did not exit within 15 s of SIGTERM")
    check(code == 0, "the floor exited with %s" % code)
    check(swarm.returncode == 0, "the swarm exited with %d" % swarm.returncode)
    with open(report_path) as f:
        r = json.load(f)
    check(r["config"]["sink"] is True, "the report does not say sink")
    check(r["connects"] == 50, "%d of 50 clients connected" % r["connects"])
    check(r["connect_failures"] == 0 and r["disconnects"] == 0,
          "connect failures %d, disconnects %d" % (r["connect_failures"], r["disconnects"]))
    check(r["messages_sent"] > 0, "the sink's senders sent nothing")
    check(r["frames_measured"] > 0, "no frames arrived while sending")
    check(r["frames_received"] >= r["frames_measured"], "more measured frames than frames")
    # Sink clients decode nothing: each frame is 4 header bytes + 300 payload bytes (give
    # or take a frame per client cut by the start or end of the measurement).
    check(r["deliveries_all"] == 0 and r["batch_decodes"] == 0, "the sink decoded something")
    check(abs(r["bytes_received"] - 304 * r["frames_measured"]) <= 304 * 50,
          "%d bytes for %d frames of 304 bytes" % (r["bytes_received"], r["frames_measured"]))
    lines = [m.group(1) for m in map(TOTALS.match, floor.last_lines) if m]
    check(len(lines) == 1, "no totals line in the floor's output: %s" % list(floor.last_lines))
    totals = dict(kv.split("=") for kv in lines[0].split())
    print("floor totals: %s" % totals, flush=True)
    frames = int(totals["frames"])
    check(frames >= r["frames_received"], "the swarm got more frames than the floor wrote")
    check(int(totals["deliveries"]) == 4 * frames, "deliveries are not 4 x frames")
    check(3 * int(totals["writes"]) <= frames, "%s writes for %d frames: windows were not "
          "coalesced 5 to a write" % (totals["writes"], frames))
    check(int(totals["upgrades"]) == 51, "upgrades %s, want 50 swarm clients + 1" % totals["upgrades"])
    check(int(totals["refused"]) == 1, "refused %s, want 1" % totals["refused"])
    check(int(totals["bytes_read"]) > 0, "the floor read none of the clients' messages")
    print("ok", flush=True)


if __name__ == "__main__":
    main()
