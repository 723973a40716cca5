"""test_redis_process.py -- bots/redis_process.py against Debian's real redis-server.

Starts, talks RESP, restarts with and without the AOF, kills, and checks that nothing is
left running, not even after the Python process that started Redis is SIGKILLed. Every
wait is bounded. Run with /usr/bin/python3; needs redis-server (scripts/setup.d/cluster.sh).
"""
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BOTS = os.path.join(HERE, "..", "..", "bots")
sys.path.insert(0, BOTS)
from redis_process import (RedisError, RedisProcess, RedisReplyError, encode_command,  # noqa: E402
                           parse_info)


def gone(pid, timeout=5.0):
    """Whether `pid` is gone (or a zombie, which only its parent can reap) within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.02)
    return False


def become_subreaper():
    """Orphans of our descendants become our children (prctl PR_SET_CHILD_SUBREAPER), so
    this test reaps the Redis whose parent it killed instead of leaving a zombie to a
    PID 1 that may not reap (a container's)."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(36, 1, 0, 0, 0) == 0


def reap(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            return
        time.sleep(0.02)


class RespTest(unittest.TestCase):
    def test_encodes_commands_as_bulk_arrays(self):
        self.assertEqual(encode_command(("SET", "k", 12)), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n")
        self.assertEqual(encode_command(("GET", b"\x00\r\n")), b"*2\r\n$3\r\nGET\r\n$3\r\n\x00\r\n\r\n")

    def test_parses_info_fields(self):
        info = parse_info("# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:3\r\n"
                          "cmdstat_xadd:calls=3,usec=12,usec_per_call=4.00\r\n")
        self.assertEqual(info["redis_version"], "7.0.15")
        self.assertEqual(info["uptime_in_seconds"], 3)
        self.assertEqual(info["cmdstat_xadd"]["calls"], 3)
        self.assertEqual(info["cmdstat_xadd"]["usec_per_call"], 4.0)


class RedisProcessTest(unittest.TestCase):
    def test_set_get_and_the_reply_types(self):
        with RedisProcess() as redis:
            self.assertTrue(redis.alive())
            self.assertEqual(redis.url, "redis://127.0.0.1:%d" % redis.port)
            self.assertEqual(redis.cmd("SET", "k", "v"), "OK")
            self.assertEqual(redis.cmd("GET", "k"), b"v")
            self.assertIsNone(redis.cmd("GET", "nothing"))
            self.assertEqual(redis.cmd("INCR", "n"), 1)
            self.assertEqual(redis.cmd("XADD", "s", "5-0", "f", "x"), b"5-0")
            self.assertEqual(redis.cmd("XRANGE", "s", "-", "+"), [[b"5-0", [b"f", b"x"]]])
            with self.assertRaises(RedisReplyError):
                redis.cmd("XADD", "s", "4-0", "f", "y")  # ids only grow
            self.assertEqual(redis.cmd("PING"), "PONG")  # the connection survived the error
            with open(redis.conf_path) as f:
                conf = f.read()
            for line in ("bind 127.0.0.1", "port %d" % redis.port, "daemonize no",
                         "protected-mode yes", 'save ""', "appendonly no"):
                self.assertIn(line + "\n", conf)
            self.assertEqual(redis.info("server")["tcp_port"], redis.port)
            pid, port, tmp = redis.pid, redis.port, redis.dir
        self.assertTrue(gone(pid))  # (its port may be another test's by now under ctest -j)
        self.assertFalse(os.path.exists(tmp))  # close() removed its temporary directory

    def test_restart_with_appendonly_keeps_the_data(self):
        with RedisProcess(appendonly=True) as redis:
            port = redis.port
            redis.cmd("SET", "k", "kept")
            redis.cmd("XADD", "tg:{r}:log", "7-0", "b", "batch")
            redis.restart()
            self.assertEqual(redis.port, port)
            self.assertEqual(redis.cmd("GET", "k"), b"kept")
            self.assertEqual(redis.cmd("XLEN", "tg:{r}:log"), 1)
            # A crash: what was fsynced (appendfsync always: every write) survives too.
            redis.cmd("SET", "after", "crash")
            self.assertLess(redis.kill(), 0)
            self.assertTrue(redis.killed)
            redis.start()
            self.assertEqual(redis.cmd("GET", "after"), b"crash")

    def test_restart_without_appendonly_loses_it(self):
        with RedisProcess() as redis:
            redis.cmd("SET", "k", "lost")
            redis.restart()
            self.assertIsNone(redis.cmd("GET", "k"))
            self.assertEqual(redis.cmd("DBSIZE"), 0)

    def test_a_password_is_required_and_in_the_url(self):
        with RedisProcess(password="p@ss word") as redis:
            self.assertEqual(redis.url, "redis://:p%%40ss%%20word@127.0.0.1:%d" % redis.port)
            self.assertEqual(redis.cmd("SET", "k", "v"), "OK")
            with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as s:
                s.sendall(encode_command(("GET", "k")))
                self.assertTrue(s.recv(100).startswith(b"-NOAUTH"))

    def test_a_given_dir_and_port_are_used_and_the_dir_kept(self):
        with tempfile.TemporaryDirectory(prefix="tidegate-redis-test-") as d:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            with RedisProcess(dir=os.path.join(d, "data"), port=port, appendonly=True) as redis:
                self.assertEqual(redis.port, port)
                redis.cmd("SET", "k", "v")
            self.assertTrue(os.path.exists(os.path.join(d, "data", "redis.log")))
            self.assertTrue(os.path.isdir(os.path.join(d, "data", "appendonlydir")))

    def test_stop_leaves_no_process(self):
        redis = RedisProcess().start()
        pid = redis.pid
        self.assertEqual(redis.stop(), 0)
        self.assertFalse(redis.killed)
        self.assertTrue(gone(pid))
        self.assertEqual(redis.stop(), 0)  # again: the same status
        with self.assertRaises(RedisError):
            redis.cmd("PING")
        redis.close()

    def test_a_busy_port_is_a_clear_error(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            with self.assertRaises(RedisError) as e:
                RedisProcess(port=s.getsockname()[1], timeout=5).start()
            self.assertIn("exited with status", str(e.exception))

    def test_a_killed_parent_leaves_no_redis(self):
        # A child Python starts Redis, prints its pid and is SIGKILLed: no atexit, no stop().
        script = textwrap.dedent("""
            import sys, time
            sys.path.insert(0, %r)
            from redis_process import RedisProcess
            r = RedisProcess().start()
            print(r.pid, r.port, r.dir, flush=True)
            time.sleep(60)
        """ % BOTS)
        tmp = None
        subreaper = become_subreaper()
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            pid, port, tmp = child.stdout.readline().split()
            pid, port = int(pid), int(port)
            self.assertFalse(gone(pid, timeout=0.1))
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            self.assertTrue(gone(pid))
            # (Not that its port is closed: under `ctest -j` another test may already
            # have taken the freed port for a server of its own.)
            if subreaper:
                reap(pid)
        finally:
            if tmp:  # its temporary directory stays behind: nobody was left to remove it
                shutil.rmtree(tmp, ignore_errors=True)
            child.kill()
            child.wait()
            child.stdout.close()

    def test_an_exiting_parent_stops_its_redis(self):
        script = textwrap.dedent("""
            import sys
            sys.path.insert(0, %r)
            from redis_process import RedisProcess
            r = RedisProcess().start()
            print(r.pid, r.dir, flush=True)
        """ % BOTS)
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        pid, tmp = out.stdout.split()
        self.assertTrue(gone(int(pid)))
        self.assertFalse(os.path.exists(tmp))


if __name__ == "__main__":
    unittest.main()
