"""The gateway's guarantees, checked with a WebSocket client nobody here wrote.

Runs Debian's python3-websockets and python3-zstandard against the real binary
(TIDEGATE_BIN) on 127.0.0.1, port 0. Run with /usr/bin/python3.
"""
import asyncio
import json
import os
import random
import signal
import string
import sys
import time
import unittest

import websockets
import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
ZSTD = "tidegate.v1.zstd"
JSON = "tidegate.v1.json"


def gateway(*args):
    """The real binary on an ephemeral loopback port; stop() after send_signal() sends no
    second signal (a second SIGTERM during shutdown would be a different test)."""
    return GatewayProcess(BIN, ["--log-level", "warn", "--metrics-listen", "127.0.0.1:0", *args])


class Reader:
    """Collects a connection's batches and checks seqs have no unannounced holes."""

    def __init__(self, ws, hello):
        self.ws = ws
        self.start = hello["seq"]
        self.next = hello["seq"] + 1
        self.events, self.gaps, self.notices, self.errors = [], [], [], []
        self.dctx = zstandard.ZstdDecompressor()

    def msgs(self):
        return [e for e in self.events if e["t"] == "msg"]

    def handle(self, frame):
        if isinstance(frame, bytes):
            if self.ws.subprotocol != ZSTD:
                self.errors.append("binary frame on json")
            frame = self.dctx.decompress(frame)
        doc = json.loads(frame)
        if doc["t"] == "gap":
            if doc["from"] != self.next:
                self.errors.append("gap from %d, expected %d" % (doc["from"], self.next))
            self.gaps.append(doc)
            self.next = doc["to"] + 1
        elif doc["t"] == "batch":
            for e in doc["msgs"]:
                if e["seq"] < self.next:
                    continue
                if e["seq"] > self.next:
                    self.errors.append("hole: expected %d got %d" % (self.next, e["seq"]))
                self.next = e["seq"] + 1
                self.events.append(e)
        else:
            self.notices.append(doc)

    async def until(self, pred, timeout=60):
        async def loop():
            while not pred():
                self.handle(await self.ws.recv())
        await asyncio.wait_for(loop(), timeout)


async def connect(url, proto, **kw):
    # websockets stops reading the socket once max_queue messages sit unread; only the
    # test's deliberately slow client keeps that limit, the others queue without bound
    # (otherwise leave events of earlier closers stall a later client's close).
    kw.setdefault("max_queue", None)
    ws = await websockets.connect(url, subprotocols=[proto] if proto else None,
                                  max_size=None, **kw)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["t"] == "hello", hello
    return Reader(ws, hello)


def noise(rng, n):
    return "".join(rng.choice(string.ascii_letters) for _ in range(n))


