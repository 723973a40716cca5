"""The publish API (--api-listen), against the real binary: curl (subprocess) for the
routes and their errors, python's http.client for keep-alive, python3-websockets for the
clients that must receive what a backend published.

What is checked: a published message (single or array) gets the seq a WebSocket client
in the room then sees it with, in one order with the clients' own messages; history
returns it (pages, `next`, `more`, and a `gap` when the log no longer holds `since`);
GET /api/rooms counts the members; 401 / 400 / 404 / 405 / 411 / 413 are answered with a
JSON error; many requests on one keep-alive connection; an API client that hangs costs
the chat nothing and is cut with 408; the requests are counted by route and status in
/metrics; and in cluster mode (a real redis-server) a message published on node A
reaches a client on node B, and node B serves the history of a room it never had open.

Every gateway and Redis is started on 127.0.0.1 with ports the kernel picks, in a
temporary directory, and stopped. Run with /usr/bin/python3; TIDEGATE_BIN names the
binary.
"""
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402
from redis_process import RedisProcess, free_port  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
JSON_PROTO = "tidegate.v1.json"
KEY = "test-key-0123456789abcdef"
WAIT_S = 20  # the bound of every wait (a failure, never a pass, if reached)


def start_gateway(tmp, *args, name="gw"):
    key_file = os.path.join(tmp, "api.key")
    with open(key_file, "w") as f:
        f.write("  %s \n" % KEY)  # trimmed by the gateway
    window = [] if "--window-ms" in args else ["--window-ms", "2"]
    return GatewayProcess(BIN, ["--workers", "2", "--rate-limit", "0", *window,
                                "--metrics-listen", "127.0.0.1:0",
                                "--api-listen", "127.0.0.1:0", "--api-key-file", key_file,
                                *args],
                          metrics=True, api=True, log_path=os.path.join(tmp, name + ".log"))


def curl(port, path, *, method=None, data=None, key=KEY, headers=()):
    """One request with curl: (status, parsed JSON body or the raw text, headers text)."""
    cmd = ["curl", "-sS", "--max-time", str(WAIT_S), "-D", "-", "-o", "-"]
    if method:
        cmd += ["-X", method]
    if key is not None:
        cmd += ["-H", "Authorization: Bearer " + key]
    for h in headers:
        cmd += ["-H", h]
    if data is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary",
                data if isinstance(data, str) else json.dumps(data)]
    cmd.append("http://127.0.0.1:%d%s" % (port, path))
    out = subprocess.run(cmd, capture_output=True, timeout=WAIT_S + 5, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    text = body.decode()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return status, parsed, head.decode()


def metric_values(gw, name):
    """{labels text: value} of one metric family from /metrics."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % gw.metrics_port,
                                timeout=WAIT_S) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r"^%s(\{[^}]*\})? (\S+)$" % re.escape(name), line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


class Client:
    """A WebSocket client in one room (JSON sub-protocol) that collects its messages."""

    def __init__(self, ws, hello):
        self.ws, self.hello, self.msgs = ws, hello, []

    @classmethod
    async def connect(cls, gw, room):
        ws = await websockets.connect("%s?room=%s" % (gw.url, room), subprotocols=[JSON_PROTO],
                                      max_size=None, open_timeout=WAIT_S)
        hello = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
        assert hello["t"] == "hello", hello
        return cls(ws, hello)

    async def wait_for(self, pred, what):
        """Reads until pred(msgs) holds; fails after WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while not pred(self.msgs):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %s; got %r" % (what, self.msgs))
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), left))
            if frame.get("t") == "batch":
                self.msgs.extend(m for m in frame["msgs"] if m["t"] == "msg")

    def texts(self):
        return [m["text"] for m in self.msgs]


class PublishApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tidegate-api-test-")
        cls.gw = start_gateway(cls.tmp.name, "--max-message-bytes", "1024",
                               "--api-max-body-bytes", "65536", "--api-request-timeout-ms",
                               "1500", "--api-idle-timeout-s", "5")
        cls.api = cls.gw.api_port

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        cls.tmp.cleanup()
        assert code == 0, "the gateway exited with %r" % code

    def publish(self, body, **kw):
        return curl(self.api, "/api/publish", data=body, **kw)

    def test_published_messages_reach_clients_in_order_with_their_seqs(self):
        async def run():
            a = await Client.connect(self.gw, "order")
            b = await Client.connect(self.gw, "order")
            await a.ws.send(json.dumps({"t": "msg", "text": "client-1", "cid": "k1"}))
            await a.wait_for(lambda m: "client-1" in [x["text"] for x in m], "client-1")
            status, one, _ = self.publish({"room": "order", "text": "api-1", "from": "system"})
            self.assertEqual(status, 200, one)
            self.assertEqual(one["room"], "order")
            self.assertEqual(one["epoch"], a.hello["epoch"])
            await a.ws.send(json.dumps({"t": "msg", "text": "client-2"}))
            await a.wait_for(lambda m: "client-2" in [x["text"] for x in m], "client-2")
            status, many, _ = self.publish([
                {"room": "order", "text": "api-2", "from": "bot:news", "cid": "n-1"},
                {"room": "order", "text": "api-3", "from": "bot:news"},
                {"room": "other", "text": "elsewhere", "from": "system"}])
            self.assertEqual(status, 200, many)
            self.assertEqual(len(many), 3)
            self.assertEqual([r["room"] for r in many], ["order", "order", "other"])
            self.assertEqual(many[1]["seq"], many[0]["seq"] + 1)
            want = ["client-1", "api-1", "client-2", "api-2", "api-3"]
            for c in (a, b):
                await c.wait_for(lambda m: len(m) >= len(want), "every message")
                self.assertEqual(c.texts(), want)
                seqs = {m["text"]: m["seq"] for m in c.msgs}
                self.assertEqual(seqs["api-1"], one["seq"])
                self.assertEqual(seqs["api-2"], many[0]["seq"])
                self.assertEqual(seqs["api-3"], many[1]["seq"])
                # One order: seqs increase with the order the messages were sent in.
                self.assertEqual([m["seq"] for m in c.msgs], sorted(m["seq"] for m in c.msgs))
                by_text = {m["text"]: m for m in c.msgs}
                self.assertEqual(by_text["api-2"]["from"], "bot:news")
                self.assertEqual(by_text["api-2"]["cid"], "n-1")
                self.assertNotIn("cid", by_text["api-3"])
            await a.ws.close()
            await b.ws.close()
            # History holds them, client and API messages alike, with the same seqs.
            status, h, _ = curl(self.api, "/api/rooms/order/history?since=0")
            self.assertEqual(status, 200, h)
            self.assertEqual([m["text"] for m in h["messages"]], want)
            self.assertEqual([m["seq"] for m in h["messages"]], [m["seq"] for m in a.msgs])
            self.assertEqual(h["messages"][3]["cid"], "n-1")
            self.assertEqual(h["messages"][1]["from"], "system")
            self.assertEqual(h["epoch"], a.hello["epoch"])
            self.assertFalse(h["more"])
            self.assertNotIn("gap", h)
        asyncio.run(run())

    def test_history_pages(self):
        seqs = []
        for i in range(7):
            status, r, _ = self.publish({"room": "pages", "text": "m%d" % i, "from": "system"})
            self.assertEqual(status, 200, r)
            seqs.append(r["seq"])
        got, since, pages = [], 0, 0
        while True:
            status, h, _ = curl(self.api, "/api/rooms/pages/history?since=%d&limit=3" % since)
            self.assertEqual(status, 200, h)
            self.assertLessEqual(len(h["messages"]), 3)
            got += h["messages"]
            since = h["next"]
            pages += 1
            if not h["more"]:
                break
            self.assertLess(pages, 10)
        self.assertEqual([m["text"] for m in got], ["m%d" % i for i in range(7)])
        self.assertEqual([m["seq"] for m in got], seqs)
        self.assertEqual(pages, 3)
        # From the middle; past the end; a room nobody used.
        status, h, _ = curl(self.api, "/api/rooms/pages/history?since=%d" % seqs[4])
        self.assertEqual([m["text"] for m in h["messages"]], ["m5", "m6"])
        status, h, _ = curl(self.api, "/api/rooms/pages/history?since=%d" % seqs[6])
        self.assertEqual((h["messages"], h["more"], h["next"]), ([], False, seqs[6]))
        status, h, _ = curl(self.api, "/api/rooms/never-used/history")
        self.assertEqual((status, h["messages"]), (200, []))

    def test_rooms_lists_members(self):
        async def run():
            clients = [await Client.connect(self.gw, "counted") for _ in range(3)]
            try:
                status, r, _ = curl(self.api, "/api/rooms")
                self.assertEqual(status, 200, r)
                rooms = {x["room"]: x for x in r["rooms"]}
                self.assertEqual(rooms["counted"]["members"], 3)
            finally:
                for c in clients:
                    await c.ws.close()
        asyncio.run(run())
        deadline = time.monotonic() + WAIT_S
        while True:  # the leaves reach the directory once the closes are handled
            status, r, _ = curl(self.api, "/api/rooms")
            if {x["room"]: x for x in r["rooms"]}["counted"]["members"] == 0:
                break
            self.assertLess(time.monotonic(), deadline, r)
            time.sleep(0.05)

    def test_errors_are_json(self):
        ok = {"room": "errs", "text": "hi", "from": "system"}
        cases = [
            # (what, request kwargs, status, error code)
            ("no key", dict(path="/api/publish", data=ok, key=None), 401, "unauthorized"),
            ("wrong key", dict(path="/api/publish", data=ok, key=KEY + "x"), 401,
             "unauthorized"),
            ("wrong key, rooms", dict(path="/api/rooms", key="nope"), 401, "unauthorized"),
            ("malformed", dict(path="/api/publish", data='{"room":'), 400, "bad_json"),
            ("missing from", dict(path="/api/publish", data={"room": "r", "text": "x"}), 400,
             "missing_field"),
            ("text not a string", dict(path="/api/publish",
                                       data={"room": "r", "text": 1, "from": "s"}), 400,
             "bad_type"),
            ("bad room", dict(path="/api/publish",
                              data={"room": "a/b", "text": "x", "from": "s"}), 400, "bad_room"),
            ("guest name", dict(path="/api/publish",
                                data={"room": "r", "text": "x", "from": "guest-9"}), 400,
             "bad_name"),
            ("text over --max-message-bytes", dict(
                path="/api/publish", data={"room": "r", "text": "x" * 1025, "from": "s"}), 400,
             "too_big"),
            ("body over --api-max-body-bytes", dict(
                path="/api/publish", data=[ok] * 2000), 413, "body_too_large"),
            ("bad room in the path", dict(path="/api/rooms/a%20b/history"), 400, "bad_room"),
            ("bad since", dict(path="/api/rooms/r/history?since=x"), 400, "bad_request"),
            ("unknown route", dict(path="/api/nothing"), 404, "not_found"),
            ("GET publish", dict(path="/api/publish"), 405, "method_not_allowed"),
            ("POST rooms", dict(path="/api/rooms", data=ok), 405, "method_not_allowed"),
            ("chunked", dict(path="/api/publish", data=ok,
                             headers=("Transfer-Encoding: chunked",)), 411, "length_required"),
        ]
        for what, kw, status, code in cases:
            with self.subTest(what):
                got, body, head = curl(self.api, **kw)
                self.assertEqual(got, status, (what, body))
                self.assertIsInstance(body, dict, (what, body))
                self.assertEqual(body["error"], code, (what, body))
                self.assertTrue(body["message"], (what, body))
                if status == 401:
                    self.assertIn("WWW-Authenticate: Bearer", head)
                if status == 405:
                    self.assertIn("Allow: ", head)
        # Nothing refused was published.
        status, h, _ = curl(self.api, "/api/rooms/errs/history")
        self.assertEqual(h["messages"], [])

    def test_keep_alive_many_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.api, timeout=WAIT_S)
        headers = {"Authorization": "Bearer " + KEY, "Content-Type": "application/json"}
        seqs, sock = [], None
        for i in range(200):
            conn.request("POST", "/api/publish", json.dumps(
                {"room": "keepalive", "text": "k%d" % i, "from": "system"}), headers)
            r = conn.getresponse()
            body = json.loads(r.read())
            self.assertEqual(r.status, 200, body)
            self.assertEqual(r.getheader("Connection"), "keep-alive")
            seqs.append(body["seq"])
            if sock is None:
                sock = conn.sock
            self.assertIs(conn.sock, sock, "the connection was not kept alive")
        conn.request("GET", "/api/rooms/keepalive/history?limit=1000", headers=headers)
        r = conn.getresponse()
        h = json.loads(r.read())
        conn.close()
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + 200)))
        self.assertEqual([m["seq"] for m in h["messages"]], seqs)
        # Two requests in one write (pipelined) are answered in order.
        with socket.create_connection(("127.0.0.1", self.api), timeout=WAIT_S) as s:
            req = ""
            for text in ("p1", "p2"):
                body = json.dumps({"room": "keepalive", "text": text, "from": "system"})
                req += ("POST /api/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                        "Content-Length: %d\r\n\r\n%s" % (KEY, len(body), body))
            s.sendall(req.encode())
            got = b""
            while got.count(b"HTTP/1.1 200") < 2 or not got.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                self.assertTrue(chunk, got)
                got += chunk
            answers = [json.loads(x) for x in re.findall(rb"\{[^{}]*\}", got)]
            self.assertEqual([a["seq"] for a in answers], [seqs[-1] + 1, seqs[-1] + 2])

    def test_expect_100_continue(self):
        body = json.dumps({"room": "expect", "text": "x" * 900, "from": "system"}).encode()
        with socket.create_connection(("127.0.0.1", self.api), timeout=WAIT_S) as s:
            s.sendall(b"POST /api/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + KEY.encode() + b"\r\nExpect: 100-continue\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n")
            got = b""
            while b"\r\n\r\n" not in got:  # the interim answer comes before the body is sent
                chunk = s.recv(65536)
                self.assertTrue(chunk, got)
                got += chunk
            self.assertTrue(got.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), got)
            s.sendall(body)
            got = got[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
            while not got.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                self.assertTrue(chunk, got)
                got += chunk
            self.assertTrue(got.startswith(b"HTTP/1.1 200"), got)
            self.assertIn(b'"room":"expect"', got)

    def test_a_hanging_api_client_costs_the_chat_nothing(self):
        async def run():
            # One API client sends half a head, another a head promising a body it never
            # sends; both just hang there.
            half = socket.create_connection(("127.0.0.1", self.api), timeout=WAIT_S)
            half.sendall(b"POST /api/publish HTTP/1.1\r\nHost: x\r\n")
            nobody = socket.create_connection(("127.0.0.1", self.api), timeout=WAIT_S)
            nobody.sendall(("POST /api/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s"
                            "\r\nContent-Length: 100\r\n\r\n{" % KEY).encode())
            try:
                a = await Client.connect(self.gw, "unstalled")
                for i in range(20):
                    await a.ws.send("chat-%d" % i)
                status, r, _ = self.publish({"room": "unstalled", "text": "api", "from": "s"})
                self.assertEqual(status, 200, r)
                await a.wait_for(lambda m: len(m) >= 21, "the chat and the API message")
                self.assertIn("api", a.texts())
                await a.ws.close()
                # The hanging requests are cut with 408 (--api-request-timeout-ms).
                for s in (half, nobody):
                    got = b""
                    while b"\r\n\r\n" not in got or not got.rstrip().endswith(b"}"):
                        chunk = await asyncio.get_running_loop().run_in_executor(
                            None, s.recv, 65536)
                        if not chunk:
                            break
                        got += chunk
                    self.assertTrue(got.startswith(b"HTTP/1.1 408"), got)
                    self.assertIn(b'"error":"request_timeout"', got)
            finally:
                half.close()
                nobody.close()
        asyncio.run(run())

    def test_requests_are_counted_by_route_and_status(self):
        name = "tidegate_api_requests_total"
        before = metric_values(self.gw, name)
        published_before = metric_values(self.gw, "tidegate_api_published_messages_total")[""]
        self.publish({"room": "counted-m", "text": "x", "from": "s"})
        self.publish([{"room": "counted-m", "text": "y", "from": "s"}] * 2)
        self.publish("{", key=KEY)
        self.publish({"room": "counted-m", "text": "x", "from": "s"}, key="bad")
        curl(self.api, "/api/rooms")
        curl(self.api, "/api/rooms/counted-m/history")
        curl(self.api, "/api/nowhere")
        after = metric_values(self.gw, name)

        def delta(route, status):
            key = '{route="%s",status="%s"}' % (route, status)
            return after[key] - before.get(key, 0)
        self.assertEqual(delta("publish", 200), 2)
        self.assertEqual(delta("publish", 400), 1)
        self.assertEqual(delta("publish", 401), 1)
        self.assertEqual(delta("rooms", 200), 1)
        self.assertEqual(delta("history", 200), 1)
        self.assertEqual(delta("other", 404), 1)
        published = metric_values(self.gw, "tidegate_api_published_messages_total")[""]
        self.assertEqual(published - published_before, 3)
        self.assertIn("", metric_values(self.gw, "tidegate_api_request_duration_seconds_count"))


class HistoryGap(unittest.TestCase):
    """A `since` older than what the log holds: the answer starts at the oldest message
    held and names what is lost in `gap`, as the WebSocket `gap` notice does."""

    def test_gap(self):
        with tempfile.TemporaryDirectory(prefix="tidegate-api-gap-") as tmp:
            gw = start_gateway(tmp, "--history-bytes", "4096")
            try:
                seqs = []
                for i in range(40):  # ~40 KiB of incompressible text: most are evicted
                    text = os.urandom(450).hex()[:900]
                    status, r, _ = curl(gw.api_port, "/api/publish",
                                        data={"room": "g", "text": text, "from": "s"})
                    self.assertEqual(status, 200, r)
                    seqs.append(r["seq"])
                status, h, _ = curl(gw.api_port, "/api/rooms/g/history?since=%d" % seqs[0])
                self.assertEqual(status, 200, h)
                first = h["messages"][0]["seq"]
                self.assertGreater(first, seqs[1], "nothing was evicted")
                self.assertEqual(h["gap"], {"from": seqs[1], "to": first - 1})
                self.assertEqual(h["messages"][-1]["seq"], seqs[-1])
                # Held in full from `since` on: no gap.
                status, h, _ = curl(gw.api_port, "/api/rooms/g/history?since=%d" % (first - 1))
                self.assertNotIn("gap", h)
                self.assertEqual(h["messages"][0]["seq"], first)
                # A `since` of another epoch counts from the start of this one.
                status, h, _ = curl(gw.api_port, "/api/rooms/g/history?since=%d&epoch=1" % seqs[-1])
                self.assertEqual(h["since"], 0)
                self.assertEqual(h["messages"][-1]["seq"], seqs[-1])
            finally:
                self.assertEqual(gw.stop(), 0)


class StartupChecks(unittest.TestCase):
    def run_gateway(self, *args):
        p = subprocess.run([BIN, "--listen", "127.0.0.1:0", "--metrics-listen", "off", *args],
                           capture_output=True, text=True, timeout=WAIT_S)
        return p.returncode, p.stderr

    def test_key_file_is_required_and_checked(self):
        with tempfile.TemporaryDirectory() as tmp:
            code, err = self.run_gateway("--api-listen", "127.0.0.1:0")
            self.assertEqual(code, 2)
            self.assertIn("--api-key-file", err)
            short = os.path.join(tmp, "short")
            with open(short, "w") as f:
                f.write("abc\n")
            code, err = self.run_gateway("--api-listen", "127.0.0.1:0", "--api-key-file", short)
            self.assertNotEqual(code, 0)
            self.assertIn("too short", err)
            code, err = self.run_gateway("--api-listen", "nonsense", "--api-key-file", short)
            self.assertEqual(code, 2)
            self.assertIn("--api-listen wants HOST:PORT", err)


class KeyReload(unittest.TestCase):
    """SIGHUP reads --api-key-file again; a file without a usable key keeps the old one."""

    def wait_accepted(self, gw, key):
        deadline = time.monotonic() + WAIT_S
        while curl(gw.api_port, "/api/rooms", key=key)[0] != 200:
            self.assertLess(time.monotonic(), deadline, "key %r never accepted" % key)
            time.sleep(0.05)

    def test_sighup(self):
        with tempfile.TemporaryDirectory(prefix="tidegate-api-key-") as tmp:
            gw = start_gateway(tmp)
            key_file = os.path.join(tmp, "api.key")
            try:
                self.assertEqual(curl(gw.api_port, "/api/rooms")[0], 200)
                new = "a-new-key-fedcba9876543210"
                with open(key_file, "w") as f:
                    f.write(new + "\n")
                gw.proc.send_signal(signal.SIGHUP)
                self.wait_accepted(gw, new)
                self.assertEqual(curl(gw.api_port, "/api/rooms")[0], 401)
                # An empty file: refused, the running key stays.
                open(key_file, "w").close()
                gw.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + WAIT_S
                while True:
                    with open(os.path.join(tmp, "gw.log")) as f:
                        if "the running key stays" in f.read():
                            break
                    self.assertLess(time.monotonic(), deadline, "the reload was not logged")
                    time.sleep(0.05)
                self.assertEqual(curl(gw.api_port, "/api/rooms", key=new)[0], 200)
            finally:
                self.assertEqual(gw.stop(), 0)


class LimitsAndShutdown(unittest.TestCase):
    def test_connections_over_the_limit_are_closed(self):
        with tempfile.TemporaryDirectory(prefix="tidegate-api-limit-") as tmp:
            gw = start_gateway(tmp, "--api-max-connections", "2")
            try:
                held = [http.client.HTTPConnection("127.0.0.1", gw.api_port, timeout=WAIT_S)
                        for _ in range(2)]
                for conn in held:  # each accepted and served, and kept alive
                    conn.request("GET", "/api/rooms", headers={"Authorization": "Bearer " + KEY})
                    r = conn.getresponse()
                    r.read()
                    self.assertEqual(r.status, 200)
                with socket.create_connection(("127.0.0.1", gw.api_port), timeout=WAIT_S) as s:
                    s.sendall(b"GET /api/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                              + KEY.encode() + b"\r\n\r\n")
                    try:
                        got = s.recv(65536)
                    except ConnectionResetError:
                        got = b""
                    self.assertEqual(got, b"", "a third connection was served")
                held[0].close()
                deadline = time.monotonic() + WAIT_S
                while metric_values(gw, "tidegate_api_connections")[""] > 1:
                    self.assertLess(time.monotonic(), deadline, "the close was not seen")
                    time.sleep(0.05)
                self.assertEqual(curl(gw.api_port, "/api/rooms")[0], 200)
                held[1].close()
            finally:
                self.assertEqual(gw.stop(), 0)

    def test_shutdown_answers_what_was_handed_in(self):
        """SIGTERM while a publish waits in a long window: the last flush gives it its seq
        and it is answered 200; a request after that is refused (the listener is closed)."""
        with tempfile.TemporaryDirectory(prefix="tidegate-api-stop-") as tmp:
            gw = start_gateway(tmp, "--window-ms", "10000")
            try:
                result = {}

                def publish():
                    result["r"] = curl(gw.api_port, "/api/publish",
                                       data={"room": "last", "text": "bye", "from": "system"})
                t = threading.Thread(target=publish)
                t.start()
                # The publish entered its room in the directory when it was handed to the
                # Batcher (same loop turn): the room count says it is in.
                deadline = time.monotonic() + WAIT_S
                while metric_values(gw, "tidegate_rooms")[""] < 1:
                    self.assertLess(time.monotonic(), deadline, "the publish never arrived")
                    time.sleep(0.02)
                gw.send_signal(signal.SIGTERM)
                t.join(WAIT_S + 5)
                self.assertFalse(t.is_alive())
                status, body, _ = result["r"]
                self.assertEqual(status, 200, body)
                self.assertEqual(body["room"], "last")
                self.assertGreaterEqual(body["seq"], 1)
            finally:
                self.assertEqual(gw.stop(), 0)


class ClusterApi(unittest.TestCase):
    """Cluster mode: the API works on any node."""

    def test_publish_on_a_history_on_b(self):
        if shutil.which("redis-server") is None:
            raise AssertionError("redis-server is not installed (scripts/setup.d/cluster.sh)")
        with tempfile.TemporaryDirectory(prefix="tidegate-api-cluster-") as tmp:
            redis = RedisProcess(dir=os.path.join(tmp, "redis"), port=free_port()).start()
            nodes = []
            try:
                for name in ("a", "b"):
                    nodes.append(start_gateway(tmp, "--redis", redis.url,
                                               "--api-request-timeout-ms", "1000", name=name))
                a, b = nodes
                for gw in nodes:  # the link to Redis is up once /readyz answers 200
                    deadline = time.monotonic() + WAIT_S
                    while True:
                        try:
                            with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % gw.port,
                                                        timeout=5) as r:
                                if r.status == 200:
                                    break
                        except OSError:
                            pass
                        self.assertLess(time.monotonic(), deadline, "node not ready")
                        time.sleep(0.05)

                async def run():
                    c = await Client.connect(b, "cl")
                    status, r, _ = curl(a.api_port, "/api/publish",
                                        data={"room": "cl", "text": "from-a", "from": "system"})
                    self.assertEqual(status, 200, r)
                    self.assertEqual(r["epoch"], c.hello["epoch"])
                    await c.wait_for(lambda m: len(m) >= 1, "the message published on node A")
                    self.assertEqual(c.msgs[0]["text"], "from-a")
                    self.assertEqual(c.msgs[0]["seq"], r["seq"])
                    await c.ws.close()
                asyncio.run(run())
                # A room node B never had open: its history is read from Redis.
                status, many, _ = curl(a.api_port, "/api/publish", data=[
                    {"room": "only-a", "text": "h%d" % i, "from": "system"} for i in range(5)])
                self.assertEqual(status, 200, many)
                status, h, _ = curl(b.api_port, "/api/rooms/only-a/history?since=0")
                self.assertEqual(status, 200, h)
                self.assertEqual([m["text"] for m in h["messages"]], ["h%d" % i for i in range(5)])
                self.assertEqual([m["seq"] for m in h["messages"]], [x["seq"] for x in many])
                self.assertEqual(h["epoch"], many[0]["epoch"])
                # Publishing on B into it continues the same seqs.
                status, r, _ = curl(b.api_port, "/api/publish",
                                    data={"room": "only-a", "text": "from-b", "from": "system"})
                self.assertEqual((status, r["seq"]), (200, many[-1]["seq"] + 1), r)
                # Redis not answering: the request is answered at its deadline (504),
                # not left hanging.
                os.kill(redis.pid, signal.SIGSTOP)
                try:
                    status, r, _ = curl(a.api_port, "/api/publish",
                                        data={"room": "cl", "text": "late", "from": "system"})
                finally:
                    os.kill(redis.pid, signal.SIGCONT)
                self.assertEqual(status, 504, r)
                self.assertEqual(r["error"], "timeout")
                self.assertEqual(r["results"], [{"room": "cl", "error": "timeout"}])
                # Redis gone: a publish is refused with 503, never left hanging.
                redis.stop()
                deadline = time.monotonic() + WAIT_S
                while True:
                    status, r, _ = curl(a.api_port, "/api/publish",
                                        data={"room": "cl", "text": "lost", "from": "system"})
                    if status == 503:
                        break
                    self.assertEqual(status, 200, r)  # before the link noticed
                    self.assertLess(time.monotonic(), deadline, "never refused")
                    time.sleep(0.1)
                self.assertEqual(r["error"], "unavailable")
            finally:
                codes = [gw.stop() for gw in nodes]
                redis.close()
            self.assertEqual(codes, [0, 0])


if __name__ == "__main__":
    unittest.main()
