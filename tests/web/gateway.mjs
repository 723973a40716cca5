// gateway.mjs -- starts the real tidegate binary for the browser tests: on a loopback
// port (0 = any), reads the port back from its "listening HOST:PORT" line, fails fast if
// it dies, and stops it with SIGTERM (SIGKILL after a deadline). A binary that cannot be
// started fails start() at once, and stop() afterwards returns at once.

import { spawn } from 'node:child_process';

const kStartTimeoutMs = 15000;
const kStopTimeoutMs = 10000;

// Gateways still running when node exits (a hook that timed out before stop()) are
// killed, so none outlives its test.
const live = new Set();
process.once('exit', () => {
  for (const proc of live) {
    try {
      proc.kill('SIGKILL');
    } catch {
      /* gone already */
    }
  }
});

export class Gateway {
  #bin;
  #extraArgs;
  #proc = null;
  #exit = null; // resolves with {code, signal} when the current process exits
  output = ''; // stdout + stderr of every run so far, for failure messages

  constructor(bin, extraArgs = []) {
    this.#bin = bin;
    this.#extraArgs = extraArgs;
  }

  get running() {
    return this.#proc !== null;
  }

  // Starts the gateway on 127.0.0.1:port; resolves to the port it listens on.
  async start(port = 0) {
    if (this.#proc) throw new Error('gateway already running');
    // Metrics on a free port: the default 127.0.0.1:9464 would collide between gateways.
    const args = ['--listen', `127.0.0.1:${port}`, '--metrics-listen', '127.0.0.1:0', ...this.#extraArgs];
    const proc = spawn(this.#bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    this.#exit = new Promise((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      // A process that could not be started (ENOENT, EACCES) emits 'error', never 'exit'.
      proc.once('error', (err) => {
        if (proc.pid === undefined) resolve({ code: null, signal: null, error: err.message });
      });
    });
    live.add(proc);
    this.#exit.then(() => {
      live.delete(proc);
      if (this.#proc === proc) this.#proc = null;
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => (this.output += d));
    proc.stdout.setEncoding('utf8');

    return await new Promise((resolve, reject) => {
      let line = '';
      let settled = false;
      const timer = setTimeout(() => fail(`no "listening" line within ${kStartTimeoutMs} ms`), kStartTimeoutMs);
      const fail = (why) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        proc.kill('SIGKILL');
        reject(new Error(`gateway ${this.#bin} ${args.join(' ')}: ${why}\n--- output ---\n${this.output}`));
      };
      proc.once('error', (err) => fail(`cannot start: ${err.message}`));
      this.#exit.then(({ code, signal }) => fail(`exited early (code ${code}, signal ${signal})`));
      proc.stdout.on('data', (d) => {
        this.output += d;
        line += d;
        const m = /listening 127\.0\.0\.1:(\d+)/.exec(line);
        if (m && !settled) {
          settled = true;
          clearTimeout(timer);
          line = '';
          resolve(Number(m[1]));
        }
      });
    });
  }

  // Sends SIGTERM and waits for the exit; resolves to {code, signal}. Kills after a deadline.
  async stop() {
    const proc = this.#proc;
    if (!proc) return null;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), kStopTimeoutMs);
    const result = await this.#exit;
    clearTimeout(timer);
    return result;
  }
}
