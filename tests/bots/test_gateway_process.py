"""test_gateway_process.py -- bots/gateway_process.py against small stand-ins for the gateway.

The children are tiny inline Python scripts (and tests/bots/fake_gateway.py once), so no
build is needed. Every wait is bounded. Run with /usr/bin/python3.
"""
import os
import signal
import socket
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bots"))
from gateway_process import GatewayError, GatewayProcess, cpu_seconds, stat_cpu_seconds  # noqa: E402

# Prints its arguments, then what tidegate prints, then (with --flood) 1 MiB more, and
# waits for SIGTERM; exits with the status given by --exit (default 0) when it comes.
GATEWAY = r"""
import signal, sys, time
args = sys.argv[1:]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(int(args[args.index("--exit") + 1]) if "--exit" in args else 0))
print("args " + " ".join(args))
print("listening 127.0.0.1:4321")
if "--metrics-listen" in args:
    print("metrics 127.0.0.1:4322")
sys.stdout.flush()
if "--flood" in args:
    sys.stdout.write(("x" * 1023 + "\n") * 1024)
    sys.stdout.flush()
while True:
    time.sleep(1)
"""


def child(script):
    return [sys.executable, "-c", script]


class GatewayProcessTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tidegate-gwp-")
        self.log = os.path.join(self.tmp.name, "gateway.log")

    def tearDown(self):
        self.tmp.cleanup()

    def test_reads_the_port_and_passes_listen_before_the_args(self):
        with GatewayProcess(child(GATEWAY), ["--workers", "2"], log_path=self.log) as gw:
            self.assertEqual(gw.port, 4321)
            self.assertEqual(gw.url, "ws://127.0.0.1:4321/ws")
            self.assertIsNone(gw.metrics_port)
            self.assertTrue(gw.alive())
            self.assertGreater(cpu_seconds(gw.pid), 0)
            self.assertGreaterEqual(stat_cpu_seconds(gw.pid), 0)
        self.assertEqual(gw.proc.returncode, 0)
        with open(self.log) as f:
            self.assertIn("args --listen 127.0.0.1:0 --workers 2\n", f.read())

    def test_waits_for_the_metrics_line_when_asked(self):
        gw = GatewayProcess(child(GATEWAY), ["--metrics-listen", "127.0.0.1:0"], metrics=True)
        self.assertEqual((gw.port, gw.metrics_port), (4321, 4322))
        self.assertEqual(gw.stop(), 0)

    def test_a_gateway_that_exits_early_is_a_clear_error(self):
        script = "import sys; sys.stderr.write('tidegate: bad flag\\n'); sys.exit(3)"
        with self.assertRaises(GatewayError) as e:
            GatewayProcess(child(script), log_path=self.log)
        self.assertIn("exited with status 3", str(e.exception))
        self.assertIn("tidegate: bad flag", str(e.exception))
        self.assertIn(self.log, str(e.exception))

    def test_a_metrics_line_that_never_comes_is_an_error(self):
        script = "print('listening 127.0.0.1:4321', flush=True)"
        with self.assertRaises(GatewayError) as e:
            GatewayProcess(child(script), metrics=True)
        self.assertIn("'listening' and 'metrics' lines", str(e.exception))
        self.assertIn("listening 127.0.0.1:4321", str(e.exception))

    def test_a_silent_gateway_times_out_and_is_stopped(self):
        pid_file = os.path.join(self.tmp.name, "pid")
        script = "import os, time; open(%r, 'w').write(str(os.getpid())); time.sleep(60)" % pid_file
        started = time.monotonic()
        with self.assertRaises(GatewayError) as e:
            GatewayProcess(child(script), timeout=0.5)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn("printed no 'listening' line within 0.5 s", str(e.exception))
        with open(pid_file) as f:
            with self.assertRaises(ProcessLookupError):  # stopped and reaped
                os.kill(int(f.read()), 0)

    def test_stop_returns_the_exit_status(self):
        gw = GatewayProcess(child(GATEWAY), ["--exit", "7"])
        self.assertEqual(gw.stop(), 7)
        self.assertFalse(gw.killed)
        self.assertEqual(gw.stop(), 7)  # a second stop only reports

    def test_a_gateway_ignoring_sigterm_is_killed(self):
        script = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                  "print('listening 127.0.0.1:4321', flush=True); time.sleep(60)")
        gw = GatewayProcess(child(script))
        started = time.monotonic()
        self.assertEqual(gw.stop(timeout=0.5), -signal.SIGKILL)
        self.assertTrue(gw.killed)
        self.assertLess(time.monotonic() - started, 10)

    def test_stop_after_send_signal_sends_nothing_more(self):
        # Exits with 10 + the number of SIGTERMs it saw within half a second of the first.
        script = r"""
import signal, sys, time
seen = []
signal.signal(signal.SIGTERM, lambda *_: seen.append(1))
print("listening 127.0.0.1:4321", flush=True)
while not seen:
    time.sleep(0.01)
time.sleep(0.5)
sys.exit(10 + len(seen))
"""
        gw = GatewayProcess(child(script))
        gw.send_signal(signal.SIGTERM)
        self.assertEqual(gw.stop(), 11)

    def test_stdout_is_drained_after_startup(self):
        gw = GatewayProcess(child(GATEWAY), ["--flood"], log_path=self.log)
        time.sleep(0.5)
        self.assertEqual(gw.stop(timeout=10), 0)
        self.assertFalse(gw.killed)
        self.assertGreater(os.path.getsize(self.log), 1 << 20)

    def test_fake_gateway_listens_on_the_port_it_prints(self):
        fake = os.path.join(HERE, "fake_gateway.py")
        with GatewayProcess([sys.executable, fake], log_path=self.log) as gw:
            self.assertNotEqual(gw.port, 0)
            socket.create_connection(("127.0.0.1", gw.port), timeout=5).close()
        self.assertEqual(gw.proc.returncode, 0)


if __name__ == "__main__":
    unittest.main()
