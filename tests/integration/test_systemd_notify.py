"""The systemd unit (packaging/tidegate.service) passes `systemd-analyze verify`, and
systemd's Type=notify protocol, played by this test: the real binary (TIDEGATE_BIN) is
started with NOTIFY_SOCKET pointing at a datagram socket the test owns, as systemd would
start it, and must report READY=1 once it listens, RELOADING=1 then READY=1 around a SIGHUP reload,
WATCHDOG=1 keep-alives while the watchdog is on, and STOPPING=1 when SIGTERM starts the
drain. Without NOTIFY_SOCKET it
must run exactly as before. Run with /usr/bin/python3.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bots"))
from gateway_process import GatewayProcess  # noqa: E402

BIN = os.environ.get("TIDEGATE_BIN", "build/tidegate")
UNIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packaging",
                    "tidegate.service")


class NotifySocket:
    """A datagram socket where the gateway's sd_notify() messages arrive."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def messages(self, until, timeout=10.0):
        """Reads datagrams until one carries the line `until` or `timeout` s pass; returns
        every line read, in order."""
        lines, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                break
            lines += data.decode().split("\n")
            if until in lines:
                break
        return lines

    def close(self):
        self.sock.close()


def start(env, *args):
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return GatewayProcess(BIN, ["--log-level", "warn", "--metrics-listen", "off", "--workers", "2",
                                    *args])
    finally:
        os.environ.clear()
        os.environ.update(saved)


class SystemdNotify(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.notify = NotifySocket(self.tmp.name)

    def tearDown(self):
        self.notify.close()
        self.tmp.cleanup()

    def test_ready_after_listening_reloading_on_sighup_stopping_on_sigterm(self):
        gw = start({"NOTIFY_SOCKET": self.notify.path})
        try:
            lines = self.notify.messages(until="READY=1")
            self.assertIn("READY=1", lines)
            status = [x for x in lines if x.startswith("STATUS=")]
            self.assertTrue(status and ":%d" % gw.port in status[0], lines)
            # systemctl reload: RELOADING=1, then READY=1 once the configuration is read.
            os.kill(gw.pid, signal.SIGHUP)
            lines = self.notify.messages(until="READY=1")
            self.assertIn("RELOADING=1", lines)
            self.assertLess(lines.index("RELOADING=1"), lines.index("READY=1"))
            gw.send_signal(signal.SIGTERM)
            lines = self.notify.messages(until="STOPPING=1")
            self.assertIn("STOPPING=1", lines)
            self.assertNotIn("WATCHDOG=1", lines)  # no WatchdogSec, no keep-alives
        finally:
            code = gw.stop()
        self.assertEqual(code, 0)

    def test_watchdog_keepalives_while_every_worker_answers(self):
        # WatchdogSec=0.2: keep-alives every 100 ms; WATCHDOG_PID unset means "this process".
        gw = start({"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": "200000"})
        try:
            self.assertIn("READY=1", self.notify.messages(until="READY=1"))
            seen = 0
            deadline = time.monotonic() + 10
            while seen < 3 and time.monotonic() < deadline:
                seen += self.notify.messages(until="WATCHDOG=1", timeout=2).count("WATCHDOG=1")
            self.assertGreaterEqual(seen, 3)
        finally:
            code = gw.stop()
        self.assertEqual(code, 0)

    def test_watchdog_for_another_pid_is_ignored(self):
        # systemd sets WATCHDOG_PID to the main process; a child that inherits the
        # environment must not send keep-alives on the parent's behalf.
        gw = start({"NOTIFY_SOCKET": self.notify.path, "WATCHDOG_USEC": "200000",
                    "WATCHDOG_PID": "1"})
        try:
            lines = self.notify.messages(until="READY=1")
            lines += self.notify.messages(until="WATCHDOG=1", timeout=1)
            self.assertIn("READY=1", lines)
            self.assertNotIn("WATCHDOG=1", lines)
        finally:
            gw.stop()


class Unit(unittest.TestCase):
    def test_unit_verifies(self):
        # verify checks ExecStart's binary exists: point it at the one just built.
        with open(UNIT) as f:
            text = f.read()
        self.assertIn("ExecStart=/usr/bin/tidegate ", text)
        self.assertIn("Type=notify", text)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "tidegate.service")
            with open(path, "w") as f:
                f.write(text.replace("/usr/bin/tidegate", os.path.abspath(BIN)))
            r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True,
                               timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "", "systemd-analyze warned: " + r.stderr)


if __name__ == "__main__":
    unittest.main()
