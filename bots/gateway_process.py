"""gateway_process.py -- a gateway on a loopback port the kernel picks: started, its port
read back from stdout, and always stopped.

tidegate started with `--listen 127.0.0.1:0` prints `listening 127.0.0.1:PORT` on stdout
once it listens, and with `--metrics-listen 127.0.0.1:0` also `metrics 127.0.0.1:PORT`
(src/main.cpp), and with `--api-listen 127.0.0.1:0` `api 127.0.0.1:PORT`; its log goes to
stderr. tests/bots/fake_gateway.py prints the same
`listening` line. Used by bots/bench, bots/ramp, bots/storm, bots/soak and the Python tests.
Stdlib only (Debian's /usr/bin/python3).

    with GatewayProcess("build/tidegate", ["--workers", "2"]) as gw:
        ...  # gw.port, gw.url, gw.pid
    # or: gw = GatewayProcess(...); ...; code = gw.stop()
"""
import collections
import os
import re
import shlex
import signal
import subprocess
import threading

# A line the gateway prints on stdout: `listening HOST:PORT` or `metrics HOST:PORT`.
PORT_LINE = re.compile(r"(listening|metrics|api) (\S+):(\d+)$")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class GatewayError(RuntimeError):
    """The gateway exited, or printed no `listening` line in time."""


def stop_process(proc, sig=signal.SIGTERM, timeout=15.0):
    """Sends `sig` to a Popen `proc` that still runs (none if `sig` is None: it was sent
    already), waits up to `timeout` s, then SIGKILLs it. Returns whether it had to be
    SIGKILLed; proc.returncode then holds the exit status."""
    if proc.poll() is not None:
        return False
    if sig is not None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


