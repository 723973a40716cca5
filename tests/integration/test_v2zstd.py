"""tidegate.v2.zstd against the real binary: no client ever gets bytes it cannot decode,
across joins, resumes, gaps and slow readers, and every v2 batch decodes to the same
JSON a v1 client gets for it.

Runs Debian's python3-websockets and python3-zstandard (streaming decompression) against
TIDEGATE_BIN on 127.0.0.1, port 0. Run with /usr/bin/python3.
"""
import asyncio
import base64
import json
import os
import random
import sys
import unittest
import urllib.request

import websockets
import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
V1 = "tidegate.v1.zstd"
V2 = "tidegate.v2.zstd"
KEYFRAME = 0x01


def gateway(*args):
    # Small keyframe spacing: many keyframes, so joins and resumes land between them.
    return GatewayProcess(BIN, ["--log-level", "warn", "--metrics-listen", "127.0.0.1:0",
                                "--rate-limit", "0", "--zstd-keyframe-bytes", "1024", *args],
                          metrics=True)


def metric(gw, name):
    """The sum of `name` over its series (per-worker families are summed)."""
    url = "http://127.0.0.1:%d/metrics" % gw.metrics_port
    with urllib.request.urlopen(url, timeout=5) as r:
        lines = r.read().decode().splitlines()
    found = [float(line.rsplit(" ", 1)[1]) for line in lines
             if line.split("{")[0].split(" ")[0] == name]
    if not found:
        raise AssertionError("no metric " + name)
    return sum(found)


