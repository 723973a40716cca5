"""--tls-cert/--tls-key: the gateway (TIDEGATE_BIN) over TLS, against Python's own ssl
module and python3-websockets, with certificates `openssl req` makes in a temporary
directory: the page, /healthz and /stats over https://, chat over wss:// in both
subprotocols, a plaintext request, a handshake that never finishes and garbage on the TLS
port cut and counted, a SIGHUP that swaps the certificate under load without dropping
anyone, a reload with a broken key that keeps the old pair, and the startup errors.
Run with /usr/bin/python3.
"""
import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import warnings

import websockets
import zstandard

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
ZSTD = "tidegate.v1.zstd"
JSON = "tidegate.v1.json"


def make_cert(directory, name, cn, serial, days=1):
    """NAME.crt and NAME.key: a P-256 self-signed certificate for 127.0.0.1 and localhost."""
    crt, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                    "-days", str(days), "-subj", "/CN=" + cn, "-set_serial", str(serial),
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return crt, key


def client_context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True
    return ctx


def metric(port, name):
    """The value of one series of the gateway's /metrics (e.g. `x_total{result="ok"}`)."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("no series %s in /metrics" % name)


def handshakes(port, result):
    return metric(port, 'tidegate_tls_handshakes_total{result="%s"}' % result)


def read_until_closed(sock, timeout=10):
    """Everything the peer sends until it closes (EOF or reset)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, True
        except socket.timeout:
            return data, False
        if not chunk:
            return data, True
        data += chunk
    return data, False


def client_hello():
    """The first bytes a real TLS client sends (a ClientHello), from ssl's MemoryBIO."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_side=False)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def wait_for(pred, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def peer_cert(port, cafile):
    """The subject CN and serial the gateway shows a new connection now."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with client_context(cafile).wrap_socket(raw, server_hostname="127.0.0.1") as s:
            cert = s.getpeercert()
    cn = dict(x[0] for x in cert["subject"])["commonName"]
    return cn, int(cert["serialNumber"], 16)


