"""Cluster mode (--redis): several gateways share each room through one Redis, against
the real binary and a real redis-server.

Every test starts its own redis-server (bots/redis_process.py, a temporary directory and
a free loopback port) and its own gateways (bots/gateway_process.py, --listen
127.0.0.1:0), and stops them all. Clients are Debian's python3-websockets, on both
sub-protocols (tidegate.v1.zstd batches are binary zstd frames, decoded with
python3-zstandard). Run with /usr/bin/python3; TIDEGATE_BIN names the binary.

What is checked: every client on every node gets every message of its rooms exactly
once, with consecutive seqs and in the same order as every other client; a client of a
SIGKILLed node resumes on another node with since+epoch and misses nothing; Redis down
(or not there at all) is answered (503 on /readyz and /ws, `unavailable` errors carrying
the message's cid) and nothing refused is delivered later, nor is a message whose append
got no answer left without one; Redis restarted with its AOF keeps the room's epoch and
seqs, without it a new epoch is announced with `joined`; a node started later serves
history it never saw live, from the Redis stream; and the backplane's metrics add up
across the nodes.

A redis-server missing is a failure, not a skip: the cluster tests did not run.
"""
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import websockets
import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402
from redis_process import RedisProcess, free_port  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
ZSTD = "tidegate.v1.zstd"
JSON = "tidegate.v1.json"
WAIT_S = 30  # the bound of every wait for deliveries (a failure, never a pass, if reached)


# -- processes -------------------------------------------------------------------------

class Cluster:
    """One redis-server and the gateways pointed at it, each gateway's log in a file of a
    temporary directory. close() stops the gateways (SIGTERM) and then Redis; if the test
    failed, the last lines of every gateway's log and of Redis's are printed first."""

    def __init__(self, appendonly=False, start_redis=True):
        if shutil.which("redis-server") is None:
            raise AssertionError(
                "redis-server is not installed (Debian's redis-server package, see "
                "scripts/setup.d/cluster.sh): the cluster tests cannot run without it")
        self.tmp = tempfile.TemporaryDirectory(prefix="tidegate-cluster-test-")
        # The port is chosen now, so that a gateway can be pointed at a Redis not started.
        self.redis = RedisProcess(dir=os.path.join(self.tmp.name, "redis"), port=free_port(),
                                  appendonly=appendonly)
        if start_redis:
            self.redis.start()
        self.nodes = []

    def node(self, *args, workers=1, metrics=False, name=None):
        """A gateway pointed at this Redis; waits until its /readyz answers 200 (its link
        to Redis is up) when Redis runs: until then it refuses upgrades with 503."""
        name = name or "node%d" % len(self.nodes)
        log = os.path.join(self.tmp.name, name + ".log")
        gw = GatewayProcess(
            BIN, ["--log-level", "info", "--workers", str(workers), "--rate-limit", "0",
                  "--redis", self.redis.url,
                  "--metrics-listen", "127.0.0.1:0" if metrics else "off", *args],
            metrics=metrics, log_path=log)
        gw.name = name
        self.nodes.append(gw)
        if self.redis.alive():
            wait_ready_sync(gw)
        return gw

    def log_lines(self, gw, pattern=None):
        with open(gw.log_path, errors="replace") as f:
            return [line.rstrip("\n") for line in f if pattern is None or pattern in line]

    def stop_nodes(self):
        """SIGTERM to every gateway still running; {name: exit status}."""
        return {gw.name: gw.stop() for gw in self.nodes}

    def close(self, failed):
        for gw in self.nodes:
            gw.stop()
        if failed:
            kept = tempfile.mkdtemp(prefix="tidegate-cluster-failed-")
            for gw in self.nodes:
                shutil.copy(gw.log_path, kept)
            with contextlib.suppress(OSError):
                shutil.copy(self.redis.log_path, kept)
            print("\n--- the logs are kept in %s" % kept, file=sys.stderr)
            for gw in self.nodes:
                lines = self.log_lines(gw)
                print("\n--- %s (%s), last %d of %d log lines:" % (
                    gw.name, gw.url, min(len(lines), 40), len(lines)), file=sys.stderr)
                for line in lines[-40:]:
                    print("    " + line, file=sys.stderr)
            try:
                with open(self.redis.log_path, errors="replace") as f:
                    lines = f.read().splitlines()[-10:]
                print("--- redis, last lines:\n    " + "\n    ".join(lines), file=sys.stderr)
            except OSError:
                pass
        self.redis.close()
        self.tmp.cleanup()


@contextlib.contextmanager
def cluster(**kw):
    c = Cluster(**kw)
    failed = True
    try:
        yield c
        failed = False
    finally:
        c.close(failed)


def meta(redis, room, field):
    value = redis.cmd("HGET", "tg:{%s}:meta" % room, field)
    return None if value is None else int(value)


def stream_batches(redis, room):
    """The room's Redis stream, every entry decoded: [(entry id, fields, batch JSON)]."""
    out = []
    dctx = zstandard.ZstdDecompressor()
    for entry_id, flat in redis.cmd("XRANGE", "tg:{%s}:log" % room, "-", "+"):
        fields = {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}
        doc = json.loads(dctx.decompress(fields["z"]))
        out.append((entry_id.decode(), fields, doc))
    return out


# -- HTTP ------------------------------------------------------------------------------

async def http_request(port, path, headers=(), timeout=5):
    """One raw HTTP/1.1 GET: (status, {lowercase header: value}, body). Reads the head and
    a Content-Length body, so a 101 (nothing after the head) does not hang it."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % port]
        lines += ["%s: %s" % h for h in headers]
        if not any(k.lower() == "connection" for k, _ in headers):
            lines.append("Connection: close")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        rows = head.decode(errors="replace").split("\r\n")
        status = int(rows[0].split()[1])
        hdrs = {}
        for row in rows[1:]:
            if ":" in row:
                k, v = row.split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
        body = b""
        if int(hdrs.get("content-length", "0")) > 0:
            body = await asyncio.wait_for(reader.readexactly(int(hdrs["content-length"])), timeout)
        return status, hdrs, body.decode(errors="replace")
    finally:
        writer.close()


async def ws_upgrade(port, room="lobby"):
    """A WebSocket upgrade request for /ws?room=ROOM: (status, headers, body)."""
    return await http_request(port, "/ws?room=" + room, [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")])


async def wait_readyz(gw, status, timeout=WAIT_S):
    """Polls /readyz every 50 ms until it answers `status`; returns (status, body)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while True:
        got, _, body = await http_request(gw.port, "/readyz")
        last = (got, body)
        if got == status:
            return last
        if loop.time() > deadline:
            raise AssertionError("%s: /readyz still answers %r after %g s (wanted %d)"
                                 % (gw.name, last, timeout, status))
        await asyncio.sleep(0.05)


