"""--log-format json with the real binary (TIDEGATE_BIN): every line the gateway writes to
stderr during a run (startup, a client's open and close, a refused upgrade, shutdown) is
one JSON object with time, level and msg, and the connection lines carry their fields.
Run with /usr/bin/python3 (python3-websockets).
"""
import asyncio
import json
import os
import socket
import sys
import tempfile
import unittest

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")


async def chat(port):
    async with websockets.connect("ws://127.0.0.1:%d/ws?room=json-logs&name=alice" % port) as ws:
        hello = json.loads(await ws.recv())
        assert hello["t"] == "hello", hello


def refused_upgrade(port):
    """A /ws request that is no upgrade: 426, logged at debug."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
        return s.recv(100)


class JsonLogs(unittest.TestCase):
    def test_every_line_is_an_object_with_fields(self):
        with tempfile.TemporaryDirectory() as tmp:
            log_path = os.path.join(tmp, "gateway.log")
            gw = GatewayProcess(BIN, ["--log-format", "json", "--log-level", "debug",
                                      "--metrics-listen", "off", "--workers", "1"], log_path=log_path)
            try:
                asyncio.run(chat(gw.port))
                self.assertIn(b"426", refused_upgrade(gw.port))
            finally:
                code = gw.stop()
            self.assertEqual(code, 0)
            with open(log_path) as f:
                # stdout's machine-readable lines (listening, metrics) go to the same file.
                lines = [x for x in f.read().splitlines() if x and not x.startswith("listening ")]
        objects = []
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                self.fail("not JSON: %r" % line)
            self.assertIsInstance(obj, dict, line)
            for key in ("time", "level", "msg"):
                self.assertIn(key, obj, line)
            self.assertRegex(obj["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            objects.append(obj)
        events = {o.get("event"): o for o in objects if "event" in o}
        self.assertEqual(events["open"]["name"], "alice")
        self.assertEqual(events["open"]["room"], "json-logs")
        self.assertTrue(events["open"]["peer"].startswith("127.0.0.1"), events["open"])
        self.assertIsInstance(events["open"]["conn"], int)
        self.assertEqual(events["close"]["conn"], events["open"]["conn"])
        self.assertEqual(events["close"]["reason"], "client")
        self.assertEqual(events["refused"]["status"], 426)
        self.assertTrue(any("shutting down" in o["msg"] for o in objects), objects)


if __name__ == "__main__":
    unittest.main()
