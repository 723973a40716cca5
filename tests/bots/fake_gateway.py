#!/usr/bin/python3
"""fake_gateway.py -- a tiny stand-in for tidegate that speaks docs/PROTOCOL.md, with fault injection.

It exists to test the swarm's checker, not the gateway: with --drop-every it silently
skips messages for one client (the swarm must fail), with --gap-every it skips them but
announces a `gap` (the swarm must pass). Prints `listening 127.0.0.1:PORT` like tidegate.

As a cluster: with --also-listen it serves the same rooms on more ports (the nodes of a
cluster sharing rooms, as tidegate does through its backplane), and writes every port to
--ports-file before it prints its `listening` line. A /ws request with `since` (and
`epoch` equal to the fake's, or none) is resumed from the room's log, which this fake
keeps whole. Node failures and the backplane's troubles are injected on a count of the
chat messages it received (never on a clock, so they always land while the swarm sends):
  --kick-every N --kicks K     closes every connection of one node with 1001 (or
                               --kick-code), K times, the last node first, then the one
                               before, and so on;
  --kick-when-quiet MS         the same once, when no chat message came for MS ms after
                               some did (the swarm drains then: reconnects in the drain);
  --skip-on-resume K           the first K resumes whose replay is not empty leave out
                               its first message, announcing nothing (the swarm must fail);
  --new-epoch-at N             the room's history is lost: every member gets a `gap` for
                               the messages not flushed yet, then `joined` in a new epoch
                               whose seqs start over from 0;
  --refuse-every N             every Nth chat message is refused with an `unavailable`
                               error carrying its cid, and never sequenced;
  --refuse-upgrades N          the first N /ws requests without `since` get 503;
  --unavailable-upgrades N     the next N get an `unavailable` error and a 1013 close
                               instead of a hello (a node whose backplane is down);
  --refuse-resumes N           the first N /ws requests with `since` get 503.
Python stdlib + python3-websockets + python3-zstandard (Debian packages).
"""
import argparse
import asyncio
import functools
import http
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
        self.log = []         # every batch sent: (batch seq, msgs), for resumes


class Client:
    """One connection: its frames go out through a queue, in the order they were queued
    (hello, then the replay, then live batches), whatever the socket's pace."""

    def __init__(self, ws, node):
        self.ws = ws
        self.node = node
        self.queue = asyncio.Queue()
        self.writer = asyncio.ensure_future(self.write())

    @property
    def zstd(self):
        return self.ws.subprotocol == "tidegate.v1.zstd"

    def push(self, frame):
        self.queue.put_nowait(frame)

    async def write(self):
        try:
            while True:
                await self.ws.send(await self.queue.get())
        except websockets.ConnectionClosed:
            pass