def wait_ready_sync(gw, timeout=WAIT_S):
    """Polls /readyz (outside any event loop) until it answers 200."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % gw.port, timeout=5) as r:
                if r.status == 200:
                    return
        except urllib.error.HTTPError as e:
            last = (e.code, e.read().decode(errors="replace"))
        if time.monotonic() > deadline:
            raise AssertionError("%s: /readyz answers %r after %g s" % (gw.name, last, timeout))
        time.sleep(0.02)


def scrape(gw):
    """{name: value} of a node's metrics, summed over label sets (workers)."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % gw.metrics_port, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name = head.split("{", 1)[0]
        if "_bucket" in name:
            continue
        out[name] = out.get(name, 0.0) + float(value)
    return out


# -- clients ---------------------------------------------------------------------------

class Track:
    """What one connection received of one room, in the current epoch and before."""

    def __init__(self, start, epoch):
        self.start = start        # the seq the stream started after (hello/joined)
        self.next = start + 1
        self.epoch = epoch
        self.events = []          # (epoch, event), in the order received
        self.gaps = []
        self.joined = []          # joined notices after the first (epoch changes, rejoins)


class Client:
    """One WebSocket connection; a task reads every frame as it comes. Per room it checks
    that seqs have no hole the server did not announce and that nothing arrives twice;
    `errors` lists what broke the protocol."""

    def __init__(self, ws, hello, label):
        self.ws = ws
        self.hello = hello
        self.label = label
        self.name = hello["name"]
        self.rooms = {hello["room"]: Track(hello["seq"], hello["epoch"])}
        self.errors = []
        self.notices = []   # every direct notice after hello, in order
        self.refused = {}   # cid -> the `unavailable` error that named it
        self.pongs = set()
        self.binary_batches = self.text_batches = 0
        self.closed = None
        self.changed = asyncio.Event()
        self.dctx = zstandard.ZstdDecompressor()
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self):
        try:
            while True:
                self.handle(await self.ws.recv())
                self.changed.set()
        except websockets.ConnectionClosed as e:
            self.closed = str(e) or "closed"
        except Exception as e:  # noqa: BLE001 -- reported by whoever waits
            self.closed = "reader failed: %r" % e
            self.errors.append(self.closed)
        self.changed.set()

    def handle(self, frame):
        if isinstance(frame, bytes):
            if self.ws.subprotocol != ZSTD:
                self.errors.append("a binary frame on %s" % self.ws.subprotocol)
            frame = self.dctx.decompress(frame)
        doc = json.loads(frame)
        t = doc.get("t")
        room = doc.get("room")
        if t == "batch":
            if isinstance(frame, (bytes, bytearray)):
                self.binary_batches += 1
            else:
                self.text_batches += 1
            tr = self.rooms.get(room)
            if tr is None:
                self.errors.append("a batch of %s, not joined" % room)
                return
            for e in doc["msgs"]:
                if e["seq"] < tr.next:
                    # Before the stream's start: the part of a batch a resume does not
                    # want (the client skips it). After it: delivered twice.
                    if e["seq"] > tr.start:
                        self.errors.append("%s: seq %d delivered twice" % (room, e["seq"]))
                    continue
                if e["seq"] > tr.next:
                    self.errors.append("%s: hole: expected seq %d, got %d"
                                       % (room, tr.next, e["seq"]))
                tr.next = e["seq"] + 1
                tr.events.append((tr.epoch, e))
            return
        self.notices.append(doc)
        if t == "gap":
            tr = self.rooms.get(room)
            if tr is None or doc["from"] != tr.next or doc["to"] < doc["from"]:
                self.errors.append("bad gap %r (expected from %s)" % (doc, tr and tr.next))
            if tr is not None:
                tr.gaps.append(doc)
                tr.next = doc["to"] + 1
        elif t == "joined":
            tr = self.rooms.get(room)
            if tr is None:
                self.rooms[room] = Track(doc["seq"], doc["epoch"])
            else:
                tr.joined.append(doc)
                if doc["epoch"] == tr.epoch and doc["seq"] != tr.next - 1:
                    self.errors.append("%s: joined at %d in the same epoch, expected %d"
                                       % (room, doc["seq"], tr.next - 1))
                tr.epoch = doc["epoch"]
                tr.start = doc["seq"]
                tr.next = doc["seq"] + 1
        elif t == "error":
            if doc.get("code") == "unavailable" and "cid" in doc:
                self.refused[doc["cid"]] = doc
        elif t == "pong":
            self.pongs.add(doc.get("id"))

    # what was received

    def track(self, room):
        return self.rooms.get(room) or Track(0, None)

    def events(self, room, epoch=None):
        return [e for ep, e in self.track(room).events if epoch is None or ep == epoch]

    def msgs(self, room, epoch=None):
        return [e for e in self.events(room, epoch) if e["t"] == "msg"]

    def cids(self, room):
        return [e.get("cid") for e in self.msgs(room)]

    def errors_of(self, code):
        return [n for n in self.notices if n.get("t") == "error" and n.get("code") == code]

    def summary(self):
        parts = []
        for room, tr in self.rooms.items():
            parts.append("%s: epoch %s, next %d, %d events, %d gaps" % (
                room, tr.epoch, tr.next, len(tr.events), len(tr.gaps)))
        return "%s (%s): %s; errors %s; last notices %s; closed %s" % (
            self.label, self.name, "; ".join(parts), self.errors[:5], self.notices[-3:],
            self.closed)

    # waiting and sending

    async def until(self, pred, what, timeout=WAIT_S):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not pred():
            if self.closed is not None:
                raise AssertionError("%s closed while waiting for %s: %s"
                                     % (self.label, what, self.summary()))
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("%s: no %s within %g s: %s"
                                     % (self.label, what, timeout, self.summary()))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def until_closed(self, timeout=WAIT_S):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.closed is None:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("%s: still open after %g s" % (self.label, timeout))
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def send(self, doc):
        await self.ws.send(json.dumps(doc))

    async def say(self, cid, room=None, text=None):
        doc = {"t": "msg", "text": text if text is not None else "text of " + cid, "cid": cid}
        if room:
            doc["room"] = room
        await self.send(doc)

    async def ping(self, ping_id):
        await self.send({"t": "ping", "id": ping_id})
        await self.until(lambda: ping_id in self.pongs, "pong %d" % ping_id)

    async def close(self):
        await self.ws.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, 5)