def noise(rng, n):
    return base64.b64encode(rng.randbytes(n * 3 // 4 + 3)).decode()[:n]


class Client:
    """A connection in any number of rooms. v2: one streaming decoder per room, started
    afresh at each keyframe; any frame it cannot decode is an error. Checks that message
    seqs have no holes the server did not announce, per room (seqs it already has are
    dropped, as the protocol asks)."""

    def __init__(self, ws, hello, proto, reading=True):
        self.ws, self.hello, self.proto = ws, hello, proto
        self.next = {hello["room"]: hello["seq"] + 1}
        self.start = hello["seq"]
        self.batches = {}   # (room, batch seq) -> decoded JSON text
        self.msgs = {}      # room -> msgs received in order (duplicates dropped)
        self.gaps = {}      # room -> gap notices
        self.decoders = {}  # room -> zstd decompressobj since the room's last keyframe
        self.keyframes = 0
        self.errors = []
        self.task = asyncio.ensure_future(self._read()) if reading else None

    def start_reading(self):
        self.task = asyncio.ensure_future(self._read())

    async def _read(self):
        try:
            async for frame in self.ws:
                self.handle(frame)
        except websockets.ConnectionClosed:
            pass

    def decode_v2(self, frame):
        flags, n = frame[0], frame[1]
        room = frame[2:2 + n].decode()
        if flags & ~KEYFRAME:
            self.errors.append("reserved flag bits set: %#x" % flags)
        if flags & KEYFRAME:
            self.decoders[room] = zstandard.ZstdDecompressor().decompressobj()
            self.keyframes += 1
        dec = self.decoders.get(room)
        if dec is None:
            self.errors.append("%s: a frame before any keyframe" % room)
            return None
        try:
            text = dec.decompress(frame[2 + n:])
        except zstandard.ZstdError as e:
            self.errors.append("%s: undecodable: %s" % (room, e))
            del self.decoders[room]
            return None
        doc = json.loads(text)
        if doc.get("room") != room:
            self.errors.append("header room %s, batch room %s" % (room, doc.get("room")))
        return text

    def handle(self, frame):
        if isinstance(frame, bytes):
            if self.proto == V2:
                text = self.decode_v2(frame)
                if text is None:
                    return
            else:
                text = zstandard.ZstdDecompressor().decompress(frame)
            doc = json.loads(text)
            self.batches[(doc["room"], doc["seq"])] = text
        else:
            doc = json.loads(frame)
        room = doc.get("room")
        t = doc["t"]
        if t == "gap":
            if doc["from"] != self.next.get(room):
                self.errors.append("%s: gap from %d, expected %s" % (room, doc["from"],
                                                                      self.next.get(room)))
            self.gaps.setdefault(room, []).append(doc)
            self.next[room] = doc["to"] + 1
        elif t == "joined":
            self.next.setdefault(room, doc["seq"] + 1)
        elif t == "batch":
            for m in doc["msgs"]:
                nxt = self.next.get(room)
                if nxt is None:
                    self.errors.append("%s: a batch before joined" % room)
                    continue
                if m["seq"] < nxt:
                    continue  # a v2 start at a keyframe: seqs the client has
                if m["seq"] != nxt:
                    self.errors.append("%s: seq %d, expected %d" % (room, m["seq"], nxt))
                self.next[room] = m["seq"] + 1
                self.msgs.setdefault(room, []).append(m)

    async def until(self, cond, timeout=30):
        async def wait():
            while not cond():
                await asyncio.sleep(0.01)
        await asyncio.wait_for(wait(), timeout)

    async def close(self):
        await self.ws.close()
        await self.task


def same_batches(c, reference):
    """Checks that every batch `c` decoded that `reference` (a v1 client) also got is the
    same JSON; returns how many were compared."""
    common = [key for key in c.batches if key in reference.batches]
    for key in common:
        assert c.batches[key] == reference.batches[key], key
    return len(common)


async def connect(url, proto, query="", reading=True, **kw):
    ws = await websockets.connect(url + query, subprotocols=[proto], max_size=None,
                                  open_timeout=10, compression=None, **kw)
    assert ws.subprotocol == proto, ws.subprotocol
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["t"] == "hello", hello
    return Client(ws, hello, proto, reading)


class V2ZstdTest(unittest.TestCase):
    def run_gw(self, coro_fn, *args):
        gw = gateway(*args)
        try:
            asyncio.run(asyncio.wait_for(coro_fn(gw), 120))
            # The batches of rooms with v2 members went into the room stream (the 1024-byte
            # spacing made keyframes); those from before were framed alone, each a
            # keyframe. The last v2 member left less than --zstd-keyframe-ms ago.
            self.assertGreater(metric(gw, "tidegate_v2_compressed_bytes_total"), 0)
            self.assertGreater(metric(gw, "tidegate_v2_keyframes_total")
                               + metric(gw, "tidegate_v2_framed_alone_total"), 1)
            self.assertGreaterEqual(metric(gw, "tidegate_v2_streams"), 1)
        finally:
            self.assertEqual(gw.stop(), 0)

    def test_hello_names_v2_and_batches_decode_to_the_v1_json(self):
        self.run_gw(self._live, "--workers", "2")

    async def _live(self, gw):
        v1 = await connect(gw.url, V1)
        v2s = [await connect(gw.url, V2) for _ in range(3)]
        self.assertEqual(v2s[0].hello["proto"], "v2.zstd")
        rng = random.Random(1)
        count = 300
        texts = lambda c: len([m for m in c.msgs.get("lobby", []) if m["t"] == "msg"])  # noqa: E731
        # In ten bursts, each delivered before the next: at least ten batches (a loaded
        # machine could otherwise flush all 300 in one batch, one keyframe).
        for k in range(count):
            await v1.ws.send("message %d %s" % (k, noise(rng, rng.randint(10, 300))))
            if k % 30 == 29:
                await v1.until(lambda k=k: texts(v1) > k)
        for c in [v1] + v2s:
            await c.until(lambda c=c: texts(c) >= count)
        for c in v2s:
            self.assertEqual(c.errors, [])
            self.assertEqual(c.gaps, {})
            self.assertGreater(c.keyframes, 1)  # 1024-byte keyframes: several
            self.assertEqual(same_batches(c, v1), len(c.batches))
        for c in [v1] + v2s:
            await c.close()

    def test_joins_mid_stream_and_several_rooms_decode(self):
        self.run_gw(self._joins, "--workers", "2")

    async def _joins(self, gw):
        sender = await connect(gw.url, V1)
        await sender.ws.send(json.dumps({"t": "join", "room": "other"}))
        await sender.ws.send(json.dumps({"t": "join", "room": "lobby"}))
        rng = random.Random(2)
        joiners = []
        for k in range(400):
            room = "lobby" if k % 3 else "other"
            await sender.ws.send(json.dumps({"t": "msg", "room": room,
                                             "text": "m%d %s" % (k, noise(rng, 60))}))
            if k % 37 == 5:  # joiners land between keyframes
                c = await connect(gw.url, V2)
                await c.ws.send(json.dumps({"t": "join", "room": "other"}))
                joiners.append(c)
        await sender.until(lambda: len(sender.msgs.get("lobby", [])) >= 266)
        last = {room: sender.msgs[room][-1]["seq"] for room in ("lobby", "other")}
        for c in joiners:
            for room in ("lobby", "other"):
                await c.until(lambda c=c, room=room: c.next.get(room, 0) > last[room])
            self.assertEqual(c.errors, [])
            self.assertEqual(c.gaps, {})
            self.assertGreater(same_batches(c, sender), 0)
        for c in [sender] + joiners:
            await c.close()

    def test_resumes_start_at_a_keyframe_and_miss_nothing(self):
        self.run_gw(self._resumes)

    async def _resumes(self, gw):
        sender = await connect(gw.url, V1)
        rng = random.Random(3)
        for k in range(200):
            await sender.ws.send("r%d %s" % (k, noise(rng, 80)))
        await sender.until(lambda: len(sender.msgs.get("lobby", [])) >= 200)
        seqs = [m["seq"] for m in sender.msgs["lobby"]]
        last = seqs[-1]
        for since in (seqs[0] - 1, seqs[17], seqs[100], seqs[150], seqs[199], 0):
            c = await connect(gw.url, V2, "?since=%d&epoch=%d" % (since, sender.hello["epoch"]))
            await c.until(lambda c=c: c.next["lobby"] > last)
            self.assertEqual(c.errors, [], since)
            self.assertEqual(c.gaps, {}, since)
            got = [m["seq"] for m in c.msgs.get("lobby", []) if m["seq"] <= last]
            start = c.hello["seq"]
            self.assertEqual(got, [s for s in seqs if s > start], since)
            await c.close()
        await sender.close()

    def test_a_room_without_v2_members_has_no_stream_and_v2_joiners_miss_nothing(self):
        self.run_gw(self._v1_only_room, "--workers", "2")

    async def _v1_only_room(self, gw):
        sender = await connect(gw.url, V1, "?room=plain")
        reader = await connect(gw.url, V1, "?room=plain")
        rng = random.Random(5)
        for k in range(60):
            await sender.ws.send("p%d %s" % (k, noise(rng, 120)))
        await reader.until(lambda: len(reader.msgs.get("plain", [])) >= 60)
        # No v2 client ever: no stream, nothing compressed into one.
        self.assertEqual(metric(gw, "tidegate_v2_streams"), 0)
        self.assertEqual(metric(gw, "tidegate_v2_compressed_bytes_total"), 0)
        first = reader.msgs["plain"][0]["seq"]

        # v2 clients join live while messages flow: batches built before the gateway
        # knew of them reach them framed alone; none waits for a keyframe with a gap.
        stop = asyncio.Event()

        async def chatter():
            k = 0
            while not stop.is_set():
                await sender.ws.send("q%d %s" % (k, noise(rng, 120)))
                k += 1
                await asyncio.sleep(0.002)
        task = asyncio.ensure_future(chatter())
        joiners = []
        for k in range(6):
            if k % 2:
                c = await connect(gw.url, V2)  # lobby first, then a join of "plain"
                await c.ws.send(json.dumps({"t": "join", "room": "plain"}))
            else:
                c = await connect(gw.url, V2, "?room=plain")
            joiners.append(c)
            await asyncio.sleep(0.03)
        # One resumes from the room's start: its history was built without a stream.
        resumer = await connect(gw.url, V2, "?room=plain&since=%d&epoch=%d" % (
            first - 1, reader.hello["epoch"]))
        await asyncio.sleep(0.1)
        stop.set()
        await task
        await sender.ws.send("last")
        await reader.until(lambda: any(m.get("text") == "last" for m in reader.msgs["plain"]))
        last = reader.msgs["plain"][-1]["seq"]
        for c in joiners + [resumer]:
            await c.until(lambda c=c: c.next.get("plain", 0) > last)
            self.assertEqual(c.errors, [])
            self.assertEqual(c.gaps, {})
            self.assertEqual(same_batches(c, reader), len([k for k in c.batches
                                                           if k[0] == "plain"]))
        got = [m["seq"] for m in resumer.msgs["plain"] if m["seq"] <= last]
        self.assertEqual(got, [m["seq"] for m in reader.msgs["plain"] if m["seq"] <= last])
        self.assertGreater(metric(gw, "tidegate_v2_framed_alone_total"), 0)
        self.assertGreaterEqual(metric(gw, "tidegate_v2_streams"), 1)
        for c in [sender, reader, resumer] + joiners:
            await c.close()

    def test_slow_reader_and_a_trimmed_log_get_a_gap_then_decodable_bytes(self):
        self.run_gw(self._slow, "--workers", "2", "--history-bytes", "32768",
                    "--client-inflight", "4096", "--socket-sndbuf", "4096")

    async def _slow(self, gw):
        # websockets stops reading the socket once max_queue messages wait unread.
        slow = await connect(gw.url, V2, reading=False, max_queue=1, read_limit=4096)
        sender = await connect(gw.url, V1)
        rng = random.Random(4)
        count = 1500
        for k in range(count):
            await sender.ws.send("s%d %s" % (k, noise(rng, 200)))
            if k % 20 == 19:
                await sender.until(lambda k=k: len(sender.msgs.get("lobby", [])) >= k + 1)
        await sender.until(lambda: len(sender.msgs.get("lobby", [])) >= count)
        last = sender.msgs["lobby"][-1]["seq"]
        slow.start_reading()
        # One more v2 client resumes from before what the small log still holds.
        resumer = await connect(gw.url, V2, "?since=%d&epoch=%d" % (
            sender.msgs["lobby"][0]["seq"], sender.hello["epoch"]))
        for c in (slow, resumer):
            await c.until(lambda c=c: c.next["lobby"] > last)
            self.assertEqual(c.errors, [])
            self.assertGreaterEqual(len(c.gaps.get("lobby", [])), 1,
                                    (c is slow, c.start, len(c.msgs["lobby"]), c.keyframes))
            received = len([m for m in c.msgs["lobby"] if m["seq"] <= last])
            lost = sum(min(g["to"], last) - g["from"] + 1 for g in c.gaps["lobby"]
                       if g["from"] <= last)
            self.assertEqual(received + lost, last - c.start)
            for key, text in c.batches.items():
                if key in sender.batches:  # the first batches were before the sender's join
                    self.assertEqual(text, sender.batches[key])
        for c in (slow, resumer, sender):
            await c.close()


class V2ZstdClusterTest(unittest.TestCase):
    """Cluster mode: each node feeds the room's stream from the log's order (its own
    appends and the other node's batches, decompressed once per node)."""

    def test_two_nodes_v2_clients_decode_every_batch_and_resume_across_nodes(self):
        from test_cluster import cluster  # noqa: E402 (needs redis-server)
        with cluster() as c:
            a = c.node("--zstd-keyframe-bytes", "1024", workers=2)
            b = c.node("--zstd-keyframe-bytes", "1024")
            asyncio.run(asyncio.wait_for(self._two_nodes(a, b), 120))
            self.assertEqual(c.stop_nodes(), {"node0": 0, "node1": 0})

    async def _two_nodes(self, a, b):
        send_a = await connect(a.url, V1)
        send_b = await connect(b.url, V1)
        v2s = [await connect(a.url, V2), await connect(b.url, V2), await connect(b.url, V2)]
        rng = random.Random(6)
        for k in range(200):
            sender = send_a if k % 2 else send_b
            await sender.ws.send("c%d %s" % (k, noise(rng, 100)))
            if k % 25 == 24:
                await send_a.until(lambda k=k: len(send_a.msgs.get("lobby", [])) >= k)
        await send_a.until(
            lambda: len([m for m in send_a.msgs.get("lobby", []) if m["t"] == "msg"]) >= 200)
        last = send_a.msgs["lobby"][-1]["seq"]
        for cl in [send_a, send_b] + v2s:
            await cl.until(lambda cl=cl: cl.next["lobby"] > last)
        for cl in v2s:
            self.assertEqual(cl.errors, [])
            self.assertEqual(cl.gaps, {})
            for key, text in cl.batches.items():
                if key in send_a.batches:
                    self.assertEqual(text, send_a.batches[key])
        # A v2 client of node a resumes on node b with a's epoch.
        since = send_a.msgs["lobby"][50]["seq"]
        r = await connect(b.url, V2, "?since=%d&epoch=%d" % (since, send_a.hello["epoch"]))
        await r.until(lambda: r.next["lobby"] > last)
        self.assertEqual(r.errors, [])
        received = len([m for m in r.msgs["lobby"] if m["seq"] <= last])
        lost = sum(min(g["to"], last) - g["from"] + 1 for g in r.gaps.get("lobby", []))
        self.assertEqual(received + lost, last - since)
        for cl in [send_a, send_b, r] + v2s:
            await cl.close()


if __name__ == "__main__":
    unittest.main()
