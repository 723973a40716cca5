// redis.mjs -- a real redis-server for the browser tests of cluster mode (Debian's
// redis-server, scripts/setup.d/cluster.sh): on 127.0.0.1 only, configured entirely on
// the command line, with no persistence at all (no RDB, no AOF), in a temporary
// directory of its own. start() resolves once it answers PING; kill() is a crash
// (SIGKILL), and a start() on the same port afterwards is a Redis that lost everything.
// close() stops it and removes the directory; it must run, also when a test failed.
//
// What makes sure no redis-server outlives its test: it is started through util-linux's
// `setpriv --pdeathsig KILL` (when present), so the kernel kills it if node dies
// whichever way (a CTest timeout); and a process 'exit' handler kills any still running.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const kHost = '127.0.0.1';
const kStartTimeoutMs = 10000;
const kStopTimeoutMs = 5000;
const kOutputLimit = 16384; // the tail of redis's output kept for failure messages

const live = new Set(); // running processes, killed at exit whatever happened
process.once('exit', () => {
  for (const proc of live) {
    try {
      proc.kill('SIGKILL');
    } catch {
      /* gone already */
    }
  }
});

function findSetpriv() {
  const r = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// A TCP port that was free on 127.0.0.1 a moment ago.
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, kHost, resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// One PING over a fresh connection: resolves true on +PONG, false on anything else
// (refused, -LOADING, no answer within timeoutMs).
export function ping(port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: kHost, port });
    let reply = '';
    const done = (ok) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('*1\r\n$4\r\nPING\r\n'));
    sock.on('data', (d) => {
      reply += d;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG\r\n'));
    });
    sock.once('close', () => done(false));
  });
}

export class RedisServer {
  #bin;
  #proc = null;
  #exit = null; // resolves with {code, signal} when the current process exits
  #dir = null;
  port = null; // kept across kill() and start(): a restart is on the same port
  output = ''; // the tail of stdout + stderr of every run so far, for failure messages

  constructor(bin = process.env.TG_REDIS_SERVER ?? 'redis-server') {
    this.#bin = bin;
  }

  get running() {
    return this.#proc !== null;
  }

  get url() {
    return `redis://${kHost}:${this.port}`;
  }

  // Starts redis-server on `port` (default: the port of the previous run, or a free one);
  // resolves to the port once it answers PING. A port chosen here that someone took
  // meanwhile is retried with another, twice.
  async start(port = this.port) {
    if (this.#proc) throw new Error('redis-server already running');
    const chosen = !port;
    for (let attempt = 0; ; attempt++) {
      this.port = chosen ? await freePort() : port;
      try {
        await this.#spawn();
        return this.port;
      } catch (err) {
        if (!chosen || attempt === 2 || !/Address already in use/i.test(this.output)) throw err;
      }
    }
  }

  async #spawn() {
    this.#dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-web-redis-'));
    const args = ['--port', String(this.port), '--bind', kHost, '--protected-mode', 'yes',
      '--save', '', '--appendonly', 'no', '--dir', this.#dir, '--daemonize', 'no'];
    const setpriv = findSetpriv();
    const [cmd, argv] = setpriv ? [setpriv, ['--pdeathsig', 'KILL', this.#bin, ...args]] : [this.#bin, args];
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    live.add(proc);
    this.#exit = new Promise((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      // A process that could not be started (ENOENT, EACCES) emits 'error', never 'exit'.
      proc.once('error', (err) => {
        if (proc.pid === undefined) resolve({ code: null, signal: null, error: err.message });
      });
    });
    this.#exit.then(() => {
      live.delete(proc);
      if (this.#proc === proc) this.#proc = null;
    });
    const keep = (d) => {
      this.output = (this.output + d).slice(-kOutputLimit);
    };
    for (const stream of [proc.stdout, proc.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', keep);
    }
    let exited = null;
    this.#exit.then((e) => (exited = e));
    let spawnError = null;
    proc.once('error', (err) => (spawnError = err));

    const deadline = Date.now() + kStartTimeoutMs;
    for (;;) {
      if (spawnError) return this.#fail(`cannot start: ${spawnError.message}`);
      if (exited) return this.#fail(`exited early (code ${exited.code}, signal ${exited.signal})`);
      if (await ping(this.port, 500)) return undefined;
      if (Date.now() > deadline) return this.#fail(`did not answer PING within ${kStartTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async #fail(why) {
    await this.kill();
    throw new Error(`${this.#bin} on ${kHost}:${this.port}: ${why}` +
      `${/ENOENT|No such file/.test(why + this.output) ? ' (run scripts/setup.sh: it installs redis-server)' : ''}\n--- output ---\n${this.output}`);
  }

  // SIGKILL, as a crash: without persistence everything Redis held is gone.
  async kill() {
    const proc = this.#proc;
    if (!proc) return null;
    proc.kill('SIGKILL');
    return await this.#exit;
  }

  // SIGTERM, SIGKILL after a deadline; resolves to {code, signal}.
  async stop() {
    const proc = this.#proc;
    if (!proc) return null;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), kStopTimeoutMs);
    const result = await this.#exit;
    clearTimeout(timer);
    return result;
  }

  // stop(), and remove the temporary directory.
  async close() {
    await this.stop();
    if (this.#dir) fs.rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}
