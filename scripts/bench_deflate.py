#!/usr/bin/python3
"""bench_deflate.py -- wire bytes and server CPU per delivery for plain JSON
(tidegate.v1.json), v1 zstd (tidegate.v1.zstd) and permessage-deflate (no sub-protocol,
python3-websockets' default offer), with chat lines from a fortune file.

  /usr/bin/python3 scripts/bench_deflate.py build/tidegate [--receivers 50] [--msgs 300]

Two shapes: `single` (one message in flight at a time: one-message batches, like the
swarm's idle and rooms) and `burst` (senders at once: multi-message batches, like appchat
and room). Counts come from the gateway's own metrics (tidegate_written_bytes_total and
tidegate_deliveries_total over the sending phase only); CPU from /proc/PID/stat. A small
Python swarm on a shared machine: the CPU figures are indicative, the bytes are not.
"""
import argparse
import asyncio
import json
import os
import random
import sys
import urllib.request

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

FORTUNES = "/usr/share/games/fortunes/fortunes"


def corpus():
    try:
        with open(FORTUNES, encoding="utf-8", errors="replace") as f:
            entries = [" ".join(e.split()) for e in f.read().split("\n%\n")]
        return [e[:200] for e in entries if e]
    except OSError:
        sys.exit("%s is missing (Debian's fortunes-min)" % FORTUNES)


def metrics(port):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name = line.split("{")[0].split(" ")[0]
        out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_mode(gw, mode, shape, lines, receivers, msgs):
    room = "bench-%s-%s" % (mode, shape)
    url = "ws://127.0.0.1:%d/ws?room=%s" % (gw.port, room)
    kw = {"max_size": None, "max_queue": None}
    if mode == "json":
        kw.update(subprotocols=["tidegate.v1.json"], compression=None)
    elif mode == "zstd":
        kw.update(subprotocols=["tidegate.v1.zstd"], compression=None)
    clients = [await websockets.connect(url, **kw) for _ in range(receivers)]
    if mode == "deflate":
        assert all(c.extensions for c in clients), "permessage-deflate was not agreed"
    # The sender speaks plain JSON uncompressed: only the receivers' side is measured.
    sender = await websockets.connect(url, subprotocols=["tidegate.v1.json"], compression=None)
    counts = [0] * receivers
    done = asyncio.Event()

    async def drain(i, ws):
        import zstandard
        d = zstandard.ZstdDecompressor()
        async for frame in ws:
            if isinstance(frame, bytes):
                frame = d.decompress(frame)
            doc = json.loads(frame)
            if doc["t"] == "batch":
                counts[i] += sum(1 for m in doc["msgs"] if m["t"] == "msg")
                if all(c >= msgs for c in counts):
                    done.set()

    tasks = [asyncio.create_task(drain(i, ws)) for i, ws in enumerate(clients)]
    await asyncio.sleep(1.0)  # joins and hellos out of the way
    m0, c0 = metrics(gw.metrics_port), cpu_s(gw.pid)
    rng = random.Random(7)
    if shape == "single":
        target = 0
        for _ in range(msgs):
            target += 1
            await sender.send(json.dumps({"t": "msg", "text": rng.choice(lines)}))
            while min(counts) < target:  # one message per batch
                await asyncio.sleep(0.002)
    else:
        for _ in range(msgs // 20):
            for _ in range(20):
                await sender.send(json.dumps({"t": "msg", "text": rng.choice(lines)}))
            await asyncio.sleep(0.05)
    await asyncio.wait_for(done.wait(), 120)
    m1, c1 = metrics(gw.metrics_port), cpu_s(gw.pid)
    for ws in clients + [sender]:
        await ws.close()
    for t in tasks:
        t.cancel()
    deliveries = m1["tidegate_deliveries_total"] - m0["tidegate_deliveries_total"]
    written = m1["tidegate_written_bytes_total"] - m0["tidegate_written_bytes_total"]
    return written / deliveries, (c1 - c0) * 1e6 / deliveries


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--receivers", type=int, default=50)
    ap.add_argument("--msgs", type=int, default=300)
    args = ap.parse_args()
    lines = corpus()
    gw = GatewayProcess(args.bin, ["--log-level", "warn", "--metrics-listen", "127.0.0.1:0",
                                   "--workers", "1", "--rate-limit", "0"], metrics=True)
    try:
        print("%-8s %-7s %14s %14s" % ("shape", "mode", "bytes/deliv", "cpu us/deliv"))
        for shape in ("single", "burst"):
            for mode in ("json", "zstd", "deflate"):
                b, c = asyncio.run(run_mode(gw, mode, shape, lines, args.receivers, args.msgs))
                print("%-8s %-7s %14.1f %14.2f" % (shape, mode, b, c), flush=True)
    finally:
        gw.stop()


if __name__ == "__main__":
    main()
