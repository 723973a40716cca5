"""Authentication against the real gateway (TIDEGATE_BIN): tokens minted here with PyJWT
(python3-jwt, python3-cryptography) and by hand for the forgeries PyJWT will not make,
clients from python3-websockets. --auth required, optional and off; 401 and 403 at the
handshake with their reasons, every bad token refused, forbidden joins, messages and
names, refresh, the close on expiry, other clients unaffected, the counters in /metrics.
Run with /usr/bin/python3.
"""
import asyncio
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import sys
import tempfile
import time
import unittest
import urllib.request

import jwt
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402
from redis_process import RedisProcess, free_port  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
SECRET = b"integration-test-secret-0123456789abcdef"
STEP = 10  # seconds any single wait may take


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header, claims, key):
    """An HS256-style token whose HMAC key is `key`, whatever the header says."""
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    mac = hmac.new(key, head.encode(), hashlib.sha256).digest()
    return head + "." + b64url(mac)


def pem_public(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def http_get(port, target, headers=()):
    """A raw GET (an upgrade when the headers say so): (status, headers text, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=STEP) as s:
        lines = ["GET %s HTTP/1.1" % target, "Host: 127.0.0.1:%d" % port] + list(headers)
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = [int(h.split(b":")[1]) for h in head.split(b"\r\n")
                          if h.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, head.decode(), body.decode()


UPGRADE = ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="]


async def recv_json(ws, timeout=STEP):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, pred, timeout=STEP):
    """Frames until one satisfies `pred`; returns it (the others are dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        m = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if pred(m):
            return m


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=STEP) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("tidegate_auth_refused_total{"):
            reason = line.split('reason="')[1].split('"')[0]
            out[reason] = float(line.rsplit(" ", 1)[1])
    return out


class AuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cls.other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cls.ec = ec.generate_private_key(ec.SECP256R1())
        cls.secret_file = os.path.join(cls.tmp.name, "hs256.secret")
        with open(cls.secret_file, "wb") as f:
            f.write(SECRET + b"\n")
        cls.rsa_file = os.path.join(cls.tmp.name, "rsa.pem")
        with open(cls.rsa_file, "wb") as f:
            f.write(pem_public(cls.rsa))
        cls.ec_file = os.path.join(cls.tmp.name, "ec.pem")
        with open(cls.ec_file, "wb") as f:
            f.write(pem_public(cls.ec))
        cls.gateways = []

    @classmethod
    def tearDownClass(cls):
        for gw in cls.gateways:
            gw.stop()
        cls.tmp.cleanup()

    def gateway(self, *args):
        gw = GatewayProcess(BIN, ["--workers", "2", "--metrics-listen", "127.0.0.1:0",
                                  "--rate-limit", "0", *args], metrics=True)
        self.gateways.append(gw)
        return gw

    def hs(self, sub="alice", ttl=300, **claims):
        now = int(time.time())
        return jwt.encode({"sub": sub, "iat": now, "exp": now + ttl, **claims}, SECRET,
                          algorithm="HS256")

    def rs(self, sub="alice", ttl=300, key=None, **claims):
        now = int(time.time())
        return jwt.encode({"sub": sub, "exp": now + ttl, **claims}, key or self.rsa,
                          algorithm="RS256")

    # --- --auth required -------------------------------------------------------------

    def test_required_handshake_refusals(self):
        gw = self.gateway("--auth", "required", "--jwt-hs256-secret-file", self.secret_file,
                          "--jwt-public-key", self.rsa_file, "--jwt-leeway-s", "0",
                          "--max-header-bytes", "65536")
        now = int(time.time())
        good = {"sub": "alice", "exp": now + 300}
        bad = {
            "alg_none": ("bad_alg", jwt.encode(good, None, algorithm="none")),
            "alg_confusion": ("bad_signature",
                              hand_signed({"alg": "HS256", "typ": "JWT"}, good,
                                          pem_public(self.rsa))),
            "wrong_key": ("bad_signature", self.rs(key=self.other_rsa)),
            "wrong_secret": ("bad_signature",
                             jwt.encode(good, SECRET + b"x", algorithm="HS256")),
            "bad_signature": ("bad_signature", self.hs()[:-4] + "AAAA"),
            "expired": ("expired", self.hs(ttl=-5)),
            "not_yet_valid": ("not_yet_valid", self.hs(nbf=now + 600)),
            "malformed": ("malformed", "not.a-token"),
            "two_parts": ("malformed", "abc.def"),
            "huge": ("too_long", "a" * (16 << 10)),
            "sub_number": ("bad_claims", jwt.encode({"sub": 42}, SECRET, algorithm="HS256")),
            "exp_string": ("bad_claims",
                           jwt.encode({"sub": "a", "exp": "soon"}, SECRET, algorithm="HS256")),
            "rooms_string": ("bad_claims", self.hs(rooms="lobby")),
            "name_number": ("bad_claims", self.hs(name=7)),
            "es256_without_key": ("bad_alg", jwt.encode(good, self.ec, algorithm="ES256")),
        }
        before = scrape(gw.metrics_port)
        for what, (reason, token) in bad.items():
            with self.subTest(what):
                status, head, body = http_get(gw.port, "/ws?room=lobby&token=" + token, UPGRADE)
                self.assertEqual(status, 401, body)
                self.assertIn('WWW-Authenticate: Bearer realm="tidegate", error="invalid_token"',
                              head)
                self.assertNotIn(token[:40], body)  # the reason, never the token
        # The same refusals through the Authorization header.
        status, head, body = http_get(gw.port, "/ws",
                                      UPGRADE + ["Authorization: Bearer " + bad["expired"][1]])
        self.assertEqual(status, 401)
        self.assertIn("expired", body)
        # No token at all: 401 without an error code (RFC 6750 3.1).
        status, head, body = http_get(gw.port, "/ws?room=lobby", UPGRADE)
        self.assertEqual(status, 401)
        self.assertIn('WWW-Authenticate: Bearer realm="tidegate"\r\n', head + "\r\n")
        self.assertIn("token is required", body)
        # A good token for another room: 403.
        token = self.hs(rooms=["other"])
        status, head, body = http_get(gw.port, "/ws?room=lobby&token=" + token, UPGRADE)
        self.assertEqual(status, 403)
        self.assertIn('error="insufficient_scope"', head)
        # Both a query token and a header: 400.
        status, _, _ = http_get(gw.port, "/ws?token=" + self.hs(),
                                UPGRADE + ["Authorization: Bearer " + self.hs()])
        self.assertEqual(status, 400)
        # GET /auth tells a page what its upgrade would get (it cannot see the status).
        status, _, body = http_get(gw.port, "/auth?room=lobby",
                                   ["Authorization: Bearer " + self.hs(name="Ann")])
        self.assertEqual((status, body), (200, "ok: Ann\n"))
        status, _, body = http_get(gw.port, "/auth?room=lobby",
                                   ["Authorization: Bearer " + self.hs(ttl=-5)])
        self.assertEqual((status, body), (401, "the token has expired\n"))
        status, _, body = http_get(gw.port, "/auth?room=lobby",
                                   ["Authorization: Bearer " + self.hs(rooms=["x"])])
        self.assertEqual(status, 403)
        # Over --max-header-bytes a huge token never reaches the check: 431.
        small = self.gateway("--auth", "required", "--jwt-hs256-secret-file", self.secret_file)
        status, _, _ = http_get(small.port, "/ws?token=" + "a" * (16 << 10), UPGRADE)
        self.assertEqual(status, 431)

        after = scrape(gw.metrics_port)
        want = {}
        for reason, _ in bad.values():
            want[reason] = want.get(reason, 0) + 1
        want["expired"] += 2  # the header's, /auth's
        want["missing_token"] = 1
        want["forbidden_room"] = 2  # the upgrade's, /auth's
        for reason, n in want.items():
            self.assertEqual(after.get(reason, 0) - before.get(reason, 0), n, reason)

        # Good tokens of both kinds still get in, in the header or the query.
        async def good_ones():
            async with websockets.connect(gw.url + "?token=" + self.rs(name="Alice R")) as ws:
                self.assertEqual((await recv_json(ws))["name"], "Alice R")
            async with websockets.connect(
                    gw.url, extra_headers={"Authorization": "Bearer " + self.hs(sub="bob")}) as ws:
                self.assertEqual((await recv_json(ws))["name"], "bob")
        asyncio.run(good_ones())

    def test_es256(self):
        gw = self.gateway("--auth", "required", "--jwt-public-key", self.ec_file)
        now = int(time.time())

        async def scenario():
            token = jwt.encode({"sub": "erin", "exp": now + 60}, self.ec, algorithm="ES256")
            async with websockets.connect(gw.url + "?token=" + token) as ws:
                self.assertEqual((await recv_json(ws))["name"], "erin")
        asyncio.run(scenario())
        status, _, _ = http_get(gw.port, "/ws?token=" + self.rs(), UPGRADE)
        self.assertEqual(status, 401)
        self.assertEqual(scrape(gw.metrics_port).get("bad_alg"), 1)

    def test_required_session(self):
        gw = self.gateway("--auth", "required", "--jwt-hs256-secret-file", self.secret_file,
                          "--jwt-leeway-s", "0")

        async def scenario():
            # A bystander with every room, and two tabs of one user limited to some rooms.
            by = await websockets.connect(gw.url + "?room=lobby&token=" + self.hs(sub="bystander"))
            self.assertEqual((await recv_json(by))["name"], "bystander")
            rooms = {"read": ["lobby", "team.*", "news"], "publish": ["lobby", "team.*"]}
            tab1 = await websockets.connect(
                gw.url + "?room=lobby&token=" + self.hs(sub="u1", name="Carol", rooms=rooms))
            tab2 = await websockets.connect(
                gw.url + "?room=lobby&name=Carol&token=" + self.hs(sub="u1", name="Carol",
                                                                     rooms=rooms))
            for tab in (tab1, tab2):  # two tabs share the name: neither is name_taken
                hello = await recv_json(tab)
                self.assertEqual(hello["name"], "Carol")
            # A join it cannot read, a message where it cannot publish (with its cid).
            await tab1.send(json.dumps({"t": "join", "room": "secret"}))
            err = await recv_until(tab1, lambda m: m["t"] == "error")
            self.assertEqual(err["code"], "forbidden")
            await tab1.send(json.dumps({"t": "join", "room": "team.a"}))
            await recv_until(tab1, lambda m: m["t"] == "joined" and m["room"] == "team.a")
            await tab1.send(json.dumps({"t": "join", "room": "team"}))  # team.* is not team
            self.assertEqual((await recv_until(tab1, lambda m: m["t"] == "error"))["code"],
                             "forbidden")
            await tab1.send(json.dumps({"t": "join", "room": "news"}))
            await recv_until(tab1, lambda m: m["t"] == "joined" and m["room"] == "news")
            await tab1.send(json.dumps({"t": "msg", "room": "news", "text": "x", "cid": "c-1"}))
            err = await recv_until(tab1, lambda m: m["t"] == "error")
            self.assertEqual((err["code"], err.get("cid")), ("forbidden", "c-1"))
            # The name cannot be changed.
            await tab1.send(json.dumps({"t": "name", "name": "Mallory"}))
            self.assertEqual((await recv_until(tab1, lambda m: m["t"] == "error"))["code"],
                             "forbidden")
            # A message it may send arrives, from the token's name.
            await tab1.send(json.dumps({"t": "msg", "room": "lobby", "text": "hi", "cid": "c-2"}))
            m = await recv_until(by, lambda m: m["t"] == "batch" and any(
                e.get("cid") == "c-2" for e in m["msgs"]))
            self.assertEqual([e["from"] for e in m["msgs"] if e.get("cid") == "c-2"], ["Carol"])

            # Refresh: a bad token, another user's, then a good one with fewer rooms.
            await tab1.send(json.dumps({"t": "refresh", "token": self.hs(sub="u1", ttl=-5)}))
            self.assertEqual((await recv_until(tab1, lambda m: m["t"] == "error"))["code"],
                             "invalid_token")
            await tab1.send(json.dumps({"t": "refresh", "token": self.hs(sub="u2")}))
            self.assertEqual((await recv_until(tab1, lambda m: m["t"] == "error"))["code"],
                             "forbidden")
            fresh = self.hs(sub="u1", ttl=600, rooms=["lobby"])
            await tab1.send(json.dumps({"t": "refresh", "token": fresh}))
            got = []
            while not any(m["t"] == "refreshed" for m in got):
                got.append(await recv_json(tab1))
            left = sorted(m["room"] for m in got if m["t"] == "left")
            self.assertEqual(left, ["news", "team.a"])
            self.assertEqual(got[-1]["exp"], jwt.decode(fresh, options={"verify_signature": False})["exp"])

            # Expiry: one session refreshed in time stays, one not is closed with 1008.
            short = await websockets.connect(gw.url + "?token=" + self.hs(sub="s1", ttl=4))
            kept = await websockets.connect(gw.url + "?token=" + self.hs(sub="s2", ttl=4))
            await recv_json(short)
            await recv_json(kept)
            await kept.send(json.dumps({"t": "refresh", "token": self.hs(sub="s2", ttl=60)}))
            await recv_until(kept, lambda m: m["t"] == "refreshed")
            notices = []
            try:
                while True:
                    notices.append(await recv_json(short, STEP))
            except websockets.ConnectionClosed:
                pass
            self.assertEqual(short.close_code, 1008)
            self.assertEqual(short.close_reason, "token expired")
            self.assertIn("token_expired", [m.get("code") for m in notices])
            await kept.send(json.dumps({"t": "ping", "id": 1}))
            self.assertEqual((await recv_until(kept, lambda m: m["t"] == "pong"))["id"], 1)

            # Nothing of this cost the bystander anything: still open, still served.
            await tab2.send(json.dumps({"t": "msg", "text": "bye", "cid": "c-3"}))
            await recv_until(by, lambda m: m["t"] == "batch" and any(
                e.get("cid") == "c-3" for e in m["msgs"]))
            self.assertIsNone(by.close_code)
            for ws in (by, tab1, tab2, kept):
                await ws.close()

        asyncio.run(scenario())
        counts = scrape(gw.metrics_port)
        for reason in ("forbidden_join", "forbidden_publish", "forbidden_name", "expired",
                       "other_user", "session_expired"):
            self.assertGreaterEqual(counts.get(reason, 0), 1, reason)
        self.assertEqual(counts["forbidden_join"], 2)
        self.assertEqual(counts["session_expired"], 1)

    def test_sighup_reads_the_keys_again(self):
        secret_file = os.path.join(self.tmp.name, "rotating.secret")
        old, new = b"old-secret-0123456789abcdefghijklmnop", b"new-secret-0123456789abcdefghijklmnop"
        with open(secret_file, "wb") as f:
            f.write(old)
        log = os.path.join(self.tmp.name, "sighup.log")
        gw = GatewayProcess(BIN, ["--workers", "2", "--metrics-listen", "off", "--auth", "required",
                                  "--jwt-hs256-secret-file", secret_file], log_path=log)
        self.gateways.append(gw)

        def status(secret):
            tok = jwt.encode({"sub": "rot", "exp": int(time.time()) + 60}, secret, algorithm="HS256")
            return http_get(gw.port, "/auth?room=lobby", ["Authorization: Bearer " + tok])[0]

        def wait_logged(text):
            deadline = time.monotonic() + STEP
            while time.monotonic() < deadline:
                with open(log) as f:
                    if f.read().count(text) >= 1:
                        return
                time.sleep(0.05)
            self.fail("not logged: " + text)

        self.assertEqual((status(old), status(new)), (200, 401))
        with open(secret_file, "wb") as f:
            f.write(new)
        os.kill(gw.pid, signal.SIGHUP)
        wait_logged("reload: applied jwt keys (read again)")
        self.assertEqual((status(old), status(new)), (401, 200))
        with open(secret_file, "wb") as f:
            f.write(b"short")  # not a usable secret: the reload fails, the key stays
        os.kill(gw.pid, signal.SIGHUP)
        wait_logged("reload failed")
        self.assertEqual((status(old), status(new)), (401, 200))

    # --- --auth optional -------------------------------------------------------------

    def test_optional(self):
        gw = self.gateway("--auth", "optional", "--jwt-hs256-secret-file", self.secret_file,
                          "--anonymous-rooms", "lobby,public.*")

        async def scenario():
            anon = await websockets.connect(gw.url + "?room=lobby&name=Carol")
            hello = await recv_json(anon)
            self.assertTrue(hello["name"].startswith("guest-"))
            # ?name= is refused: anonymous users keep their guest names.
            self.assertEqual((await recv_until(anon, lambda m: m["t"] == "error"))["code"],
                             "forbidden")
            await anon.send(json.dumps({"t": "name", "name": "Carol"}))
            self.assertEqual((await recv_until(anon, lambda m: m["t"] == "error"))["code"],
                             "forbidden")
            await anon.send(json.dumps({"t": "join", "room": "members"}))
            self.assertEqual((await recv_until(anon, lambda m: m["t"] == "error"))["code"],
                             "forbidden")
            await anon.send(json.dumps({"t": "join", "room": "public.x"}))
            await recv_until(anon, lambda m: m["t"] == "joined")
            await anon.send(json.dumps({"t": "refresh", "token": self.hs()}))
            self.assertEqual((await recv_until(anon, lambda m: m["t"] == "error"))["code"],
                             "forbidden")
            user = await websockets.connect(gw.url + "?room=members&token=" + self.hs(name="Carol"))
            self.assertEqual((await recv_json(user))["name"], "Carol")
            await user.send(json.dumps({"t": "msg", "text": "members only", "cid": "m1"}))
            await recv_until(user, lambda m: m["t"] == "batch" and any(
                e.get("cid") == "m1" for e in m["msgs"]))
            await anon.close()
            await user.close()

        asyncio.run(scenario())
        status, head, body = http_get(gw.port, "/ws?room=members", UPGRADE)
        self.assertEqual(status, 403)
        self.assertIn("needs a token", body)
        # A bad token is refused, not served as anonymous.
        status, _, _ = http_get(gw.port, "/ws?room=lobby&token=" + self.hs(ttl=-60), UPGRADE)
        self.assertEqual(status, 401)

    # --- cluster mode: names are claimed in Redis, a token's never ------------------------

    def test_cluster_names(self):
        redis = RedisProcess(dir=os.path.join(self.tmp.name, "redis"), port=free_port())
        redis.start()
        nodes = []
        try:
            nodes += [self.gateway("--auth", "optional", "--jwt-hs256-secret-file",
                                  self.secret_file, "--redis", redis.url) for _ in range(2)]
            for gw in nodes:  # /readyz: the node's link to Redis is up
                deadline = time.monotonic() + STEP
                while http_get(gw.port, "/readyz")[0] != 200:
                    self.assertLess(time.monotonic(), deadline, "node not ready")
                    time.sleep(0.1)

            async def scenario():
                token = self.hs(sub="u7", name="Carol")
                tabs = [await websockets.connect(gw.url + "?room=lobby&token=" + token)
                        for gw in nodes]
                for tab in tabs:  # one user on two nodes: one name, no name_taken
                    self.assertEqual((await recv_json(tab))["name"], "Carol")
                anon = await websockets.connect(nodes[1].url + "?room=lobby")
                self.assertTrue((await recv_json(anon))["name"].startswith("guest-"))
                await anon.send(json.dumps({"t": "name", "name": "Carol"}))
                self.assertEqual((await recv_until(anon, lambda m: m["t"] == "error"))["code"],
                                 "forbidden")
                await tabs[0].send(json.dumps({"t": "msg", "text": "from node 0", "cid": "k1"}))
                for ws in (tabs[1], anon):
                    m = await recv_until(ws, lambda m: m["t"] == "batch" and any(
                        e.get("cid") == "k1" for e in m["msgs"]))
                    self.assertEqual([e["from"] for e in m["msgs"] if e.get("cid") == "k1"],
                                     ["Carol"])
                await tabs[0].close()  # one tab gone: the other keeps its name and rooms
                await tabs[1].send(json.dumps({"t": "msg", "text": "still", "cid": "k2"}))
                await recv_until(anon, lambda m: m["t"] == "batch" and any(
                    e.get("cid") == "k2" and e["from"] == "Carol" for e in m["msgs"]))
                for ws in (tabs[1], anon):
                    await ws.close()

            asyncio.run(scenario())
        finally:
            for gw in nodes:  # before Redis, so that they do not see it go
                gw.stop()
            redis.stop()

    # --- --auth off: the demo as it was ------------------------------------------------

    def test_off_ignores_tokens(self):
        gw = self.gateway()

        async def scenario():
            async with websockets.connect(gw.url + "?room=any&name=dave&token=garbage") as ws:
                self.assertEqual((await recv_json(ws))["name"], "dave")
                await ws.send(json.dumps({"t": "name", "name": "dave2"}))
                self.assertEqual((await recv_until(ws, lambda m: m["t"] != "batch"))["t"],
                                 "named")

        asyncio.run(scenario())

    def test_startup_errors(self):
        import subprocess
        for args, text in [
            (["--auth", "required"], "needs a key"),
            (["--auth", "optional", "--jwt-public-key", self.secret_file], "PEM"),
            (["--auth", "required", "--jwt-hs256-secret-file", "/nonexistent/x"], "cannot read"),
            (["--anonymous-rooms", "a b"], "--anonymous-rooms"),
        ]:
            p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=STEP)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(text, p.stderr)


if __name__ == "__main__":
    unittest.main()
