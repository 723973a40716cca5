// outside_client.mjs -- drives v1_client.py (a tidegate.v1.json client in
// python3-websockets) from a browser test: one JSON command a line on its stdin, one
// JSON answer a line on its stdout. Every answer is awaited with a bounded timeout; stop()
// ends it (SIGKILL after a deadline).

import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const kAnswerMs = 20000; // longer than the client's own waits (15 s), so its error shows
const kStopMs = 5000;

export class OutsideClient {
  #proc;
  #lines = []; // answers not yet taken
  #waiting = []; // resolvers waiting for an answer
  #exit;
  output = ''; // stderr, for failure messages
  hello = null; // the server's hello to this client

  // Connects to `url` (ws://…/ws?room=…&name=…); resolves once the hello arrived.
  static async start(url, python = process.env.TG_PYTHON ?? '/usr/bin/python3') {
    const client = new OutsideClient(url, python);
    client.hello = (await client.#next()).ready;
    return client;
  }

  constructor(url, python) {
    const proc = spawn(python, [path.join(here, 'v1_client.py'), url], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#proc = proc;
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => (this.output += d));
    this.#exit = new Promise((resolve) => {
      proc.once('exit', (code, signal) => resolve({ code, signal }));
      proc.once('error', (err) => resolve({ code: null, signal: null, error: err.message }));
    });
    this.#exit.then((how) => {
      for (const w of this.#waiting.splice(0)) w.reject(new Error(`v1_client.py exited ${JSON.stringify(how)}\n${this.output}`));
    });
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      const w = this.#waiting.shift();
      if (w) w.resolve(line);
      else this.#lines.push(line);
    });
  }

  async #next() {
    if (this.#lines.length) return JSON.parse(this.#lines.shift());
    let timer;
    const line = await new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      timer = setTimeout(() => reject(new Error(`no answer from v1_client.py in ${kAnswerMs} ms\n${this.output}`)), kAnswerMs);
    }).finally(() => clearTimeout(timer));
    return JSON.parse(line);
  }

  async call(cmd) {
    this.#proc.stdin.write(JSON.stringify(cmd) + '\n');
    return await this.#next();
  }

  // Sends a message; resolves to its seq once it came back to this client.
  async say(room, text) {
    return (await this.call({ op: 'say', room, text })).seq;
  }

  async join(room) {
    return await this.call({ op: 'join', room });
  }

  // Every message of `room` this client received, in order ([{seq, t, from, text, …}]).
  async log(room) {
    return (await this.call({ op: 'log', room })).msgs;
  }

  async stop() {
    this.#proc.stdin.end();
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), kStopMs);
    const how = await this.#exit;
    clearTimeout(timer);
    return how;
  }
}
