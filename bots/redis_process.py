"""redis_process.py -- a real redis-server on a loopback port, for tests and scripts:
started with its own redis.conf in a directory of its own, waited for until it answers
PING, and always stopped. The one way the Python tests and scripts start a Redis (the
gateway's counterpart is gateway_process.py). Stdlib only (Debian's /usr/bin/python3);
needs Debian's redis-server (scripts/setup.d/cluster.sh installs it).

    with RedisProcess() as redis:            # a temporary directory and a free port
        redis.cmd("SET", "k", "v")           # b"OK" is returned as "OK"; bulk replies are bytes
        redis.url                            # redis://127.0.0.1:PORT, for --redis
    # or: redis = RedisProcess(appendonly=True).start(); ...; redis.restart(); ...; redis.close()

What makes sure no redis-server outlives its test:
- it runs in a process group of its own (start_new_session), so a Ctrl-C at the
  terminal reaches only the test, which then stops Redis in its own order; stop() and
  kill() SIGKILL the whole group, so a child Redis forked (an AOF rewrite, a snapshot)
  goes too;
- it is started through util-linux's `setpriv --pdeathsig KILL`, so the kernel SIGKILLs
  it when the thread that started it dies, however that happens (a SIGKILLed test, a
  CTest timeout). Start it from the main thread or from a thread that outlives it;
- at interpreter exit every RedisProcess still running is close()d (atexit).
"""
import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import weakref

HOST = "127.0.0.1"
_LIVE = weakref.WeakSet()  # started and not yet stopped: stopped at exit


class RedisError(RuntimeError):
    """redis-server exited, or did not answer PING in time."""


class RedisReplyError(RuntimeError):
    """Redis answered a command with an error reply (`-ERR ...`)."""