class TlsGateway(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tg-tls-")
        self.crt, self.key = make_cert(self.tmp, "a", "gateway-a", 1001)
        self.log = os.path.join(self.tmp, "gateway.log")
        self.gw = None

    def tearDown(self):
        code, log = 0, ""
        if self.gw:
            code = self.gw.stop()
            log = self.logged()
        shutil.rmtree(self.tmp, ignore_errors=True)
        # A clean exit: no crash, no sanitizer report at exit.
        self.assertEqual(code, 0, log[-3000:])

    def start(self, *args, crt=None, key=None):
        self.gw = GatewayProcess(BIN, ["--tls-cert", crt or self.crt, "--tls-key", key or self.key,
                                       "--metrics-listen", "127.0.0.1:0", "--workers", "2",
                                       "--log-level", "debug", *args],
                                 metrics=True, log_path=self.log)
        return self.gw

    def logged(self):
        with open(self.log) as f:
            return f.read()

    def get(self, path, cafile=None):
        ctx = client_context(cafile or self.crt)
        url = "https://127.0.0.1:%d%s" % (self.gw.port, path)
        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
            return r.status, r.headers, r.read()

    def test_page_healthz_and_stats_over_https(self):
        self.start()
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertIn(b"<html", body.lower())
        self.assertEqual(self.get("/healthz")[2], b"ok\n")
        stats = json.loads(self.get("/stats")[2])
        self.assertIn("clients", stats)
        self.assertGreaterEqual(handshakes(self.gw.metrics_port, "ok"), 3)
        # TLS 1.2 and 1.3 only, with ALPN http/1.1.
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as raw:
            ctx = client_context(self.crt)
            ctx.set_alpn_protocols(["http/1.1"])
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.assertEqual(s.version(), "TLSv1.3")
                self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
        for old in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            ctx = client_context(self.crt)
            try:
                with warnings.catch_warnings():  # deprecated: which is the point
                    warnings.simplefilter("ignore", DeprecationWarning)
                    ctx.minimum_version = ctx.maximum_version = old
            except ValueError:
                continue  # this Python cannot even offer it
            with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as raw:
                with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                    ctx.wrap_socket(raw, server_hostname="localhost").close()
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as raw:
            ctx = client_context(self.crt)
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.assertEqual(s.version(), "TLSv1.2")

    def test_session_ticket_and_close_notify_go_out(self):
        self.start()
        ctx = client_context(self.crt)
        # Debian's Python sets OP_IGNORE_UNEXPECTED_EOF: without it, and without
        # suppress_ragged_eofs, an end without close_notify is an error.
        ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost",
                                 suppress_ragged_eofs=False) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while True:
                    # An end without close_notify raises SSLEOFError here.
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data)
                self.assertTrue(data.endswith(b"ok\n"), data)
                # TLS 1.3's NewSessionTicket came after the handshake.
                self.assertTrue(s.session is not None and s.session.has_ticket)
                session = s.session
        # ... and resumes a session.
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 "))
                self.assertTrue(s.session_reused)

    def test_chat_over_wss_in_both_subprotocols(self):
        self.start()
        url = "wss://127.0.0.1:%d/ws?room=tls&name=" % self.gw.port
        ctx = client_context(self.crt)

        async def scenario():
            z = await websockets.connect(url + "z", ssl=ctx, subprotocols=[ZSTD], max_size=None)
            j = await websockets.connect(url + "j", ssl=ctx, subprotocols=[JSON], max_size=None)
            self.assertEqual(z.subprotocol, ZSTD)
            self.assertEqual(j.subprotocol, JSON)
            for ws in (z, j):
                self.assertEqual(json.loads(await asyncio.wait_for(ws.recv(), 10))["t"], "hello")
            big = "y" * 3000
            for i in range(40):  # enough to need several records per write
                await j.send(json.dumps({"t": "msg", "text": "%d %s" % (i, big), "cid": str(i)}))
            got = {}
            dctx = zstandard.ZstdDecompressor()
            for ws in (z, j):
                texts = []
                while len(texts) < 40:
                    frame = await asyncio.wait_for(ws.recv(), 10)
                    if isinstance(frame, bytes):
                        self.assertIs(ws, z, "binary frame on json")
                        frame = dctx.decompress(frame)
                    doc = json.loads(frame)
                    if doc["t"] == "batch":
                        texts += [e["text"] for e in doc["msgs"] if e["t"] == "msg"]
                got[ws] = texts
            self.assertEqual(got[z], ["%d %s" % (i, big) for i in range(40)])
            self.assertEqual(got[j], got[z])
            await z.close()
            await j.close()
            self.assertEqual(z.close_code, 1000)

        asyncio.run(scenario())

    def test_plaintext_request_is_answered_400_cut_and_counted(self):
        self.start()
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")  # in two pieces: counted once
            time.sleep(0.05)
            try:
                s.sendall(b"Host: x\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
            data, closed = read_until_closed(s)
        self.assertTrue(closed, "the connection was left open")
        self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data)
        self.assertIn(b"this port speaks TLS", data)
        self.assertTrue(wait_for(lambda: handshakes(self.gw.metrics_port, "plaintext_http") == 1))
        self.assertEqual(self.get("/healthz")[2], b"ok\n")  # and nothing else is hurt

    def test_handshake_that_never_finishes_is_cut_at_the_deadline(self):
        self.start("--handshake-timeout-ms", "300")
        hello = client_hello()
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as silent, \
                socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as half:
            half.sendall(hello[:len(hello) // 2])  # half a ClientHello, then nothing
            for s in (silent, half):
                data, closed = read_until_closed(s, timeout=8)
                self.assertTrue(closed, "not cut at the deadline")
                self.assertEqual(data, b"")
        self.assertTrue(wait_for(lambda: handshakes(self.gw.metrics_port, "timeout") == 2))
        self.assertEqual(
            metric(self.gw.metrics_port, 'tidegate_connections_closed_total{reason="handshake_timeout"}'),
            2)
        self.assertEqual(self.get("/healthz")[2], b"ok\n")

    def test_garbage_is_cut_and_counted(self):
        self.start()
        garbage = [
            b"\x16\x03\x01\x00\x08\x01\x00\x00\x04\x99\x99\x99\x99",  # a nonsense ClientHello
            bytes(range(1, 200)),                                   # not TLS at all
            b"\x16\x03\x01\x40\x00" + b"\x00" * 20000,              # an oversized record
        ]
        for g in garbage:
            with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as s:
                try:
                    s.sendall(g)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                data, closed = read_until_closed(s)
                self.assertTrue(closed, g[:8])
                self.assertNotIn(b"HTTP/", data)  # a TLS alert at most
        self.assertTrue(wait_for(lambda: handshakes(self.gw.metrics_port, "failed") == 3))
        self.assertEqual(handshakes(self.gw.metrics_port, "ok"), 0)
        self.assertEqual(self.get("/healthz")[2], b"ok\n")
        self.assertIn("TLS handshake: ", self.logged())  # --log-level debug says why

    def test_reload_under_load_drops_nobody_and_a_broken_key_keeps_the_pair(self):
        self.start("--rate-limit", "0")
        crt_b, key_b = make_cert(self.tmp, "b", "gateway-b", 2002, days=30)
        bundle = os.path.join(self.tmp, "both.pem")
        with open(bundle, "w") as out:
            for f in (self.crt, crt_b):
                with open(f) as pem:
                    out.write(pem.read())
        self.assertEqual(peer_cert(self.gw.port, bundle), ("gateway-a", 1001))
        expiry_a = metric(self.gw.metrics_port, "tidegate_tls_certificate_expiry_timestamp_seconds")
        self.assertAlmostEqual(expiry_a, time.time() + 86400, delta=600)
        ctx = client_context(bundle)
        url = "wss://127.0.0.1:%d/ws?room=reload&name=m" % self.gw.port
        clients, rate = 4, 40

        async def member(i, stop_at, seqs, done):
            ws = await websockets.connect(url + str(i), ssl=ctx, subprotocols=[JSON],
                                          max_queue=None)
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))

            async def read():
                async for raw in ws:
                    doc = json.loads(raw)
                    if doc["t"] == "batch":
                        seqs.extend(e["seq"] for e in doc["msgs"])
            reader = asyncio.ensure_future(read())
            n = 0
            while time.monotonic() < stop_at:
                await ws.send(json.dumps({"t": "msg", "text": "x", "cid": "%d.%d" % (i, n)}))
                n += 1
                await asyncio.sleep(1.0 / rate)
            await done.wait()  # every member has read the last batch (scenario)
            reader.cancel()
            code = ws.close_code  # None: still open after all this
            await ws.close()
            return hello["seq"], n, code

        async def scenario():
            start = time.monotonic()
            stop_at = start + 4.0
            seqs = [[] for _ in range(clients)]
            done = asyncio.Event()
            tasks = [asyncio.ensure_future(member(i, stop_at, seqs[i], done))
                     for i in range(clients)]
            await asyncio.sleep(1.5)
            # Swap the files in place, as certbot or an operator would, then SIGHUP.
            shutil.copy(crt_b, self.crt)
            shutil.copy(key_b, self.key)
            os.kill(self.gw.pid, signal.SIGHUP)
            # New connections get the new pair once every worker has taken it.
            new, deadline = None, time.monotonic() + 10
            while new != ("gateway-b", 2002) and time.monotonic() < deadline:
                new = await asyncio.get_running_loop().run_in_executor(
                    None, peer_cert, self.gw.port, bundle)
                await asyncio.sleep(0.1)
            await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
            # Then until every member has read up to the same last seq, and nothing more
            # came for a moment (bounded).
            deadline, last, steady = time.monotonic() + 20, None, 0
            while time.monotonic() < deadline and steady < 5:
                ends = [x[-1] if x else None for x in seqs]
                now = ends if len(set(ends)) == 1 and ends[0] is not None else None
                steady = steady + 1 if now is not None and now == last else 0
                last = now
                await asyncio.sleep(0.1)
            done.set()
            results = await asyncio.gather(*tasks)
            return results, seqs, new

        results, seqs, new = asyncio.run(scenario())
        self.assertEqual(new, ("gateway-b", 2002))
        total = sum(n for _, n, _ in results)
        for i, (hello_seq, sent, code) in enumerate(results):
            self.assertIsNone(code, "member %d was disconnected" % i)
            self.assertGreater(sent, 50)
            s = seqs[i]
            self.assertEqual(s, list(range(s[0], s[0] + len(s))), "member %d lost messages" % i)
            self.assertEqual(s[-1], max(x[-1] for x in seqs))
        self.assertGreaterEqual(len(seqs[0]), total - 5 * clients)  # joined a few ms apart
        self.assertTrue(wait_for(lambda: "new connections get TLS certificate CN=gateway-b "
                                         "(serial 07D2" in self.logged()), self.logged())
        self.assertAlmostEqual(
            metric(self.gw.metrics_port, "tidegate_tls_certificate_expiry_timestamp_seconds"),
            time.time() + 30 * 86400, delta=600)
        self.assertEqual(metric(self.gw.metrics_port, "tidegate_connections_closed_total"
                                '{reason="tls_error"}'), 0)

        # A broken key: the pair in use stays, and the log says why.
        with open(self.key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n")
        os.kill(self.gw.pid, signal.SIGHUP)  # (gw.send_signal would keep stop() from SIGTERM)
        self.assertTrue(wait_for(lambda: "TLS certificate not reloaded" in self.logged()),
                        self.logged())
        self.assertRegex(self.logged(), r"not reloaded, the one in use stays: no usable PEM "
                                        r"private key in \S+a\.key")
        self.assertEqual(peer_cert(self.gw.port, bundle), ("gateway-b", 2002))
        # A key of another certificate: the same.
        make_cert(self.tmp, "c", "gateway-c", 3003)
        shutil.copy(os.path.join(self.tmp, "c.key"), self.key)
        os.kill(self.gw.pid, signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "does not belong to the certificate" in self.logged()))
        self.assertEqual(peer_cert(self.gw.port, bundle), ("gateway-b", 2002))


class StartupErrors(unittest.TestCase):
    def run_gateway(self, *args):
        return subprocess.run([BIN, "--listen", "127.0.0.1:0", "--metrics-listen", "off", *args],
                              capture_output=True, text=True, timeout=30)

    def test_both_or_neither_and_unusable_files(self):
        tmp = tempfile.mkdtemp(prefix="tg-tls-")
        try:
            crt, key = make_cert(tmp, "a", "a", 1)
            _, other_key = make_cert(tmp, "b", "b", 2)
            r = self.run_gateway("--tls-cert", crt)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--tls-cert needs --tls-key", r.stderr)
            r = self.run_gateway("--tls-key", key)
            self.assertEqual(r.returncode, 2)
            self.assertIn("--tls-key needs --tls-cert", r.stderr)
            r = self.run_gateway("--tls-cert", os.path.join(tmp, "missing.crt"), "--tls-key", key)
            self.assertEqual(r.returncode, 1)
            self.assertRegex(r.stderr, r"cannot read the certificate chain \S+missing\.crt: "
                                       r"No such file or directory")
            r = self.run_gateway("--tls-cert", crt, "--tls-key", other_key)
            self.assertEqual(r.returncode, 1)
            self.assertIn("does not belong to the certificate", r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
