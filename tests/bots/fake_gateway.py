#!/usr/bin/python3
"""fake_gateway.py -- a tiny stand-in for tidegate that speaks docs/PROTOCOL.md, with fault injection.

It exists to test the swarm's checker, not the gateway: with --drop-every it silently
skips messages for one client (the swarm must fail), with --gap-every it skips them but
announces a `gap` (the swarm must pass). Prints `listening 127.0.0.1:PORT` like tidegate.
Python stdlib + python3-websockets + python3-zstandard (Debian packages).
"""
import argparse
import asyncio
import json
import signal
import sys
import time
import urllib.parse

import websockets
import zstandard

PROTOCOLS = ["tidegate.v1.zstd", "tidegate.v1.json"]


class Room:
    def __init__(self, name):
        self.name = name
        self.seq = 0          # last message seq
        self.flushed = 0      # last message seq sent out in a batch
        self.batch_seq = 0
        self.pending = []
        self.members = set()


class Gateway:
    def __init__(self, args):
        self.args = args
        self.rooms = {}
        self.next_id = 0
        self.cctx = zstandard.ZstdCompressor()
        self.victim = None    # the client that suffers injected faults
        self.batches_for_victim = 0

    def room(self, name):
        return self.rooms.setdefault(name, Room(name))

    def event(self, room, kind, sender, **extra):
        room.seq += 1
        entry = {"seq": room.seq, "t": kind, "from": sender, "ts": int(time.time() * 1000)}
        entry.update(extra)
        room.pending.append(entry)

    async def handle(self, ws, path=None):
        path = path or ws.path
        query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        room = self.room(query.get("room", ["lobby"])[0])
        self.next_id += 1
        name = "guest-%d" % self.next_id
        proto = "zstd" if ws.subprotocol == "tidegate.v1.zstd" else "json"
        await ws.send(json.dumps({"t": "hello", "id": self.next_id, "name": name, "room": room.name,
                                  "seq": room.flushed, "window_ms": self.args.window_ms, "proto": proto}))
        if self.victim is None and self.next_id >= 2:
            self.victim = ws
        self.event(room, "join", name)
        room.members.add(ws)
        try:
            async for frame in ws:
                self.on_frame(ws, room, name, frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            room.members.discard(ws)
            self.event(room, "leave", name)

    def on_frame(self, ws, room, name, frame):
        try:
            msg = json.loads(frame)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self.event(room, "msg", name, text=str(frame))
        elif msg.get("t") == "ping":
            asyncio.ensure_future(ws.send(json.dumps({"t": "pong", "id": msg.get("id"),
                                                      "window_ms": self.args.window_ms})))
        elif msg.get("t") == "msg":
            extra = {"text": msg.get("text", "")}
            if "cid" in msg:
                extra["cid"] = msg["cid"]
            self.event(room, "msg", name, **extra)

    def flush(self, room):
        room.batch_seq += 1
        batch = {"t": "batch", "room": room.name, "seq": room.batch_seq,
                 "online": len(room.members), "msgs": room.pending}
        room.pending = []
        room.flushed = room.seq
        text = json.dumps(batch, separators=(",", ":"))
        packed = self.cctx.compress(text.encode())
        for ws in list(room.members):
            frame = packed if ws.subprotocol == "tidegate.v1.zstd" else text
            if ws is self.victim:
                frame = self.fault(ws, batch, frame)
                if frame is None:
                    continue
            asyncio.ensure_future(self.send(ws, frame))

    def fault(self, ws, batch, frame):
        self.batches_for_victim += 1
        n = self.batches_for_victim
        msgs = batch["msgs"]
        if self.args.drop_every and n % self.args.drop_every == 0:
            return None  # silently lost: the swarm must notice
        if self.args.gap_every and n % self.args.gap_every == 0:
            asyncio.ensure_future(self.send(ws, json.dumps(
                {"t": "gap", "room": batch["room"], "from": msgs[0]["seq"], "to": msgs[-1]["seq"]})))
            return None
        return frame

    async def send(self, ws, frame):
        try:
            await ws.send(frame)
        except websockets.ConnectionClosed:
            pass

    async def flusher(self):
        while True:
            await asyncio.sleep(self.args.window_ms / 1000.0)
            for room in self.rooms.values():
                if room.pending:
                    self.flush(room)


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--window-ms", type=float, default=10.0)
    parser.add_argument("--drop-every", type=int, default=0, help="drop every Nth batch of one client")
    parser.add_argument("--gap-every", type=int, default=0, help="replace every Nth batch of one client by a gap")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    gw = Gateway(args)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(gw.handle, host, int(port), subprotocols=PROTOCOLS,
                                compression=None, max_queue=None) as server:
        sock = next(iter(server.sockets))
        print("listening %s:%d" % sock.getsockname()[:2], flush=True)
        flusher = asyncio.ensure_future(gw.flusher())
        await stop
        flusher.cancel()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