async def connect(gw, room="lobby", proto=ZSTD, label=None, **query):
    """A client of node `gw` in `room`; `query` adds since=, epoch=, name=."""
    q = ["room=" + room] + ["%s=%s" % kv for kv in query.items()]
    url = gw.url + "?" + "&".join(q)
    ws = await websockets.connect(url, subprotocols=[proto], max_size=None, max_queue=None,
                                  open_timeout=10)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["t"] == "hello", hello
    assert ws.subprotocol == proto, (ws.subprotocol, proto)
    return Client(ws, hello, label or "%s@%s" % (room, gw.name))


def content(e):
    return (e["seq"], e["t"], e.get("from"), e.get("text"), e.get("cid"), e.get("old"))


def check_one_order(test, clients, room):
    """Whatever seq two clients both received in an epoch, they received the same event;
    and every client's seqs were consecutive (its Track checked that as it went)."""
    seen = {}
    for c in clients:
        test.assertEqual(c.errors, [], c.summary())
        for epoch, e in c.track(room).events:
            key = (epoch, e["seq"])
            first = seen.setdefault(key, (c.label, content(e)))
            test.assertEqual(first[1], content(e), "%s: seq %d is %r at %s but %r at %s" % (
                room, e["seq"], first[1], first[0], content(e), c.label))
    return seen


async def wait_all(clients, room, cids, what):
    want = set(cids)
    await asyncio.gather(*(c.until(lambda c=c: want <= set(c.cids(room)),
                                   "%s: %d messages (%s)" % (room, len(want), what))
                           for c in clients))


async def close_all(clients):
    await asyncio.gather(*(c.close() for c in clients))


def per_sender_order(test, client, room, prefixes):
    """Each sender's messages arrive in the order it sent them (cids PREFIX-K)."""
    for p in prefixes:
        mine = [int(cid.rsplit("-", 1)[1]) for cid in client.cids(room)
                if cid and cid.rsplit("-", 1)[0] == p]
        test.assertEqual(mine, sorted(mine), "%s: %s's messages out of order at %s"
                         % (room, p, client.label))


# -- traffic shared by the fan-out and metrics tests ----------------------------------

async def fan_traffic(test, c, nodes, per_sender=40, while_connected=None):
    """On every node: in `lobby` a json reader, a zstd reader, a json and a zstd sender; in
    `side` a reader and a sender; and a client in `lobby` that joins `side` by command.
    Every sender sends `per_sender` messages with small random pauses, all at once. Then
    every client must have every message of its rooms exactly once, in one order.
    `while_connected()` runs then, before the clients leave (their leave events would be
    appended meanwhile); its result is returned."""
    rng = random.Random(len(nodes))
    lobby, side, both, senders = [], [], [], []
    for i, gw in enumerate(nodes):
        lobby.append(await connect(gw, "lobby", JSON, "lobby-json@%s" % gw.name))
        lobby.append(await connect(gw, "lobby", ZSTD, "lobby-zstd@%s" % gw.name))
        for proto in (JSON, ZSTD):
            s = await connect(gw, "lobby", proto, "lobby-sender-%s@%s" % (proto[-4:], gw.name))
            lobby.append(s)
            senders.append((s, "lobby", "%s-lobby-%s" % (gw.name, proto[-4:])))
        side.append(await connect(gw, "side", ZSTD if i % 2 else JSON, "side@%s" % gw.name))
        s = await connect(gw, "side", JSON if i % 2 else ZSTD, "side-sender@%s" % gw.name)
        side.append(s)
        senders.append((s, "side", "%s-side" % gw.name))
        b = await connect(gw, "lobby", ZSTD, "both@%s" % gw.name)
        await b.send({"t": "join", "room": "side"})
        await b.until(lambda b=b: "side" in b.rooms, "joined side")
        both.append(b)

    async def send_all(s, room, prefix, seed):
        r = random.Random(seed)
        for k in range(per_sender):
            await s.say("%s-%d" % (prefix, k))
            if r.random() < 0.5:
                await asyncio.sleep(r.random() * 0.004)

    await asyncio.gather(*(send_all(s, room, p, rng.random()) for s, room, p in senders))
    expect = {room: ["%s-%d" % (p, k) for s, r, p in senders if r == room
                     for k in range(per_sender)] for room in ("lobby", "side")}
    members = {"lobby": lobby + both, "side": side + both}
    for room in ("lobby", "side"):
        await wait_all(members[room], room, expect[room], "every sender's")

    redis = c.redis
    for room in ("lobby", "side"):
        epoch = meta(redis, room, "epoch")
        test.assertIsNotNone(epoch, "no tg:{%s}:meta in Redis" % room)
        last = 0
        for cl in members[room]:
            tr = cl.track(room)
            test.assertEqual(tr.epoch, epoch, "%s: %s's epoch is not the log's" % (room, cl.label))
            test.assertEqual(tr.gaps, [], cl.label)
            test.assertEqual(tr.joined, [], cl.label)
            got = cl.cids(room)
            test.assertEqual(sorted(got), sorted(expect[room]),
                             "%s: %s did not get every message exactly once" % (room, cl.label))
            per_sender_order(test, cl, room, [p for _, r, p in senders if r == room])
            last = max(last, tr.next - 1)
        check_one_order(test, members[room], room)
        # Every client saw the same message sequence.
        order = [e["cid"] for e in members[room][0].msgs(room)]
        for cl in members[room][1:]:
            test.assertEqual([e["cid"] for e in cl.msgs(room)], order,
                             "%s: %s saw another order" % (room, cl.label))
        # The log in Redis: one entry per batch, IDs the batch's last message seq, batch
        # and message seqs consecutive, and the same events the clients got.
        test.assertEqual(meta(redis, room, "msg"), last)
        entries = stream_batches(redis, room)
        test.assertEqual(len(entries), meta(redis, room, "batch"))
        events = {}
        for n, (entry_id, fields, doc) in enumerate(entries, 1):
            test.assertEqual(int(fields["b"]), n)
            test.assertEqual(doc["seq"], n)
            test.assertEqual(doc["room"], room)
            seqs = [e["seq"] for e in doc["msgs"]]
            test.assertEqual(entry_id, "%d-0" % seqs[-1])
            test.assertEqual(int(fields["f"]), seqs[0])
            test.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))))
            for e in doc["msgs"]:
                events[e["seq"]] = content(e)
        test.assertEqual(sorted(events), list(range(1, last + 1)))
        for cl in members[room]:
            for e in cl.events(room):
                test.assertEqual(events[e["seq"]], content(e), "%s: Redis's log and %s differ"
                                 % (room, cl.label))
    for cl in lobby + side + both:
        if cl.ws.subprotocol == ZSTD:
            test.assertGreater(cl.binary_batches, 0, cl.label)
            test.assertEqual(cl.text_batches, 0, cl.label)
        else:
            test.assertEqual(cl.binary_batches, 0, cl.label)
            test.assertGreater(cl.text_batches, 0, cl.label)
    result = while_connected() if while_connected else None
    await close_all(lobby + side + both)
    return result