class PythonClients(unittest.TestCase):
    def test_fifty_clients_ten_senders_every_message_once_in_one_order(self):
        gw = gateway("--workers", "2", "--rate-limit", "0")  # senders blast
        try:
            asyncio.run(self._fifty(gw))
        finally:
            self.assertEqual(gw.stop(), 0)

    async def _fifty(self, gw):
        senders, per_sender = 10, 200
        total = senders * per_sender
        readers = [await connect(gw.url, ZSTD if i % 2 else JSON) for i in range(50)]
        self.assertEqual(readers[0].ws.subprotocol, JSON)
        self.assertEqual(readers[1].ws.subprotocol, ZSTD)

        async def send_all(i):
            for k in range(per_sender):
                cid = "s%d-%d" % (i, k)
                await readers[i].ws.send(json.dumps({"t": "msg", "text": "hi " + cid, "cid": cid}))

        start = time.monotonic()
        await asyncio.gather(*(send_all(i) for i in range(senders)),
                             *(r.until(lambda r=r: len(r.msgs()) >= total) for r in readers))
        took = time.monotonic() - start
        print("python clients: %d x %d deliveries in %.2f s" % (total, len(readers), took))

        order = [(m["seq"], m["cid"]) for m in readers[0].msgs()]
        for i, r in enumerate(readers):
            self.assertEqual(r.errors, [], "client %d" % i)
            self.assertEqual(r.gaps, [])
            got = [(m["seq"], m["cid"]) for m in r.msgs()]
            self.assertEqual(len(got), total)
            self.assertEqual(len({cid for _, cid in got}), total, "duplicates at %d" % i)
            self.assertEqual(got, order, "client %d saw another order" % i)
            for s in range(senders):
                mine = [int(c.split("-")[1]) for _, c in got if c.startswith("s%d-" % s)]
                self.assertEqual(mine, list(range(per_sender)))
        for r in readers:
            await r.ws.close()

    def test_stalled_reader_gets_a_gap_while_others_get_everything(self):
        gw = gateway("--workers", "2", "--rate-limit", "0", "--history-bytes", "65536",
                     "--client-inflight", "4096",
                     "--socket-sndbuf", "4096")
        try:
            asyncio.run(self._stalled(gw))
        finally:
            self.assertEqual(gw.stop(), 0)

    async def _stalled(self, gw):
        # websockets stops reading the socket once max_queue messages wait unread.
        slow = await connect(gw.url, JSON, max_queue=1, read_limit=4096)
        readers = [await connect(gw.url, ZSTD) for _ in range(4)]
        sender = readers[0]
        rng = random.Random(5)
        count = 1500
        for k in range(count):
            await sender.ws.send(noise(rng, 200))
            if k % 20 == 19:  # keep the well-behaved readers within 20 messages
                await asyncio.gather(*(r.until(lambda r=r: len(r.msgs()) >= k + 1)
                                       for r in readers))
        await asyncio.gather(*(r.until(lambda r=r: len(r.msgs()) >= count) for r in readers))
        last = readers[0].events[-1]["seq"]
        for r in readers:
            self.assertEqual(r.errors, [])
            self.assertEqual(r.gaps, [])
        await slow.until(lambda: slow.next > last, timeout=30)
        self.assertEqual(slow.errors, [])
        self.assertGreaterEqual(len(slow.gaps), 1)
        # Every seq after hello up to `last` was received or announced lost.
        received = len([e for e in slow.events if e["seq"] <= last])
        lost = sum(min(g["to"], last) - g["from"] + 1 for g in slow.gaps if g["from"] <= last)
        self.assertEqual(received + lost, last - slow.start)
        self.assertGreater(lost, 0)
        for r in readers + [slow]:
            await r.ws.close()

    def test_sigterm_closes_every_client_with_1001_and_exits_0(self):
        gw = gateway("--workers", "2")
        try:
            code = asyncio.run(self._sigterm(gw))
        finally:
            status = gw.stop()
        self.assertEqual(code, [1001] * 10)
        self.assertEqual(status, 0)

    async def _sigterm(self, gw):
        clients = [await connect(gw.url, ZSTD if i % 2 else JSON) for i in range(10)]
        gw.send_signal(signal.SIGTERM)
        codes = []
        for c in clients:
            try:
                while True:
                    c.handle(await asyncio.wait_for(c.ws.recv(), 15))
            except websockets.ConnectionClosed as e:
                codes.append(e.code)
        return codes

    def test_a_full_server_answers_503_and_a_place_frees_up(self):
        gw = gateway("--workers", "2", "--max-connections", "2")
        try:
            statuses, retry_after, got_in = asyncio.run(self._full(gw))
        finally:
            gw.stop()
        self.assertEqual(statuses, [503, 503])
        self.assertEqual(retry_after, "10")
        self.assertTrue(got_in, "no client got in after one left")

    async def _full(self, gw):
        inside = [await connect(gw.url, ZSTD), await connect(gw.url, JSON)]
        statuses, retry_after = [], None
        for _ in range(2):
            try:
                ws = await websockets.connect(gw.url, subprotocols=[JSON])
                await ws.close()
                statuses.append(101)
            except websockets.InvalidStatusCode as e:  # websockets 10: the legacy client
                statuses.append(e.status_code)
                retry_after = e.headers.get("Retry-After")
        await inside[0].ws.close()
        late = None
        for _ in range(100):  # the gateway sees the close a moment later
            try:
                late = await connect(gw.url, ZSTD)
                break
            except websockets.InvalidStatusCode:
                await asyncio.sleep(0.05)
        for r in inside[1:] + ([late] if late else []):
            await r.ws.close()
        return statuses, retry_after, late is not None  # connect() checked its hello


if __name__ == "__main__":
    unittest.main()
