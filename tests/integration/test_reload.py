"""SIGHUP reloads the configuration of a running gateway (TIDEGATE_BIN) without dropping
anyone: under load from python3-websockets clients, a new rate limit and log level take
effect, nobody is disconnected, every accepted message reaches every member in one
consecutive order, and what a restart would need is logged as such. A broken file
changes nothing. Run with /usr/bin/python3.
"""
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import unittest

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
CLIENTS = 4
RATE = 40  # messages a second each client sends


class Member:
    def __init__(self, index):
        self.index = index
        self.cids, self.seqs, self.errors, self.closed = [], [], [], None
        self.first_after = None  # index of the first message sent after the reload
        self.last_rx = time.monotonic()

    async def run(self, port, reload_at, stop_at, before, after):
        """Sends until `stop_at`, then keeps reading until every member's stream has
        been quiet for a while (quiet_all), so that all saw the same end."""
        url = "ws://127.0.0.1:%d/ws?room=reload&name=m%d" % (port, self.index)
        self.ws = await websockets.connect(url)
        hello = json.loads(await self.ws.recv())
        self.next_seq = hello["seq"] + 1
        self.reader = asyncio.ensure_future(self.read(self.ws, reload_at, before, after))
        n = 0
        while time.monotonic() < stop_at:
            if self.first_after is None and time.monotonic() > reload_at:
                self.first_after = n
            await self.ws.send(json.dumps({"t": "msg", "text": "x", "cid": "%d.%d" % (self.index, n)}))
            n += 1
            await asyncio.sleep(1.0 / RATE)

    def stop_reading(self):
        self.closed = self.ws.close_code  # None: still open
        self.reader.cancel()

    async def read(self, ws, reload_at, before, after):
        async for raw in ws:
            m = json.loads(raw)
            self.last_rx = time.monotonic()
            if m.get("t") == "batch":
                for e in m["msgs"]:
                    self.seqs.append(e["seq"])
                    if e.get("t") == "msg" and e.get("cid"):
                        self.cids.append((e["seq"], e["cid"]))
            elif m.get("t") == "error":
                (after if time.monotonic() > reload_at else before).append(m["code"])


class Reload(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.config = os.path.join(self.tmp.name, "tidegate.toml")
        self.log = os.path.join(self.tmp.name, "gateway.log")
        self.write("rate-limit = 1000\nrate-burst = 1000\nlog-level = \"info\"\n")
        self.gw = GatewayProcess(BIN, ["--config", self.config, "--metrics-listen", "off",
                                       "--workers", "2"], log_path=self.log)

    def tearDown(self):
        self.gw.stop()
        self.tmp.cleanup()

    def write(self, text):
        with open(self.config, "w") as f:
            f.write(text)

    def logged(self):
        with open(self.log) as f:
            return f.read()

    def wait_logged(self, text, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.logged():
                return True
            time.sleep(0.05)
        return False

    def test_reload_under_load_then_a_broken_file_changes_nothing(self):
        members = [Member(i) for i in range(CLIENTS)]
        before, after = [], []

        async def scenario():
            start = time.monotonic()
            reload_at, stop_at = start + 1.5, start + 4.0
            tasks = [asyncio.ensure_future(m.run(self.gw.port, reload_at, stop_at, before, after))
                     for m in members]
            await asyncio.sleep(reload_at - time.monotonic())
            self.write("rate-limit = 5\nrate-burst = 5\nlog-level = \"debug\"\nhistory-bytes = 1048576\n")
            os.kill(self.gw.pid, signal.SIGHUP)
            await asyncio.gather(*tasks)
            # Everyone stays until no member has received anything for 0.5 s.
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and \
                    time.monotonic() - max(m.last_rx for m in members) < 0.5:
                await asyncio.sleep(0.1)
            for m in members:  # first all, so that no one reads another's leave
                m.stop_reading()
            for m in members:
                await m.ws.close()

        asyncio.run(scenario())
        self.assertTrue(self.wait_logged("reload: applied rate-limit 1000 -> 5"), self.logged())
        self.assertIn("reload: applied log-level info -> debug", self.logged())
        self.assertIn("reload: history-bytes 67108864 -> 1048576 needs a restart; not applied",
                      self.logged())

        self.assertEqual(before, [], "refused before the reload at 1000/s")
        self.assertIn("rate_limited", after)  # 40/s against 5/s
        for m in members:
            self.assertIsNone(m.closed, "member %d was disconnected" % m.index)
            # One consecutive order, and the same messages for everyone.
            self.assertEqual(m.seqs, list(range(m.seqs[0], m.seqs[0] + len(m.seqs))), m.index)
            # Members joined a few ms apart: from the later one's first seq on, the same.
            first = max(m.seqs[0], members[0].seqs[0])
            self.assertEqual([c for c in m.cids if c[0] >= first],
                             [c for c in members[0].cids if c[0] >= first],
                             "member %d saw other messages" % m.index)
            self.assertEqual(m.seqs[-1], members[0].seqs[-1])
        # The new limit holds: after the reload each sender gets its 5-message burst and
        # 5 a second for 2.5 s (plus a few sent while the signal was on its way); at
        # 1000/s all of its ~100 would have gone through.
        for m in members:
            late = [c for _, c in members[0].cids
                    if c.split(".")[0] == str(m.index) and int(c.split(".")[1]) >= m.first_after]
            self.assertLess(len(late), 5 + 5 * 2.5 + 8, "sender %d: %d after" % (m.index, len(late)))
            self.assertGreater(len(late), 0, "sender %d: nothing after the reload" % m.index)

        # At debug now: a refused upgrade is logged.
        asyncio.run(self.refused_upgrade())
        self.assertTrue(self.wait_logged("upgrade refused"), "debug lines missing after the reload")

        # A broken file: logged with its line, and the running configuration stays.
        self.write("rate-limit = 5\nrate-burst = lots\n")
        os.kill(self.gw.pid, signal.SIGHUP)
        self.assertTrue(self.wait_logged("reload failed, the running configuration stays: %s:2:"
                                         % self.config), self.logged())
        self.assertEqual(asyncio.run(self.burst()), 5, "the limit changed after a failed reload")

    async def refused_upgrade(self):
        reader, writer = await asyncio.open_connection("127.0.0.1", self.gw.port)
        writer.write(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.read(100)
        writer.close()

    async def burst(self):
        """Sends 20 messages at once from a new client; returns how many were delivered."""
        async with websockets.connect("ws://127.0.0.1:%d/ws?room=burst" % self.gw.port) as ws:
            json.loads(await ws.recv())
            for i in range(20):
                await ws.send(json.dumps({"t": "msg", "text": "b", "cid": "b.%d" % i}))
            got, deadline = 0, time.monotonic() + 2
            while time.monotonic() < deadline:
                try:
                    m = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                if m.get("t") == "batch":
                    got += sum(1 for e in m["msgs"] if e.get("t") == "msg")
            return got


if __name__ == "__main__":
    unittest.main()
