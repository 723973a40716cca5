"""Room history stays bounded whatever clients do: the global budget, room expiry, the
room limit, and what a resuming client is told, against the real binary.

Runs Debian's python3-websockets against TIDEGATE_BIN on 127.0.0.1, port 0, with its
Prometheus metrics on another free loopback port. Run with /usr/bin/python3.
Also imported by test_history_memory.py (the same hostile clients, plus the process's
RSS), which runs without sanitizers only.
"""
import asyncio
import base64
import json
import os
import random
import sys
import threading
import time
import unittest
import urllib.request

import websockets
import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
ZSTD = "tidegate.v1.zstd"
JSON = "tidegate.v1.json"

# The hostile clients, at small scale: each joins new rooms one after the other and
# sends a few large, poorly compressible messages in each, then leaves.
HOSTILE_BUDGET = 2000000
HOSTILE_TTL_S = 2
HOSTILE_CLIENTS = 10
HOSTILE_ROOMS = 10
HOSTILE_MSGS = 4
HOSTILE_BYTES = 40000


def gateway(*args):
    return GatewayProcess(BIN, ["--log-level", "warn", "--metrics-listen", "127.0.0.1:0",
                                "--rate-limit", "0", *args], metrics=True)


def http_get(port, path, timeout=5):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.read().decode()


def scrape(gw):
    """The metrics as {(name, labels): value}, labels a sorted tuple of (key, value)."""
    out = {}
    for line in http_get(gw.metrics_port, "/metrics").splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        labels = ()
        if "{" in head:
            name, rest = head.split("{", 1)
            pairs = [p for p in rest.rstrip("}").split(",") if p]
            labels = tuple(sorted((k, v.strip('"')) for k, v in (p.split("=", 1) for p in pairs)))
        else:
            name = head
        out[(name, labels)] = float(value)
    return out