class Gateway:
    def __init__(self, args):
        self.args = args
        self.epoch = args.epoch or int(time.time() * 1000)
        self.rooms = {}
        self.clients = set()
        self.next_id = 0
        self.cctx = zstandard.ZstdCompressor()
        self.victim = None    # the client that suffers --drop-every/--gap-every
        self.batches_for_victim = 0
        self.chat = 0         # chat messages received, the clock of injected faults
        self.last_chat = 0.0  # when the latest came (time.monotonic())
        self.kicks_done = 0
        self.skips_left = args.skip_on_resume
        self.upgrades_left = args.refuse_upgrades
        self.unavailable_left = args.unavailable_upgrades
        self.resumes_left = args.refuse_resumes
        self.nodes = 1

    def room(self, name):
        return self.rooms.setdefault(name, Room(name))

    def event(self, room, kind, sender, **extra):
        room.seq += 1
        entry = {"seq": room.seq, "t": kind, "from": sender, "ts": int(time.time() * 1000)}
        entry.update(extra)
        room.pending.append(entry)

    async def refuse(self, path, headers):
        """process_request hook: 503 for the first requests, as --refuse-* ask."""
        query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        if "since" in query and self.resumes_left > 0:
            self.resumes_left -= 1
        elif "since" not in query and self.upgrades_left > 0:
            self.upgrades_left -= 1
        else:
            return None
        return http.HTTPStatus.SERVICE_UNAVAILABLE, [("Retry-After", "1")], b"busy\n"

    def resume_point(self, room, query):
        """Where a new connection's stream starts, and the log batches it replays."""
        since = query.get("since", [None])[0]
        epoch = query.get("epoch", [None])[0]
        if since is None or (epoch is not None and int(epoch) != self.epoch):
            return room.flushed, []  # not a resume, or another epoch's: start live
        start = min(int(since), room.flushed)
        replay = []
        for batch_seq, msgs in room.log:
            if msgs and msgs[-1]["seq"] > start:
                replay.append((batch_seq, [m for m in msgs if m["seq"] > start]))
        if replay and self.skips_left > 0:
            self.skips_left -= 1
            batch_seq, msgs = replay[0]
            replay[0] = (batch_seq, msgs[1:])  # the first message left out, silently
        return start, replay

    async def handle(self, ws, path=None, node=0):
        path = path or ws.path
        query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        if "since" not in query and self.unavailable_left > 0:
            self.unavailable_left -= 1
            await ws.send(json.dumps({"t": "error", "code": "unavailable",
                                      "reason": "backplane unreachable: try again later"}))
            await self.close(ws, 1013)
            return
        room = self.room(query.get("room", ["lobby"])[0])
        self.next_id += 1
        name = "guest-%d" % self.next_id
        client = Client(ws, node)
        proto = "zstd" if client.zstd else "json"
        # Hello, replay and membership in one step (no await): no batch can slip between.
        start, replay = self.resume_point(room, query)
        client.push(json.dumps({"t": "hello", "id": self.next_id, "name": name, "room": room.name,
                                "seq": start, "window_ms": self.args.window_ms, "proto": proto,
                                "epoch": self.epoch}))
        for batch_seq, msgs in replay:
            client.push(self.frame(client, self.batch(room, batch_seq, msgs)))
        if self.victim is None and self.next_id >= 2:
            self.victim = client
        self.event(room, "join", name)
        room.members.add(client)
        self.clients.add(client)
        try:
            async for frame in ws:
                self.on_frame(client, room, name, frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            room.members.discard(client)
            self.clients.discard(client)
            client.writer.cancel()
            self.event(room, "leave", name)

    def on_frame(self, client, room, name, frame):
        try:
            msg = json.loads(frame)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self.event(room, "msg", name, text=str(frame))
        elif msg.get("t") == "ping":
            client.push(json.dumps({"t": "pong", "id": msg.get("id"),
                                    "window_ms": self.args.window_ms}))
        elif msg.get("t") == "msg":
            self.chat += 1
            self.last_chat = time.monotonic()
            if self.args.refuse_every and self.chat % self.args.refuse_every == 0:
                error = {"t": "error", "code": "unavailable", "reason": "backplane down"}
                if "cid" in msg:
                    error["cid"] = msg["cid"]
                client.push(json.dumps(error))
            else:
                extra = {"text": msg.get("text", "")}
                if "cid" in msg:
                    extra["cid"] = msg["cid"]
                self.event(room, "msg", name, **extra)
            self.inject()

    def inject(self):
        """Node failures and epoch changes, on the count of chat messages received."""
        a = self.args
        if a.kick_every and self.kicks_done < a.kicks and self.chat % a.kick_every == 0:
            self.kick()
        if a.new_epoch_at and self.chat == a.new_epoch_at:
            self.epoch += 1
            for room in self.rooms.values():
                lost = room.pending
                room.pending = []
                room.log = []
                room.seq = room.flushed = 0  # the new epoch's seqs start over
                for client in room.members:
                    if lost:
                        client.push(json.dumps({"t": "gap", "room": room.name,
                                                "from": lost[0]["seq"], "to": lost[-1]["seq"]}))
                    client.push(json.dumps({"t": "joined", "room": room.name, "seq": 0,
                                            "epoch": self.epoch}))

    def kick(self):
        """Closes every connection of the next node with 1001, as a node going away."""
        node = (self.nodes - 1 - self.kicks_done) % self.nodes
        self.kicks_done += 1
        for client in [c for c in self.clients if c.node == node]:
            # Gone from the room at once, as a dead node's clients are: what the room
            # gets meanwhile reaches them only through their resume.
            for room in self.rooms.values():
                room.members.discard(client)
            self.clients.discard(client)
            asyncio.ensure_future(self.close(client.ws, self.args.kick_code))

    async def quiet_kicker(self):
        quiet_s = self.args.kick_when_quiet / 1000.0
        while True:
            await asyncio.sleep(0.01)
            if self.chat > 0 and time.monotonic() - self.last_chat >= quiet_s:
                self.kick()
                return

    async def close(self, ws, code):
        try:
            await ws.close(code, {1001: "going away", 1008: "slow consumer",
                                  1012: "service restart"}.get(code, "try again later"))
        except websockets.ConnectionClosed:
            pass

    def batch(self, room, batch_seq, msgs):
        return {"t": "batch", "room": room.name, "seq": batch_seq, "online": len(room.members),
                "msgs": msgs}

    def frame(self, client, batch):
        text = json.dumps(batch, separators=(",", ":"))
        return self.cctx.compress(text.encode()) if client.zstd else text

    def flush(self, room):
        room.batch_seq += 1
        batch = self.batch(room, room.batch_seq, room.pending)
        room.log.append((room.batch_seq, room.pending))
        room.pending = []
        room.flushed = room.seq
        text = json.dumps(batch, separators=(",", ":"))
        packed = self.cctx.compress(text.encode())
        for client in list(room.members):
            frame = packed if client.zstd else text
            if client is self.victim:
                frame = self.fault(client, batch, frame)
                if frame is None:
                    continue
            client.push(frame)

    def fault(self, client, batch, frame):
        self.batches_for_victim += 1
        n = self.batches_for_victim
        msgs = batch["msgs"]
        if self.args.drop_every and n % self.args.drop_every == 0:
            return None  # silently lost: the swarm must notice
        if self.args.gap_every and n % self.args.gap_every == 0:
            client.push(json.dumps(
                {"t": "gap", "room": batch["room"], "from": msgs[0]["seq"], "to": msgs[-1]["seq"]}))
            return None
        return frame

    async def flusher(self):
        while True:
            await asyncio.sleep(self.args.window_ms / 1000.0)
            for room in self.rooms.values():
                if room.pending:
                    self.flush(room)


async def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--also-listen", action="append", default=[],
                        help="another node's address (repeatable): same rooms, same log")
    parser.add_argument("--ports-file", help="write every node's port here, one a line")
    parser.add_argument("--window-ms", type=float, default=10.0)
    parser.add_argument("--epoch", type=int, default=0, help="default: the start time in ms")
    parser.add_argument("--drop-every", type=int, default=0, help="drop every Nth batch of one client")
    parser.add_argument("--gap-every", type=int, default=0, help="replace every Nth batch of one client by a gap")
    parser.add_argument("--kick-every", type=int, default=0)
    parser.add_argument("--kicks", type=int, default=1)
    parser.add_argument("--kick-code", type=int, default=1001)
    parser.add_argument("--kick-when-quiet", type=float, default=0, metavar="MS")
    parser.add_argument("--skip-on-resume", type=int, default=0)
    parser.add_argument("--new-epoch-at", type=int, default=0)
    parser.add_argument("--refuse-every", type=int, default=0)
    parser.add_argument("--refuse-upgrades", type=int, default=0)
    parser.add_argument("--refuse-resumes", type=int, default=0)
    parser.add_argument("--unavailable-upgrades", type=int, default=0)
    args = parser.parse_args()
    gw = Gateway(args)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    servers = []
    for node, address in enumerate([args.listen] + args.also_listen):
        host, port = address.rsplit(":", 1)
        servers.append(await websockets.serve(
            functools.partial(gw.handle, node=node), host, int(port), subprotocols=PROTOCOLS,
            compression=None, max_queue=None, process_request=gw.refuse))
    gw.nodes = len(servers)
    ports = [next(iter(s.sockets)).getsockname()[1] for s in servers]
    if args.ports_file:
        with open(args.ports_file, "w") as f:
            f.write("".join("%d\n" % p for p in ports))
    print("listening %s:%d" % next(iter(servers[0].sockets)).getsockname()[:2], flush=True)
    tasks = [asyncio.ensure_future(gw.flusher())]
    if args.kick_when_quiet:
        tasks.append(asyncio.ensure_future(gw.quiet_kicker()))
    await stop
    for task in tasks:
        task.cancel()
    for s in servers:
        s.close()
        await s.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
