// deflate.test.mjs -- Chromium's own WebSocket (no tidegate sub-protocol) against the real
// binary: it offers permessage-deflate, is answered with it, sends its messages compressed
// and decodes the batches the gateway deflated once (counted in
// tidegate_deflated_batches_total).
//
//   TIDEGATE_BIN=build/tidegate TG_ARTIFACTS=build node --test tests/web/deflate.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { kLaunch, loadChromium, requireEnv } from './browser.mjs';
import { Gateway } from './gateway.mjs';

const kWaitMs = 15000; // the bound of every wait for a condition

// The sum of a metric's samples on the gateway's metrics port.
async function metric(metricsPort, name) {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) total += Number(line.split(' ').pop());
  }
  return total;
}

// In the page: two sockets in one room; the first sends `text`, both wait for the batch
// that carries it. Resolves to what each socket negotiated.
async function chat({ url, text, waitMs }) {
  const open = () => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const got = [];
    ws.onmessage = (ev) => got.push(JSON.parse(ev.data));
    ws.onerror = () => reject(new Error('socket error'));
    ws.onopen = () => resolve({ ws, got });
  });
  const a = await open();
  const b = await open();
  const until = (s, pred) => new Promise((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error('timed out: ' + JSON.stringify(s.got))), waitMs);
    const check = () => {
      if (pred(s.got)) {
        clearTimeout(deadline);
        resolve();
      } else {
        setTimeout(check, 20);
      }
    };
    check();
  });
  await until(a, (got) => got.some((d) => d.t === 'hello'));
  a.ws.send(JSON.stringify({ t: 'msg', text }));
  const carries = (got) => got.some((d) => d.t === 'batch' && d.msgs.some((m) => m.text === text));
  await until(a, carries);
  await until(b, carries);
  const result = { a: a.ws.extensions, b: b.ws.extensions, protocol: a.ws.protocol };
  a.ws.close();
  b.ws.close();
  return result;
}

describe('permessage-deflate in chromium', { timeout: 120000 }, () => {
  let gateway;
  let browser;
  let port;

  before(async () => {
    const chromium = await loadChromium();
    const bin = requireEnv('TIDEGATE_BIN');
    requireEnv('TG_ARTIFACTS');
    assert.ok(fs.existsSync(kLaunch.executablePath), `${kLaunch.executablePath} is missing: run scripts/setup.sh`);
    gateway = new Gateway(bin, ['--log-level', 'warn']);
    port = await gateway.start(0);
    browser = await chromium.launch(kLaunch);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    const stopped = await gateway?.stop();
    if (stopped && stopped.code !== 0) console.error(`gateway exit: ${JSON.stringify(stopped)}\n${gateway.output}`);
  });

  it('negotiates it, sends compressed and decodes the deflated batches', async () => {
    const m = gateway.output.match(/metrics 127\.0\.0\.1:(\d+)/);
    assert.ok(m, `no metrics line in: ${gateway.output}`);
    const before = await metric(m[1], 'tidegate_deflated_batches_total');
    const page = await browser.newPage();
    // A page of the gateway's own origin (its Origin is allowed), then plain WebSockets.
    const res = await page.goto(`http://127.0.0.1:${port}/`);
    assert.equal(res.status(), 200);
    const text = 'compressed once for every member, '.repeat(8);
    const got = await page.evaluate(chat, { url: `ws://127.0.0.1:${port}/ws?room=pmd-web`, text, waitMs: kWaitMs });
    for (const ext of [got.a, got.b]) {
      assert.match(ext, /^permessage-deflate; server_no_context_takeover; client_no_context_takeover/);
    }
    assert.equal(got.protocol, '');
    assert.ok(await metric(m[1], 'tidegate_deflated_batches_total') > before);
    assert.ok(await metric(m[1], 'tidegate_deflate_saved_bytes_total') > 0);
    await page.close();
  });
});