def free_port(host=HOST):
    """A TCP port that was free on `host` a moment ago (bind to port 0, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def encode_command(args):
    """One command in RESP: an array of bulk strings (str is UTF-8, numbers as text)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, (int, float)):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespConnection:
    """A minimal RESP2 client over one TCP connection: call() a command, or send() several
    and read_reply() each (pipelining), or read push messages after SUBSCRIBE with
    read_reply(). Replies: simple strings as str ("OK"), bulk strings as bytes (None for
    nil), integers as int, arrays as lists; an error reply raises RedisReplyError (it is
    read whole first, so the connection stays usable)."""

    def __init__(self, host=HOST, port=6379, password=None, timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        if password is not None:
            self.call("AUTH", password)

    def close(self):
        self.sock.close()

    def settimeout(self, seconds):
        self.sock.settimeout(seconds)

    def send(self, *args):
        self.sock.sendall(encode_command(args))

    def send_many(self, commands):
        """Sends several commands in one write; read their replies with read_reply()."""
        self.sock.sendall(b"".join(encode_command(c) for c in commands))

    def call(self, *args):
        self.send(*args)
        return self.read_reply()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self._buf += chunk

    def _line(self):
        while True:
            i = self._buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self._buf[:i])
                del self._buf[:i + 2]
                return line
            self._fill()

    def _exact(self, n):
        while len(self._buf) < n + 2:
            self._fill()
        data = bytes(self._buf[:n])
        del self._buf[:n + 2]
        return data

    def pending(self):
        """Whether a reply (or part of one) is already buffered."""
        return bool(self._buf)

    def read_reply(self):
        value = self._parse()
        if isinstance(value, RedisReplyError):
            raise value
        return value

    def _parse(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisReplyError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            # an error inside an array (EXEC's replies) is returned, not raised
            return [self._parse() for _ in range(n)]
        raise ConnectionError("unexpected RESP line %r" % line[:80])


def parse_info(text):
    """INFO's text as {section-less key: value}; numbers become int or float, and lines
    with comma-separated fields (`cmdstat_xadd:calls=3,usec=12,...`, `db0:keys=1,...`)
    become dicts of those fields."""
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        fields = value.split(",")
        if all("=" in f for f in fields):
            out[key] = {k: _number(v) for k, v in (f.split("=", 1) for f in fields)}
        else:
            out[key] = _number(value)
    return out


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


class RedisProcess:
    """A redis-server on 127.0.0.1:`port` (None: a free port, chosen once and kept by
    restart()), with its data, redis.conf and redis.log in `dir` (None: a temporary
    directory, removed by close()). `appendonly`: the AOF on, fsynced at every write
    (so what a command wrote survives kill() and restart()); off: no persistence at all,
    a restart starts empty. RDB snapshots are off either way. `password`: requirepass.

    start() returns self; the context manager starts it (if not yet) and close()s it.
    port, pid, url, dir, conf_path, log_path, proc; killed tells whether the last stop()
    had to SIGKILL it."""

    def __init__(self, dir=None, port=None, appendonly=False, password=None, *,
                 server="redis-server", timeout=10.0, extra_conf=()):
        self.port = port
        self.appendonly = appendonly
        self.password = password
        self.server = server
        self.timeout = timeout
        self.extra_conf = list(extra_conf)
        self._tmp = None
        if dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="tidegate-redis-")
            dir = self._tmp.name
        self.dir = os.path.abspath(dir)
        self.conf_path = os.path.join(self.dir, "redis.conf")
        self.log_path = os.path.join(self.dir, "redis.log")
        self.proc = None
        self.killed = False
        self._conn = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self):
        """Writes redis.conf and starts redis-server; returns once it answers PING (at
        most `timeout` s). With a port chosen here, a port taken meanwhile by someone else
        is retried with another free one, twice. Raises RedisError, with the last lines
        of its log, if it exits or stays silent (it is killed then)."""
        if self.alive():
            return self
        chosen = self.port is None
        for attempt in range(3):
            if chosen and (self.port is None or attempt > 0):
                self.port = free_port()
            try:
                self._spawn()
                return self
            except RedisError as e:
                if not (chosen and "Address already in use" in str(e)) or attempt == 2:
                    raise
        return self

    def _write_conf(self):
        os.makedirs(self.dir, exist_ok=True)
        lines = [
            "bind %s" % HOST,
            "port %d" % self.port,
            "dir %s" % self.dir,
            "daemonize no",
            "protected-mode yes",
            "logfile %s" % self.log_path,
            'save ""',
        ]
        if self.appendonly:
            lines += ["appendonly yes", "appendfsync always"]
        else:
            lines += ["appendonly no"]
        if self.password is not None:
            lines.append("requirepass %s" % _conf_quote(self.password))
        lines += self.extra_conf
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _spawn(self):
        self._write_conf()
        command = [self.server, self.conf_path]
        setpriv = shutil.which("setpriv")
        if setpriv:
            command = [setpriv, "--pdeathsig", "KILL"] + command
        # stdout and stderr: what redis says before its logfile is open (a bad config).
        out = open(os.path.join(self.dir, "redis.stdout"), "ab")
        try:
            self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()
        self.killed = False
        _LIVE.add(self)
        deadline = time.monotonic() + self.timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail("exited with status %d" % self.proc.returncode)
            try:
                conn = RespConnection(HOST, self.port, self.password, timeout=1.0)
                try:
                    if conn.call("PING") == "PONG":
                        return
                finally:
                    conn.close()
            except (OSError, RedisReplyError) as e:  # not listening yet, or -LOADING
                last = e
            time.sleep(0.02)
        self._fail("did not answer PING within %g s (last: %s)" % (self.timeout, last))

    def _fail(self, what):
        self.kill()
        lines = []
        for path in (os.path.join(self.dir, "redis.stdout"), self.log_path):
            try:
                with open(path, errors="replace") as f:
                    lines += f.read().splitlines()[-5:]
            except OSError:
                pass
        raise RedisError("redis-server on %s:%s %s (log %s); last lines: %s" % (
            HOST, self.port, what, self.log_path, " / ".join(lines) or "(none)"))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def url(self):
        if self.password is None:
            return "redis://%s:%d" % (HOST, self.port)
        return "redis://:%s@%s:%d" % (urllib.parse.quote(self.password, safe=""), HOST, self.port)

    def _drop_conn(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def stop(self, timeout=10.0):
        """SIGTERM (Redis shuts down: the AOF is flushed and fsynced), waits up to
        `timeout` s, then SIGKILLs its process group. Returns the exit status (negative:
        killed by that signal); again after it exited, the same. Keeps `dir`."""
        self._drop_conn()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self._killpg()
        self.proc.wait()
        _LIVE.discard(self)
        return self.proc.returncode

    def _killpg(self):
        # Only while the leader is not reaped: its pid, which is the group's id, cannot
        # be reused before that, so this never signals a stranger.
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()

    def kill(self):
        """SIGKILL, as a crash would: no shutdown, what the AOF has fsynced is what
        survives. Returns the exit status."""
        self._drop_conn()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.killed = True
            self._killpg()
        self.proc.wait()
        _LIVE.discard(self)
        return self.proc.returncode

    def restart(self, timeout=10.0):
        """stop() then start() on the same port and directory: with appendonly the data
        is read back from the AOF, without it Redis starts empty."""
        self.stop(timeout)
        return self.start()

    def close(self):
        """stop(), and remove the directory if it was a temporary one of ours."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    # -- talking to it ---------------------------------------------------------------

    def connect(self, timeout=10.0):
        """A new RespConnection to this server (authenticated), the caller's to close."""
        return RespConnection(HOST, self.port, self.password, timeout=timeout)

    def cmd(self, *args):
        """One command on a connection kept for these calls (made again after a restart
        or a dropped connection): cmd("XADD", "s", "*", "f", "v")."""
        if not self.alive():
            raise RedisError("redis-server on %s:%s is not running" % (HOST, self.port))
        for attempt in range(2):
            if self._conn is None:
                self._conn = self.connect()
            try:
                return self._conn.call(*args)
            except (ConnectionError, BrokenPipeError) as e:
                self._drop_conn()
                if attempt == 1:
                    raise RedisError("redis-server on %s:%s: %s" % (HOST, self.port, e))
        return None

    def info(self, section=None):
        """INFO [section] parsed by parse_info()."""
        return parse_info(self.cmd("INFO", section) if section else self.cmd("INFO"))


def _conf_quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


@atexit.register
def _stop_all():
    for redis in list(_LIVE):
        try:
            redis.close()
        except Exception:  # noqa: BLE001 -- exiting anyway; the pdeathsig is the backstop
            pass

