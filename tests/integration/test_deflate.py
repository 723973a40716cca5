"""permessage-deflate (RFC 7692) with the real binary (TIDEGATE_BIN): python3-websockets
(which offers it by default) sends compressed messages and decodes compressed batches; a
raw socket sees the 101's answer, RSV1 on the batch frames and their raw deflate bytes,
for the default window and a smaller one; a deflate bomb is closed with 1009; a client
naming a tidegate sub-protocol gets no extension. Run with /usr/bin/python3.
"""
import asyncio
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import unittest
import urllib.request
import zlib

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
MAX_MESSAGE = 4096
TAIL = b"\x00\x00\xff\xff"


class RawClient:
    """A WebSocket client on a plain socket, to see the frame bits a library hides."""

    def __init__(self, port, query, extensions=None, protocol=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        head = ("GET /ws?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                % (query, port, key))
        if extensions:
            head += "Sec-WebSocket-Extensions: %s\r\n" % extensions
        if protocol:
            head += "Sec-WebSocket-Protocol: %s\r\n" % protocol
        self.sock.sendall((head + "\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        response, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = response.decode().split("\r\n")
        assert lines[0].startswith("HTTP/1.1 101"), lines
        self.headers = {k.lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        return data

    def _need(self, n):
        while len(self.buf) < n:
            self.buf += self._recv()

    def frame(self):
        """The next server frame: (fin, rsv1, opcode, payload)."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "server frames are not masked"
        n, h = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, h = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, h = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(h + n)
        payload, self.buf = self.buf[h:h + n], self.buf[h + n:]
        return bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, payload

    def send(self, payload, rsv1=False, opcode=0x1):
        mask = os.urandom(4)
        b0 = 0x80 | (0x40 if rsv1 else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, 0x80 | n)
        elif n <= 0xFFFF:
            head = struct.pack("!BBH", b0, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", b0, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def close(self):
        self.sock.close()


def deflate(data, level=6):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(TAIL)
    return out[:-4]


def inflate(payload, window_bits=15):
    # Without context takeover every message inflates on its own.
    return zlib.decompressobj(-window_bits).decompress(payload + TAIL)


def metric(port, name):
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Deflate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.gw = GatewayProcess(BIN, ["--log-level", "warn", "--metrics-listen", "127.0.0.1:0",
                                      "--max-message-bytes", str(MAX_MESSAGE)], metrics=True)

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        if code != 0:
            raise AssertionError("gateway exited with %r" % code)

    def url(self, room):
        return "ws://127.0.0.1:%d/ws?room=%s" % (self.gw.port, room)

    def read_batch_with(self, raw, text, window_bits=15):
        """Reads raw frames until a batch carrying `text`; returns its frame's RSV1."""
        for _ in range(50):
            fin, rsv1, op, payload = raw.frame()
            self.assertTrue(fin)
            self.assertEqual(op, 0x1)
            doc = json.loads(inflate(payload, window_bits) if rsv1 else payload)
            if doc["t"] == "batch" and any(m.get("text") == text for m in doc["msgs"]):
                return rsv1
        self.fail("no batch with %r" % text)

    def test_websockets_client_sends_and_receives_compressed(self):
        text = "the quick brown fox " * 20

        async def run():
            # websockets offers permessage-deflate by default and compresses what it sends.
            async with websockets.connect(self.url("pmd-lib"), max_size=None) as a, \
                    websockets.connect(self.url("pmd-lib"), max_size=None) as b:
                for ws in (a, b):
                    self.assertEqual([e.name for e in ws.extensions], ["permessage-deflate"])
                    self.assertEqual(json.loads(await ws.recv())["t"], "hello")
                await a.send(json.dumps({"t": "msg", "text": text}))
                for ws in (a, b):
                    texts = []  # batches carry the joins too
                    while text not in texts:
                        doc = json.loads(await asyncio.wait_for(ws.recv(), 10))
                        if doc["t"] == "batch":
                            texts += [m.get("text") for m in doc["msgs"]]

        asyncio.run(run())

    def test_raw_client_sees_rsv1_and_raw_deflate(self):
        before = metric(self.gw.metrics_port, "tidegate_deflated_batches_total")
        for offer, bits in (("permessage-deflate; client_max_window_bits", 15),
                            ("permessage-deflate; server_max_window_bits=8, "
                             "permessage-deflate; server_max_window_bits=10", 10)):
            raw = RawClient(self.gw.port, "room=pmd-raw", offer)
            try:
                answer = raw.headers["sec-websocket-extensions"]
                self.assertTrue(answer.startswith("permessage-deflate; server_no_context_takeover;"
                                                  " client_no_context_takeover"), answer)
                self.assertEqual("server_max_window_bits=10" in answer, bits == 10, answer)
                _, rsv1, _, hello = raw.frame()  # notices go uncompressed
                self.assertFalse(rsv1)
                self.assertEqual(json.loads(hello)["t"], "hello")
                # A compressed message from the raw client itself, and a plain one.
                text = "compressible chat text, " * 10 + str(bits)
                raw.send(deflate(json.dumps({"t": "msg", "text": text}).encode()), rsv1=True)
                self.assertTrue(self.read_batch_with(raw, text, bits))
                raw.send(json.dumps({"t": "msg", "text": "plain " + text}).encode())
                self.assertTrue(self.read_batch_with(raw, "plain " + text, bits))
            finally:
                raw.close()
        self.assertGreater(metric(self.gw.metrics_port, "tidegate_deflated_batches_total"), before)
        self.assertGreater(metric(self.gw.metrics_port, "tidegate_deflate_saved_bytes_total"), 0)

    def test_deflate_bomb_is_closed_with_1009(self):
        raw = RawClient(self.gw.port, "room=pmd-bomb", "permessage-deflate")
        try:
            raw.frame()  # hello
            bomb = deflate(b"a" * (4 << 20), 9)  # 4 MiB in about 4 KiB
            self.assertLess(len(bomb), MAX_MESSAGE)
            raw.send(bomb, rsv1=True)
            for _ in range(20):
                _, _, op, payload = raw.frame()
                if op == 0x8:
                    self.assertEqual(struct.unpack("!H", payload[:2])[0], 1009)
                    break
            else:
                self.fail("no close frame")
        finally:
            raw.close()

    def test_compressed_frames_need_the_extension(self):
        # No offer: RSV1 is a protocol error (1002), as before.
        raw = RawClient(self.gw.port, "room=pmd-none")
        try:
            self.assertNotIn("sec-websocket-extensions", raw.headers)
            raw.frame()  # hello
            raw.send(deflate(b'{"t":"msg","text":"x"}'), rsv1=True)
            while True:
                _, _, op, payload = raw.frame()
                if op == 0x8:
                    self.assertEqual(struct.unpack("!H", payload[:2])[0], 1002)
                    break
        finally:
            raw.close()

    def test_tidegate_subprotocols_get_no_extension(self):
        for proto in ("tidegate.v1.zstd", "tidegate.v1.json"):
            raw = RawClient(self.gw.port, "room=pmd-proto", "permessage-deflate", proto)
            try:
                self.assertEqual(raw.headers["sec-websocket-protocol"], proto)
                self.assertNotIn("sec-websocket-extensions", raw.headers)
            finally:
                raw.close()


class DeflateFlags(unittest.TestCase):
    def test_off_never_agrees_it(self):
        gw = GatewayProcess(BIN, ["--log-level", "warn", "--metrics-listen", "off",
                                  "--permessage-deflate", "off"])
        try:
            raw = RawClient(gw.port, "room=pmd-off", "permessage-deflate")
            try:
                self.assertNotIn("sec-websocket-extensions", raw.headers)
            finally:
                raw.close()
        finally:
            self.assertEqual(gw.stop(), 0)

    def test_bad_values_are_refused_at_startup(self):
        for args in (["--deflate-level", "0"], ["--deflate-level", "10"],
                     ["--permessage-deflate", "maybe"]):
            r = subprocess.run([BIN, "--metrics-listen", "off", *args], capture_output=True,
                               text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(args[0], r.stderr, args)


if __name__ == "__main__":
    unittest.main()