# -- the tests -------------------------------------------------------------------------

class ClusterMode(unittest.TestCase):
    maxDiff = 4000

    def assert_stopped_cleanly(self, c, except_=()):
        codes = c.stop_nodes()
        for name, code in codes.items():
            if name not in except_:
                self.assertEqual(code, 0, "%s exited with %s" % (name, code))

    # 1 -----------------------------------------------------------------------------

    def test_two_nodes_every_client_gets_every_message_once_in_one_order(self):
        with cluster() as c:
            nodes = [c.node(workers=2), c.node()]
            asyncio.run(fan_traffic(self, c, nodes))
            self.assert_stopped_cleanly(c)

    def test_three_nodes_every_client_gets_every_message_once_in_one_order(self):
        with cluster() as c:
            nodes = [c.node(workers=2), c.node(), c.node(workers=2)]
            asyncio.run(fan_traffic(self, c, nodes, per_sender=30))
            self.assert_stopped_cleanly(c)

    # 2 -----------------------------------------------------------------------------

    def test_sigkilled_node_clients_resume_on_other_nodes_without_loss_or_duplicates(self):
        with cluster() as c:
            victim, survivor, fresh = c.node(name="victim"), c.node(name="survivor", workers=2), \
                c.node(name="fresh")
            asyncio.run(self._sigkill(c, victim, survivor, fresh))
            self.assertEqual(victim.stop(), -signal.SIGKILL)
            self.assert_stopped_cleanly(c, except_=("victim",))

    async def _sigkill(self, c, victim, survivor, fresh):
        ref = await connect(survivor, "lobby", JSON, "ref@survivor")
        s_surv = await connect(survivor, "lobby", ZSTD, "sender@survivor")
        s_vict = await connect(victim, "lobby", JSON, "sender@victim")
        v1 = await connect(victim, "lobby", ZSTD, "v1@victim")
        v2 = await connect(victim, "lobby", JSON, "v2@victim")
        epoch = ref.hello["epoch"]
        for v in (s_vict, v1, v2):
            self.assertEqual(v.hello["epoch"], epoch)

        # Before: both nodes send, everyone gets everything.
        first = []
        for k in range(25):
            first += ["surv-%d" % k, "vict-%d" % k]
            await s_surv.say("surv-%d" % k)
            await s_vict.say("vict-%d" % k)
        await wait_all([ref, s_surv, s_vict, v1, v2], "lobby", first, "before the kill")

        # During: the survivor sends on; the victim node is SIGKILLed midway.
        later = ["surv-%d" % k for k in range(25, 325)]

        async def keep_sending():
            for k, cid in enumerate(later):
                await s_surv.say(cid)
                if k % 10 == 9:
                    await asyncio.sleep(0.005)

        sending = asyncio.get_running_loop().create_task(keep_sending())
        await ref.until(lambda: len(ref.msgs("lobby")) >= len(first) + 60, "60 more messages")
        victim.send_signal(signal.SIGKILL)
        await asyncio.gather(v1.until_closed(), v2.until_closed(), s_vict.until_closed())
        # Each victim resumes on another node from the last seq it got, with its epoch:
        # v1 on the survivor (which holds the room), v2 on a node that never had it open.
        resumed = {}
        for v, gw in ((v1, survivor), (v2, fresh)):
            since = v.track("lobby").next - 1
            r = await connect(gw, "lobby", ZSTD if v is v1 else JSON,
                              "%s-resumed@%s" % (v.label.split("@")[0], gw.name),
                              since=since, epoch=epoch)
            self.assertEqual(r.hello["epoch"], epoch, r.label)
            self.assertEqual(r.hello["seq"], since, r.label)
            resumed[v] = r
        await asyncio.wait_for(sending, WAIT_S)
        await ref.until(lambda: set(first + later) <= set(ref.cids("lobby")), "every message")
        last = ref.track("lobby").next - 1
        await asyncio.gather(*(r.until(lambda r=r: r.track("lobby").next > last,
                                       "everything up to seq %d" % last)
                               for r in resumed.values()))

        self.assertEqual(ref.errors, [])
        self.assertEqual(ref.track("lobby").gaps, [])
        reference = {e["seq"]: content(e) for e in ref.events("lobby")}
        for v, r in resumed.items():
            self.assertEqual(v.errors, [], v.summary())
            self.assertEqual(r.errors, [], r.summary())
            before = v.events("lobby")
            after = r.events("lobby")
            seqs = [e["seq"] for e in before + after if e["seq"] <= last]
            self.assertEqual(len(seqs), len(set(seqs)), "%s: a seq received twice" % v.label)
            cids = [e["cid"] for e in before + after if e["t"] == "msg"]
            self.assertEqual(len(cids), len(set(cids)), "%s: a message received twice" % v.label)
            # Every message acknowledged (delivered to the reference client) after the
            # victim joined reached it, before or after the kill: no hole, and so no gap.
            start = v.track("lobby").start
            self.assertEqual(r.track("lobby").gaps, [], r.label)
            self.assertEqual(seqs, list(range(start + 1, last + 1)), "%s: seqs %s..%s"
                             % (v.label, seqs[:1], seqs[-1:]))
            for e in before + after:
                if e["seq"] <= last:
                    self.assertEqual(content(e), reference[e["seq"]], v.label)
            self.assertEqual(set(cids) & set(first + later), set(first + later), v.label)
        check_one_order(self, [ref, s_surv] + list(resumed.values()), "lobby")
        print("sigkill: victims resumed at %s, caught up to seq %d" % (
            [r.hello["seq"] for r in resumed.values()], last))
        await close_all([ref, s_surv] + list(resumed.values()))

    # 3 -----------------------------------------------------------------------------

    def test_redis_down_for_five_seconds_under_load(self):
        with cluster(appendonly=True) as c:
            a, b = c.node(name="a", workers=2), c.node(name="b")
            asyncio.run(self._redis_down(c, a, b))
            self.assert_stopped_cleanly(c)

    async def _redis_down(self, c, a, b):
        ra = await connect(a, "lobby", ZSTD, "reader@a")
        rb = await connect(b, "lobby", JSON, "reader@b")
        sa = await connect(a, "lobby", JSON, "sender@a")
        sb = await connect(b, "lobby", ZSTD, "sender@b")
        clients = [ra, rb, sa, sb]
        epoch = ra.hello["epoch"]
        warm = []
        for k in range(20):
            warm += ["a-warm-%d" % k, "b-warm-%d" % k]
            await sa.say("a-warm-%d" % k)
            await sb.say("b-warm-%d" % k)
        await wait_all(clients, "lobby", warm, "before Redis stops")

        phase = ["up"]
        sent = {}  # cid -> (sender, phase when sent)
        stop = asyncio.Event()

        async def keep_sending(s, prefix):
            k = 0
            while not stop.is_set():
                cid = "%s-%d" % (prefix, k)
                sent[cid] = (s, phase[0])
                await s.say(cid)
                k += 1
                await asyncio.sleep(0.02)

        loop = asyncio.get_running_loop()
        senders = [loop.create_task(keep_sending(sa, "a")), loop.create_task(keep_sending(sb, "b"))]
        await asyncio.sleep(0.5)
        phase[0] = "stopping"
        c.redis.stop()
        down = await asyncio.gather(wait_readyz(a, 503), wait_readyz(b, 503))
        phase[0] = "down"
        for status, body in down:
            self.assertIn("redis", body.lower(), body)
        status, headers, body = await ws_upgrade(a.port)
        self.assertEqual(status, 503, body)
        self.assertIn("retry-after", headers)
        self.assertIn("redis", body.lower())
        await asyncio.sleep(5)
        phase[0] = "starting"
        c.redis.start()
        for status, _ in await asyncio.gather(wait_readyz(a, 200), wait_readyz(b, 200)):
            self.assertEqual(status, 200)
        phase[0] = "up again"
        n_before = len(sent)
        await asyncio.sleep(1)
        self.assertGreater(len(sent), n_before, "the senders stopped sending")
        stop.set()
        await asyncio.gather(*senders)

        # Every message ends delivered or refused (with its cid), never both.
        def settled(s):
            got = set(s.cids("lobby"))
            return all(cid in got or cid in s.refused for cid, (who, _) in sent.items()
                       if who is s)
        try:
            await asyncio.gather(*(s.until(lambda s=s: settled(s), "an answer to every message")
                                   for s in (sa, sb)))
        except AssertionError as e:
            unanswered = [(cid, p) for cid, (who, p) in sent.items()
                          if cid not in who.cids("lobby") and cid not in who.refused]
            raise AssertionError("%s\nneither delivered nor refused (cid, phase when sent): %s"
                                 % (e, unanswered)) from None
        delivered = set(sa.cids("lobby")) | set(sb.cids("lobby"))
        refused = set(sa.refused) | set(sb.refused)
        wanted = [cid for cid in sent if cid in delivered]
        await wait_all(clients, "lobby", wanted, "every message delivered to anyone")

        by_phase = {}
        for cid, (_, p) in sent.items():
            by_phase.setdefault(p, []).append(cid)
        print("redis down: sent by phase %s; %d delivered, %d refused" % (
            {p: len(v) for p, v in by_phase.items()}, len(delivered & set(sent)), len(refused)))
        self.assertEqual(delivered & refused, set(), "refused and delivered anyway")
        down_cids = by_phase.get("down", [])
        self.assertGreater(len(down_cids), 10)
        for cid in down_cids:
            self.assertIn(cid, refused, "sent while Redis was down and not refused: %s" % cid)
        for s in (sa, sb):
            for err in s.errors_of("unavailable"):
                self.assertIn("cid", err, "an unavailable error without the message's cid")
                self.assertIn("redis", err.get("reason", "").lower())
        for cid in by_phase.get("up again", []):
            self.assertIn(cid, delivered, "sent after Redis came back and not delivered")
        self.assertGreater(len(by_phase.get("up again", [])), 10)

        for cl in clients:
            self.assertIsNone(cl.closed, cl.summary())
            tr = cl.track("lobby")
            self.assertEqual(tr.gaps, [], cl.label)
            self.assertEqual(tr.joined, [], cl.label)
            self.assertEqual(tr.epoch, epoch, cl.label)
            self.assertEqual(sorted(cl.cids("lobby")), sorted(warm + wanted), cl.label)
            per_sender_order(self, cl, "lobby", ["a", "b"])
        check_one_order(self, clients, "lobby")
        order = [e["cid"] for e in ra.msgs("lobby")]
        for cl in clients[1:]:
            self.assertEqual([e["cid"] for e in cl.msgs("lobby")], order, cl.label)
        self.assertEqual(meta(c.redis, "lobby", "epoch"), epoch)
        # Nobody was dropped: every connection still answers.
        for i, cl in enumerate(clients):
            await cl.ping(100 + i)
        await close_all(clients)

    # 4 -----------------------------------------------------------------------------

    async def _until_node_appends(self, s, tag):
        """Sends probe messages until one is delivered (the node reached Redis again and
        reopened the room); refused ones are retried. Returns the probes' cids."""
        probes = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while True:
            cid = "%s-probe-%d" % (tag, len(probes))
            probes.append(cid)
            await s.say(cid)
            await s.until(lambda: cid in s.cids("lobby") or cid in s.refused,
                          "an answer to " + cid)
            if cid in s.cids("lobby"):
                return probes
            if loop.time() > deadline:
                raise AssertionError("%s: every probe refused for %g s" % (s.label, WAIT_S))
            await asyncio.sleep(0.1)

    def test_redis_restart_with_aof_keeps_the_epoch_and_seqs_continue(self):
        with cluster(appendonly=True) as c:
            a, b = c.node(name="a"), c.node(name="b", workers=2)
            asyncio.run(self._restart_aof(c, a, b))
            self.assert_stopped_cleanly(c)

    async def _restart_aof(self, c, a, b):
        sa = await connect(a, "lobby", ZSTD, "sender@a")
        sb = await connect(b, "lobby", JSON, "sender@b")
        ra = await connect(a, "lobby", JSON, "reader@a")
        rb = await connect(b, "lobby", ZSTD, "reader@b")
        clients = [sa, sb, ra, rb]
        epoch = sa.hello["epoch"]
        first = []
        for k in range(20):
            first += ["a-%d" % k, "b-%d" % k]
            await sa.say("a-%d" % k)
            await sb.say("b-%d" % k)
        await wait_all(clients, "lobby", first, "before the restart")
        last_before = max(cl.track("lobby").next - 1 for cl in clients)
        self.assertEqual(meta(c.redis, "lobby", "msg"), last_before)

        c.redis.restart()
        self.assertEqual(meta(c.redis, "lobby", "epoch"), epoch, "the AOF lost the room's meta")
        probes = await self._until_node_appends(sa, "a") + await self._until_node_appends(sb, "b")
        second = []
        for k in range(20, 40):
            second += ["a-%d" % k, "b-%d" % k]
            await sa.say("a-%d" % k)
            await sb.say("b-%d" % k)
        delivered_probes = [p for p in probes if p in sa.cids("lobby") or p in sb.cids("lobby")]
        await wait_all(clients, "lobby", second + delivered_probes, "after the restart")

        for cl in clients:
            tr = cl.track("lobby")
            self.assertEqual(tr.epoch, epoch, "%s: the epoch changed: %s" % (cl.label, tr.joined))
            self.assertEqual(tr.joined, [], cl.label)
            self.assertEqual(tr.gaps, [], cl.label)
            seqs = [e["seq"] for e in cl.events("lobby")]
            self.assertEqual(seqs, list(range(tr.start + 1, tr.next)), cl.label)
            new = [e["seq"] for e in cl.msgs("lobby") if e["cid"] in second]
            self.assertGreater(min(new), last_before, "%s: a seq of before the restart reused"
                               % cl.label)
            self.assertEqual(sorted(cl.cids("lobby")), sorted(first + second + delivered_probes))
        check_one_order(self, clients, "lobby")
        self.assertEqual(meta(c.redis, "lobby", "epoch"), epoch)
        # A client resuming from before the restart, on the other node, gets the rest.
        late = await connect(b, "lobby", JSON, "resumer@b", since=last_before, epoch=epoch)
        self.assertEqual(late.hello["epoch"], epoch)
        self.assertEqual(late.hello["seq"], last_before)
        last = rb.track("lobby").next - 1
        await late.until(lambda: late.track("lobby").next > last, "seqs up to %d" % last)
        self.assertEqual(late.track("lobby").gaps, [])
        self.assertEqual([content(e) for e in late.events("lobby") if e["seq"] <= last],
                         [content(e) for e in rb.events("lobby")
                          if last_before < e["seq"] <= last])
        await close_all(clients + [late])

    def test_redis_restart_without_persistence_starts_a_new_epoch_members_are_told(self):
        with cluster(appendonly=False) as c:
            a, b = c.node(name="a", workers=2), c.node(name="b")
            asyncio.run(self._restart_empty(c, a, b))
            self.assert_stopped_cleanly(c)

    async def _restart_empty(self, c, a, b):
        sa = await connect(a, "lobby", JSON, "sender@a")
        sb = await connect(b, "lobby", ZSTD, "sender@b")
        ra = await connect(a, "lobby", ZSTD, "reader@a")
        rb = await connect(b, "lobby", JSON, "reader@b")
        clients = [sa, sb, ra, rb]
        old = sa.hello["epoch"]
        first = []
        for k in range(15):
            first += ["a-%d" % k, "b-%d" % k]
            await sa.say("a-%d" % k)
            await sb.say("b-%d" % k)
        await wait_all(clients, "lobby", first, "before the restart")
        last_old = max(cl.track("lobby").next - 1 for cl in clients)

        c.redis.restart()  # no AOF: Redis comes back empty
        await asyncio.gather(*(cl.until(lambda cl=cl: cl.track("lobby").epoch != old,
                                        "a joined with a new epoch") for cl in clients))
        new = sa.track("lobby").epoch
        self.assertEqual(meta(c.redis, "lobby", "epoch"), new)
        for cl in clients:
            tr = cl.track("lobby")
            self.assertEqual(tr.epoch, new, cl.label)
            self.assertEqual(len(tr.joined), 1, "%s: %s" % (cl.label, tr.joined))
            self.assertEqual(tr.joined[0], {"t": "joined", "room": "lobby", "seq": 0,
                                            "epoch": new}, cl.label)
            # It had everything its node knew of: no gap before the joined.
            self.assertEqual(tr.gaps, [], cl.label)
            self.assertEqual([n["t"] for n in cl.notices[-1:]], ["joined"], cl.label)

        second = []
        for k in range(15, 30):
            second += ["a-%d" % k, "b-%d" % k]
            await sa.say("a-%d" % k)
            await sb.say("b-%d" % k)
        await wait_all(clients, "lobby", second, "after the restart")
        for cl in clients:
            self.assertEqual(cl.errors, [], cl.summary())
            self.assertEqual(sorted(e["cid"] for e in cl.msgs("lobby", old)), sorted(first))
            self.assertEqual(sorted(e["cid"] for e in cl.msgs("lobby", new)), sorted(second))
            seqs = [e["seq"] for e in cl.events("lobby", new)]
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)),
                             "%s: the new epoch's seqs do not start at 1" % cl.label)
        check_one_order(self, clients, "lobby")
        last_new = rb.track("lobby").next - 1
        # A since of the lost epoch is ignored: live from now.
        stale = await connect(b, "lobby", ZSTD, "stale@b", since=last_old, epoch=old)
        self.assertEqual(stale.hello["epoch"], new)
        self.assertEqual(stale.hello["seq"], last_new)
        # since=0 in the new epoch, on the other node: the new epoch's whole log.
        whole = await connect(a, "lobby", JSON, "whole@a", since=0, epoch=new)
        self.assertEqual(whole.hello["seq"], 0)
        await whole.until(lambda: whole.track("lobby").next > last_new, "seqs 1..%d" % last_new)
        self.assertEqual(whole.track("lobby").gaps, [])
        self.assertEqual([content(e) for e in whole.events("lobby") if e["seq"] <= last_new],
                         [content(e) for e in rb.events("lobby", new) if e["seq"] <= last_new])
        await close_all(clients + [stale, whole])

    # 5 -----------------------------------------------------------------------------

    def test_late_nodes_serve_history_they_never_saw_from_the_stream(self):
        with cluster() as c:
            a = c.node(name="a")
            asyncio.run(self._late(c, a))
            self.assert_stopped_cleanly(c)

    async def _late(self, c, a):
        sa = await connect(a, "lobby", ZSTD, "sender@a")
        self.assertEqual(sa.hello["seq"], 0)  # a new room: its log starts at seq 1
        epoch = sa.hello["epoch"]
        cids = []
        for k in range(30):  # one at a time: a batch each
            cids.append("a-%d" % k)
            await sa.say("a-%d" % k)
            await sa.until(lambda: "a-%d" % k in sa.cids("lobby"), "a-%d back" % k)
        for k in range(30, 60):  # a burst: a few large batches
            cids.append("a-%d" % k)
            await sa.say("a-%d" % k, text="burst %d " % k + "x" * 300)
        await sa.until(lambda: set(cids) <= set(sa.cids("lobby")), "the burst back")
        history = [content(e) for e in sa.events("lobby")]
        last = history[-1][0]
        self.assertEqual([h[0] for h in history], list(range(1, last + 1)))
        mid = sa.msgs("lobby")[20]["seq"]

        # Node c starts: the room is opened for a client that wants all of it.
        node_c = c.node(name="c", workers=2)
        x = await connect(node_c, "lobby", JSON, "since0@c", since=0, epoch=epoch)
        y = await connect(node_c, "lobby", ZSTD, "sinceN@c", since=mid, epoch=epoch)
        # x's and y's joins reached the log (and node a): the room's head is known.
        await sa.until(lambda: sa.track("lobby").next > last + 2, "the joins of x and y")
        head = sa.track("lobby").next - 1
        # Node d starts: the room is opened live first, then resumes ask for what it never
        # read (the older batches come from the stream).
        node_d = c.node(name="d")
        z = await connect(node_d, "lobby", ZSTD, "live@d")
        y2 = await connect(node_d, "lobby", JSON, "sinceN@d", since=mid, epoch=epoch)
        x2 = await connect(node_d, "lobby", ZSTD, "since0@d", since=0, epoch=epoch)
        w = await connect(node_d, "elsewhere", JSON, "joiner@d")
        await w.send({"t": "join", "room": "lobby", "since": 0, "epoch": epoch})
        await w.until(lambda: "lobby" in w.rooms, "joined lobby")
        wrong = await connect(node_d, "lobby", ZSTD, "wrong-epoch@d", since=mid, epoch=epoch + 1)

        self.assertEqual(z.hello["epoch"], epoch)
        self.assertEqual(z.hello["seq"], head)
        joined = [n for n in w.notices if n["t"] == "joined"]
        self.assertEqual(joined[:1], [{"t": "joined", "room": "lobby", "seq": 0, "epoch": epoch}])
        self.assertEqual(wrong.hello["epoch"], epoch)
        self.assertGreaterEqual(wrong.hello["seq"], last, "a since of another epoch was used")
        for cl, since in ((x, 0), (y, mid), (y2, mid), (x2, 0)):
            self.assertEqual(cl.hello["epoch"], epoch, cl.label)
            self.assertEqual(cl.hello["seq"], since, cl.label)

        # Then live messages, from the first node and from a late one.
        live = []
        for k in range(10):
            live += ["a-live-%d" % k, "c-live-%d" % k]
            await sa.say("a-live-%d" % k)
            await x.say("c-live-%d" % k)
        everyone = [sa, x, y, z, y2, x2, w, wrong]
        await wait_all(everyone, "lobby", live, "live messages")
        for cl, since in ((x, 0), (y, mid), (y2, mid), (x2, 0), (w, 0)):
            tr = cl.track("lobby")
            self.assertEqual(tr.gaps, [], "%s: %s" % (cl.label, tr.gaps))
            got = [content(e) for e in cl.events("lobby") if e["seq"] <= last]
            self.assertEqual(got, [h for h in history if h[0] > since],
                             "%s: the history from %d is not the log's" % (cl.label, since))
        self.assertEqual([e for e in wrong.events("lobby") if e["seq"] <= last], [])
        check_one_order(self, everyone, "lobby")
        order = [e["cid"] for e in sa.msgs("lobby") if e["cid"] in live]
        for cl in everyone:
            self.assertEqual([e["cid"] for e in cl.msgs("lobby") if e["cid"] in live], order,
                             cl.label)
        await close_all(everyone)

    # 6 -----------------------------------------------------------------------------

    def test_redis_not_there_503_then_ready_and_refusals_name_the_cid(self):
        with cluster(appendonly=True, start_redis=False) as c:
            a = c.node(name="a")
            asyncio.run(self._no_redis(c, a))
            self.assert_stopped_cleanly(c)

    async def _no_redis(self, c, a):
        status, _, body = await http_request(a.port, "/readyz")
        self.assertEqual(status, 503, body)
        self.assertIn("redis", body.lower())
        status, _, _ = await http_request(a.port, "/healthz")
        self.assertEqual(status, 200)
        status, headers, body = await ws_upgrade(a.port)
        self.assertEqual(status, 503, body)
        self.assertIn("retry-after", headers, headers)
        self.assertGreater(int(headers["retry-after"]), 0)
        self.assertIn("redis", body.lower())

        c.redis.start()
        await wait_readyz(a, 200)
        cl = await connect(a, "lobby", ZSTD, "client@a")
        other = await connect(a, "other", JSON, "other@a")
        await cl.say("ok-1")
        await cl.until(lambda: "ok-1" in cl.cids("lobby"), "ok-1 delivered")

        c.redis.kill()  # a crash; the AOF (fsync always) keeps what was appended
        await wait_readyz(a, 503)
        await cl.say("lost-1")
        await cl.send({"t": "msg", "text": "lost without a cid"})
        await cl.say("lost-2", room="lobby")
        await cl.until(lambda: "lost-2" in cl.refused, "the refusal of lost-2")
        await cl.until(lambda: len(cl.errors_of("unavailable")) >= 3, "three refusals")
        errors = cl.errors_of("unavailable")
        self.assertEqual([e.get("cid") for e in errors], ["lost-1", None, "lost-2"], errors)
        for e in errors:
            self.assertIn("redis", e["reason"].lower(), e)
        # A join of a room the node cannot open now is refused too; the connection stays.
        await other.send({"t": "join", "room": "elsewhere"})
        await other.until(lambda: other.errors_of("unavailable"), "the join's refusal")
        self.assertNotIn("elsewhere", other.rooms)

        c.redis.start()
        await wait_readyz(a, 200)
        probes = await self._until_node_appends(cl, "back")
        await cl.say("ok-2")
        await cl.until(lambda: "ok-2" in cl.cids("lobby"), "ok-2 delivered")
        got = cl.cids("lobby")
        for cid in ("lost-1", "lost-2"):
            self.assertNotIn(cid, got, "%s was refused, then delivered" % cid)
        self.assertNotIn("lost without a cid", [e["text"] for e in cl.msgs("lobby")])
        self.assertEqual(got, ["ok-1"] + probes[-1:] + ["ok-2"], got)
        logged = [f["cid"] for _, _, doc in stream_batches(c.redis, "lobby")
                  for f in doc["msgs"] if f["t"] == "msg"]
        self.assertEqual(logged, ["ok-1"] + probes[-1:] + ["ok-2"])
        self.assertIsNone(cl.closed)
        self.assertIsNone(other.closed)
        self.assertEqual(cl.errors, [], cl.summary())
        self.assertEqual(cl.track("lobby").gaps, [])
        await close_all([cl, other])

    # 6b ----------------------------------------------------------------------------

    def test_a_message_whose_append_got_no_answer_is_refused_or_delivered(self):
        # The append of m-1 reaches Redis but is held there (CLIENT PAUSE WRITE holds
        # scripts), and Redis dies before running it: the node never hears back, and the
        # batch is not in the log (the AOF cannot hold what never ran). Once Redis is back
        # the sender must learn m-1's fate: refused (its cid named), as it was not sent.
        # It must never hear nothing while its later messages go through.
        with cluster(appendonly=True) as c:
            a, b = c.node(name="a"), c.node(name="b")
            asyncio.run(self._cut_off(c, a, b))
            self.assert_stopped_cleanly(c)

    async def _cut_off(self, c, a, b):
        s = await connect(a, "lobby", JSON, "sender@a")
        rb = await connect(b, "lobby", ZSTD, "reader@b")
        await s.say("m-0")
        await asyncio.gather(*(cl.until(lambda cl=cl: "m-0" in cl.cids("lobby"), "m-0")
                               for cl in (s, rb)))
        self.assertEqual(c.redis.cmd("CLIENT", "PAUSE", "30000", "WRITE"), "OK")
        await s.say("m-1")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_S
        while "cmd=evalsha" not in c.redis.cmd("CLIENT", "LIST").decode():
            self.assertLess(loop.time(), deadline, "m-1's append never reached Redis")
            await asyncio.sleep(0.02)
        c.redis.kill()
        c.redis.start()
        await wait_readyz(a, 200)
        probes = await self._until_node_appends(s, "after")
        later = ["m-%d" % k for k in range(2, 6)]
        for cid in later:
            await s.say(cid)
        await asyncio.gather(*(cl.until(lambda cl=cl: set(later) <= set(cl.cids("lobby")),
                                        "m-2..m-5") for cl in (s, rb)))
        logged = [f.get("cid") for _, _, doc in stream_batches(c.redis, "lobby")
                  for f in doc["msgs"] if f["t"] == "msg"]
        self.assertNotIn("m-1", logged)
        # Later messages of the same sender went through: m-1's answer is due.
        await s.until(lambda: "m-1" in s.refused or "m-1" in s.cids("lobby"),
                      "an answer to m-1 (neither delivered nor refused; later messages %s "
                      "delivered; gateway a's warnings: %s)"
                      % (later, c.log_lines(a, " warn ")), timeout=5)
        self.assertIn("m-1", s.refused)
        self.assertNotIn("m-1", s.cids("lobby"))
        self.assertNotIn("m-1", rb.cids("lobby"))
        delivered = [p for p in probes if p in s.cids("lobby")]
        self.assertEqual(rb.cids("lobby"), ["m-0"] + delivered + later)
        check_one_order(self, [s, rb], "lobby")
        await close_all([s, rb])

    # 7 -----------------------------------------------------------------------------

    def test_backplane_metrics_add_up_across_nodes(self):
        with cluster() as c:
            nodes = [c.node(workers=2, metrics=True), c.node(metrics=True),
                     c.node(metrics=True)]

            def measure():  # every message delivered, nothing in flight: the counts settled
                return ([scrape(gw) for gw in nodes],
                        sum(meta(c.redis, room, "batch") for room in ("lobby", "side")))
            values, total_batches = asyncio.run(
                fan_traffic(self, c, nodes, per_sender=30, while_connected=measure))
            self.assert_stopped_cleanly(c)
        names = ["compressions_total", "appends_total", "append_conflicts_total",
                 "append_errors_total", "refused_events_total", "batches_read_total",
                 "epochs_lost_total", "commands_total"]
        table = []
        for gw, v in zip(nodes, values):
            row = {}
            for n in names:
                key = "tidegate_backplane_" + n
                self.assertIn(key, v, "%s has no %s" % (gw.name, key))
                row[n] = int(v[key])
            table.append(row)
            self.assertEqual(v.get("tidegate_backplane_up"), 1, gw.name)
            self.assertGreater(v.get("tidegate_backplane_rtt_seconds_count", 0), 0, gw.name)
            self.assertGreater(v.get("tidegate_backplane_lag_seconds_count", 0), 0, gw.name)
            self.assertGreater(row["commands_total"], 0, gw.name)
            self.assertGreater(row["batches_read_total"], 0, gw.name)
            self.assertEqual(row["append_errors_total"], 0, gw.name)
            self.assertEqual(row["refused_events_total"], 0, gw.name)
            self.assertEqual(row["epochs_lost_total"], 0, gw.name)
        for gw, row in zip(nodes, table):
            print("metrics %s: %s" % (gw.name, row))
        compressions = sum(r["compressions_total"] for r in table)
        appends = sum(r["appends_total"] for r in table)
        conflicts = sum(r["append_conflicts_total"] for r in table)
        errors = sum(r["append_errors_total"] for r in table)
        succeeded = appends - conflicts - errors
        print("metrics: %d batches in the logs, %d appends proposed, %d conflicts, "
              "%d compressions" % (total_batches, appends, conflicts, compressions))
        # Every batch in the logs was appended by exactly one node.
        self.assertEqual(succeeded, total_batches)
        # One compression per proposal (a conflict's batch is built again, with new
        # seqs); with no conflict, one per batch.
        self.assertEqual(compressions, appends)
        if conflicts == 0:
            self.assertEqual(compressions, total_batches)


if __name__ == "__main__":
    unittest.main()