def metric(values, name, **labels):
    """The sum of `name` over the series whose labels include `labels` (the per-worker
    families are summed over workers)."""
    want = set(labels.items())
    found = [v for (n, ls), v in values.items() if n == name and want <= set(ls)]
    if not found:
        raise AssertionError("no metric %s%s" % (name, labels or ""))
    return sum(found)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def noise(rng, n):
    """`n` characters that compress poorly (base64 of random bytes: 6 bits a character)."""
    return base64.b64encode(rng.randbytes(n * 3 // 4 + 3)).decode()[:n]


class Client:
    """One connection in any number of rooms; checks that message seqs have no holes the
    server did not announce, per room."""

    def __init__(self, ws, hello):
        self.ws = ws
        self.hello = hello
        self.name = hello["name"]
        self.next = {hello["room"]: hello["seq"] + 1}
        self.events = {}  # room -> events received
        self.gaps = {}    # room -> gap notices
        self.notices, self.errors = [], []
        self.dctx = zstandard.ZstdDecompressor()

    def handle(self, frame):
        if isinstance(frame, bytes):
            frame = self.dctx.decompress(frame)
        doc = json.loads(frame)
        room = doc.get("room")
        if doc["t"] == "gap":
            if doc["from"] != self.next.get(room):
                self.errors.append("%s: gap from %d, expected %s" % (room, doc["from"],
                                                                      self.next.get(room)))
            self.gaps.setdefault(room, []).append(doc)
            self.next[room] = doc["to"] + 1
        elif doc["t"] == "batch":
            for e in doc["msgs"]:
                nxt = self.next.get(room)
                if nxt is None:
                    self.errors.append("%s: a batch before joined" % room)
                    nxt = e["seq"]
                if e["seq"] < nxt:
                    continue
                if e["seq"] > nxt:
                    self.errors.append("%s: hole: expected %d got %d" % (room, nxt, e["seq"]))
                self.next[room] = e["seq"] + 1
                self.events.setdefault(room, []).append(e)
        else:
            if doc["t"] == "joined":
                self.next[room] = doc["seq"] + 1
            self.notices.append(doc)

    def msgs(self, room, mine=False):
        return [e for e in self.events.get(room, [])
                if e["t"] == "msg" and (not mine or e["from"] == self.name)]

    async def until(self, pred, timeout=30):
        async def loop():
            while not pred():
                self.handle(await self.ws.recv())
        await asyncio.wait_for(loop(), timeout)

    async def send(self, doc):
        await self.ws.send(json.dumps(doc))


async def connect(url, proto=ZSTD, **kw):
    kw.setdefault("max_queue", None)
    ws = await websockets.connect(url, subprotocols=[proto], max_size=None, open_timeout=10, **kw)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["t"] == "hello", hello
    return Client(ws, hello)


class Scraper:
    """Scrapes the metrics every 50 ms on a thread until stopped; keeps the largest
    tidegate_history_bytes seen and the number of scrapes."""

    def __init__(self, gw):
        self.gw = gw
        self.max_history = 0
        self.scrapes = 0
        self.error = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            while not self.stopping.is_set():
                v = scrape(self.gw)
                self.max_history = max(self.max_history, metric(v, "tidegate_history_bytes"))
                self.scrapes += 1
                self.stopping.wait(0.05)
        except Exception as e:  # reported by the test
            self.error = e

    def stop(self):
        self.stopping.set()
        self.thread.join(10)


def wait_for_metric(gw, name, pred, timeout=30):
    """Polls until pred(value of `name`) holds; returns the last scrape."""
    return wait_for(gw, lambda v: pred(metric(v, name)), timeout)


def wait_for(gw, pred, timeout=30):
    """Polls until pred(scrape) holds, or `timeout` s passed; returns the last scrape."""
    deadline = time.monotonic() + timeout
    while True:
        v = scrape(gw)
        if pred(v) or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


async def hostile_client(url, i, rng):
    """Joins HOSTILE_ROOMS new rooms one after the other, sends HOSTILE_MSGS messages of
    HOSTILE_BYTES in each, waits until they came back (or were announced lost), leaves."""
    rooms = ["h%d-%d" % (i, k) for k in range(HOSTILE_ROOMS)]
    c = await connect("%s?room=%s" % (url, rooms[0]))
    for k, room in enumerate(rooms):
        if k > 0:
            await c.send({"t": "join", "room": room})
        for _ in range(HOSTILE_MSGS):
            await c.send({"t": "msg", "room": room, "text": noise(rng, HOSTILE_BYTES)})
        await c.until(lambda: len(c.msgs(room, True)) >= HOSTILE_MSGS or room in c.gaps)
        await c.send({"t": "leave", "room": room})
    await c.ws.close()
    return c


def run_hostile(test, gw):
    """The hostile clients against `gw`; checks the budget throughout and that every room
    is forgotten after the TTL. Returns the last scrape."""
    budget = metric(scrape(gw), "tidegate_history_budget_bytes")
    test.assertEqual(budget, HOSTILE_BUDGET)
    scraper = Scraper(gw)

    async def main():
        return await asyncio.gather(*(hostile_client(gw.url, i, random.Random(i))
                                      for i in range(HOSTILE_CLIENTS)))
    try:
        clients = asyncio.run(main())
        # The scraper goes on while the rooms wait out their TTL (full logs), until they
        # are gone. The gauges are published one after the other: wait for both.
        v = wait_for(gw, lambda v: metric(v, "tidegate_rooms") == 0 and
                     metric(v, "tidegate_history_bytes") == 0, timeout=HOSTILE_TTL_S * 10)
    finally:
        scraper.stop()
    test.assertIsNone(scraper.error)
    test.assertGreater(scraper.scrapes, 10)
    for c in clients:
        test.assertEqual(c.errors, [])
    print("history: largest tidegate_history_bytes seen %d of %d, %d scrapes"
          % (scraper.max_history, budget, scraper.scrapes))
    test.assertLessEqual(scraper.max_history, budget)
    test.assertGreater(scraper.max_history, 0)

    rooms = HOSTILE_CLIENTS * HOSTILE_ROOMS
    test.assertEqual(metric(v, "tidegate_rooms"), 0)
    test.assertEqual(metric(v, "tidegate_rooms_expired_total"), rooms)
    test.assertEqual(metric(v, "tidegate_history_bytes"), 0)
    # The budget was what kept it bounded, not the rooms' own --history-bytes.
    test.assertGreater(metric(v, "tidegate_history_evicted_batches_total"), 0)
    test.assertGreater(metric(v, "tidegate_history_evicted_bytes_total"), 0)
    stats = json.loads(http_get(gw.port, "/stats"))
    test.assertEqual(stats["rooms"], 0)
    test.assertEqual(stats["history_bytes"], 0)
    test.assertEqual(stats["clients"], 0)
    return v


def hostile_gateway():
    return gateway("--workers", "2", "--history-total-bytes", str(HOSTILE_BUDGET),
                   "--room-ttl-s", str(HOSTILE_TTL_S))


class History(unittest.TestCase):
    def test_hostile_clients_stay_within_the_budget_and_their_rooms_expire(self):
        gw = hostile_gateway()
        try:
            run_hostile(self, gw)
        finally:
            self.assertEqual(gw.stop(), 0)

    def test_resume_into_an_evicted_range_gets_the_exact_gap(self):
        # One room; its oldest batches leave for the total budget (the room's own bound,
        # 64 MiB by default, is far away).
        gw = gateway("--workers", "2", "--history-total-bytes", "200000")
        try:
            asyncio.run(self._evicted(gw))
            v = scrape(gw)
            self.assertGreater(metric(v, "tidegate_history_evicted_batches_total"), 0)
        finally:
            self.assertEqual(gw.stop(), 0)

    async def _evicted(self, gw):
        rng = random.Random(1)
        sender = await connect(gw.url + "?room=ev")
        for k in range(30):  # one at a time: a batch each, about 15 KB
            await sender.send({"t": "msg", "text": noise(rng, 8000)})
            await sender.until(lambda: len(sender.msgs("ev")) >= k + 1)
        self.assertEqual(sender.gaps, {})
        first = sender.msgs("ev")[0]["seq"]
        last = sender.msgs("ev")[-1]["seq"]

        late = await connect("%s?room=ev&since=%d&epoch=%d"
                             % (gw.url, first, sender.hello["epoch"]), JSON)
        self.assertEqual(late.hello["seq"], first)
        await late.until(lambda: late.next["ev"] > last)
        self.assertEqual(late.errors, [])
        gaps = late.gaps.get("ev", [])
        self.assertEqual(len(gaps), 1, gaps)
        self.assertEqual(gaps[0]["from"], first + 1)
        received = [e["seq"] for e in late.events["ev"]]
        self.assertGreater(gaps[0]["to"], first + 1)
        self.assertEqual(received[0], gaps[0]["to"] + 1)  # the first seq the log held
        self.assertEqual(received, list(range(received[0], received[0] + len(received))))
        self.assertIn(last, received)
        for c in (sender, late):
            await c.ws.close()

    def test_resume_into_an_expired_room_gets_a_gap_and_never_a_reused_seq(self):
        gw = gateway("--workers", "2", "--room-ttl-s", "1")
        try:
            asyncio.run(self._expired(gw))
        finally:
            self.assertEqual(gw.stop(), 0)

    async def _expired(self, gw):
        first = await connect(gw.url + "?room=gone")
        for k in range(3):
            await first.send({"t": "msg", "text": "before %d" % k})
        await first.until(lambda: len(first.msgs("gone")) >= 3)
        last = first.msgs("gone")[-1]["seq"]
        epoch = first.hello["epoch"]
        await first.ws.close()
        # Another room goes on talking: seqs are issued above `last` meanwhile.
        other = await connect(gw.url + "?room=stays")
        for k in range(5):
            await other.send({"t": "msg", "text": "meanwhile %d" % k})
        await other.until(lambda: len(other.msgs("stays")) >= 5)
        v = wait_for_metric(gw, "tidegate_rooms_expired_total", lambda n: n >= 1, timeout=20)
        self.assertEqual(metric(v, "tidegate_rooms_expired_total"), 1)
        self.assertEqual(metric(v, "tidegate_rooms"), 1)  # "stays" has a member

        back = await connect("%s?room=gone&since=%d&epoch=%d" % (gw.url, last, epoch))
        self.assertEqual(back.hello["seq"], last)
        await back.send({"t": "msg", "text": "after"})
        await back.until(lambda: len(back.msgs("gone")) >= 1)
        self.assertEqual(back.errors, [])
        gaps = back.gaps.get("gone", [])
        self.assertEqual(len(gaps), 1, gaps)
        self.assertEqual(gaps[0]["from"], last + 1)
        seqs = [e["seq"] for e in back.events["gone"]]
        self.assertEqual(seqs[0], gaps[0]["to"] + 1)  # the new life's first seq
        self.assertGreater(seqs[0], other.msgs("stays")[-1]["seq"])  # above every seq issued
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
        self.assertEqual(back.msgs("gone")[-1]["text"], "after")
        # A client that saw nothing (since=0) is owed nothing from before this life.
        fresh = await connect(gw.url + "?room=gone&since=0")
        self.assertEqual(fresh.hello["seq"], seqs[0] - 1)
        await fresh.until(lambda: len(fresh.msgs("gone")) >= 1)
        self.assertEqual(fresh.errors, [])
        self.assertEqual(fresh.gaps, {})
        self.assertEqual(fresh.events["gone"][0]["seq"], seqs[0])
        for c in (other, back, fresh):
            await c.ws.close()

    def test_over_max_rooms_a_new_room_is_refused_and_an_existing_one_is_not(self):
        gw = gateway("--workers", "2", "--max-rooms", "2")
        try:
            asyncio.run(self._max_rooms(gw))
            v = scrape(gw)
            self.assertEqual(metric(v, "tidegate_rooms_refused_total", reason="max_rooms"), 2)
            self.assertEqual(metric(v, "tidegate_rooms"), 2)
        finally:
            self.assertEqual(gw.stop(), 0)

    async def _max_rooms(self, gw):
        a = await connect(gw.url + "?room=one")
        await a.send({"t": "join", "room": "two"})
        await a.send({"t": "join", "room": "three"})
        await a.until(lambda: any(n["t"] == "error" for n in a.notices))
        errors = [n for n in a.notices if n["t"] == "error"]
        self.assertEqual(errors[0]["code"], "too_many_rooms")
        self.assertIn("--max-rooms", errors[0]["reason"])
        self.assertIn("server", errors[0]["reason"])
        self.assertEqual([n["room"] for n in a.notices if n["t"] == "joined"], ["two"])

        status, retry_after = None, None
        try:
            ws = await websockets.connect(gw.url + "?room=three", subprotocols=[JSON])
            await ws.close()
            status = 101
        except websockets.InvalidStatusCode as e:
            status, retry_after = e.status_code, e.headers.get("Retry-After")
        self.assertEqual(status, 503)
        self.assertEqual(retry_after, "10")

        b = await connect(gw.url + "?room=two", JSON)  # an existing room: always
        await b.send({"t": "msg", "text": "still here"})
        await b.until(lambda: len(b.msgs("two")) >= 1)
        await a.until(lambda: len(a.msgs("two")) >= 1)
        for c in (a, b):
            await c.ws.close()


if __name__ == "__main__":
    unittest.main()