class GatewayProcess:
    """Runs `command` (a path, or a list such as [python, script]) with `--listen LISTEN`
    and then `args`, and waits up to `timeout` s for its `listening` line (and its
    `metrics` line too with metrics=True, and its `api` line with api=True; the caller
    passes --metrics-listen and --api-listen). A thread
    keeps reading stdout so that the gateway never blocks on a full pipe.

    With `log_path`, stderr and every stdout line go to that file; without, stderr is
    this process's. Raises GatewayError, with the log path and the last lines, if the
    gateway exits or stays silent; it is stopped then.

    port, host, url (ws://HOST:PORT/ws), metrics_port (None unless printed), pid, proc;
    killed tells whether stop() had to SIGKILL it."""

    def __init__(self, command, args=(), *, listen="127.0.0.1:0", metrics=False, api=False,
                 log_path=None, timeout=15.0):
        command = [command] if isinstance(command, str) else list(command)
        self.command = command + (["--listen", listen] if listen else []) + list(args)
        self.log_path = log_path
        self.host = self.port = self.metrics_port = self.api_port = None
        self.signalled = self.killed = False
        self.last_lines = collections.deque(maxlen=10)
        self._want_metrics = metrics
        self._want_api = api
        self._log = open(log_path, "w", buffering=1) if log_path else None
        self.proc = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self._log,
                                     text=True, errors="replace")
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or not self._started():
            self._fail(timeout)

    def _started(self):
        return (self.port is not None
                and (self.metrics_port is not None or not self._want_metrics)
                and (self.api_port is not None or not self._want_api))

    def _pump(self):
        try:
            for line in self.proc.stdout:
                self.last_lines.append(line.rstrip("\n"))
                if self._log:
                    self._log.write(line)
                m = PORT_LINE.match(line.strip())
                if m and m.group(1) == "listening" and self.port is None:
                    self.host, self.port = m.group(2), int(m.group(3))
                elif m and m.group(1) == "metrics" and self.metrics_port is None:
                    self.metrics_port = int(m.group(3))
                elif m and m.group(1) == "api" and self.api_port is None:
                    self.api_port = int(m.group(3))
                if self._started():
                    self._ready.set()
        except (OSError, ValueError):  # the pipe or the log closed under us by stop()
            pass
        self._ready.set()  # end of stdout: the gateway exited (or closed it)

    def _fail(self, timeout):
        wanted = "'listening' and 'metrics' lines" if self._want_metrics else "'listening' line"
        if self._ready.is_set():  # stdout ended: give the exit status a moment to arrive
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.poll()
        self.stop(timeout=5)
        if code is None:
            what = "printed no %s within %g s" % (wanted, timeout)
        else:
            what = "exited with status %d before printing its %s" % (code, wanted)
        last = list(self.last_lines)
        if self.log_path:
            with open(self.log_path, errors="replace") as f:
                last = f.read().splitlines()[-5:]
        cmd = shlex.join(self.command)
        raise GatewayError("%s %s%s; last lines: %s" % (
            cmd if len(cmd) <= 200 else cmd[:200] + "...", what,
            " (log %s)" % self.log_path if self.log_path else "", " / ".join(last) or "(none)"))

    @property
    def pid(self):
        return self.proc.pid

    @property
    def url(self):
        return "ws://%s:%d/ws" % (self.host, self.port)

    def alive(self):
        return self.proc.poll() is None

    def send_signal(self, sig=signal.SIGTERM):
        """Sends `sig` if it still runs; stop() then sends nothing more before it waits."""
        if self.proc.poll() is None:
            self.signalled = True
            self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Sends `sig` (unless send_signal() did already), waits up to `timeout` s, then
        SIGKILLs it. Returns the exit status (negative: killed by that signal). Again
        after the gateway has exited, it returns the same."""
        if self.proc.poll() is None:
            self.killed = stop_process(self.proc, None if self.signalled else sig, timeout)
            self.signalled = True
        self._thread.join(5)
        if not self._thread.is_alive():  # else a child of the gateway still holds stdout
            self.proc.stdout.close()
            if self._log:
                self._log.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def flag_value(words, name, default=None):
    """The value of the last `name VALUE` or `name=VALUE` in a list of flags (a gateway's
    or a swarm's command line), or `default`."""
    value = default
    for i, word in enumerate(words):
        if word == name and i + 1 < len(words):
            value = words[i + 1]
        elif word.startswith(name + "="):
            value = word[len(name) + 1:]
    return value


def stat_cpu_seconds(pid):
    """utime + stime of `pid`, all threads, in seconds (proc(5): fields 14 and 15 of
    /proc/<pid>/stat). Counted in clock ticks (10 ms), too coarse for quiet scenarios."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_schedstats(pid):
    """{thread name: [ns on CPU, ns waiting on a run queue, timeslices]} summed over the
    threads of `pid` that share a name (/proc/<pid>/task/<tid>/comm and schedstat). The
    wait is the time a thread was ready to run but had no CPU: a handoff's cost on a
    machine whose cores are busy. {} if the process is gone."""
    out = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            base = "/proc/%d/task/%s/" % (pid, tid)
            with open(base + "comm") as f:
                name = f.read().strip()
            with open(base + "schedstat") as f:
                fields = [int(x) for x in f.read().split()[:3]]
            acc = out.setdefault(name, [0, 0, 0])
            for i, v in enumerate(fields):
                acc[i] += v
    except (OSError, ValueError):
        pass
    return out


def cpu_seconds(pid):
    """CPU time of `pid` in seconds, to the nanosecond: the sum over its threads of
    /proc/<pid>/task/<tid>/schedstat's first field (time on CPU, ns). Falls back to
    /proc/<pid>/stat. Threads that already exited are missed; tidegate's live all run."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        return stat_cpu_seconds(pid)


def self_signed_cert(directory, cn="localhost"):
    """(cert, key): PEM files of a P-256 self-signed certificate for 127.0.0.1 and
    localhost, valid a day, made by `openssl req` in `directory` (for --tls-cert/--tls-key
    and the swarm's --tls-ca)."""
    crt, key = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return crt, key
