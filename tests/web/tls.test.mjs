// tls.test.mjs -- the chat page over https:// in Debian's chromium: a gateway with
// --tls-cert (a self-signed certificate made here with `openssl req`), chromium with
// --ignore-certificate-errors; the page must open its WebSocket as wss:// on its own and
// chat over it.
//
//   TIDEGATE_BIN=build/tidegate TG_ARTIFACTS=build node --test tests/web/tls.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kLaunch, loadChromium, recordSocketUrls, requireEnv } from './browser.mjs';
import { Gateway } from './gateway.mjs';

const kWaitMs = 15000; // the bound of every wait for a condition

describe('chat page over https', { timeout: 120000 }, () => {
  let gateway;
  let browser;
  let base;
  let tmp;
  let artifacts;

  before(async () => {
    const chromium = await loadChromium();
    const bin = requireEnv('TIDEGATE_BIN');
    artifacts = requireEnv('TG_ARTIFACTS');
    assert.ok(fs.existsSync(kLaunch.executablePath), `${kLaunch.executablePath} is missing: run scripts/setup.sh`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-web-tls-'));
    const crt = path.join(tmp, 'gw.crt');
    const key = path.join(tmp, 'gw.key');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', crt, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore', timeout: 30000 });
    gateway = new Gateway(bin, ['--tls-cert', crt, '--tls-key', key]);
    const port = await gateway.start(0);
    base = `https://127.0.0.1:${port}`;
    browser = await chromium.launch({ ...kLaunch, args: [...kLaunch.args, '--ignore-certificate-errors'] });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    const stopped = await gateway?.stop();
    if (stopped && stopped.code !== 0) console.error(`gateway exit: ${JSON.stringify(stopped)}\n${gateway.output}`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function join(name) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 } });
    await context.addInitScript(recordSocketUrls);
    const page = await context.newPage();
    page.setDefaultTimeout(kWaitMs);
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err?.stack ?? err)));
    const res = await page.goto(base + '/');
    assert.equal(res.status(), 200);
    await page.locator('#join-dialog').waitFor({ state: 'visible' });
    await page.fill('#name-input', name);
    await page.fill('#room-input', 'secure');
    await page.click('#join-submit');
    await page.locator('#me-name').filter({ hasText: new RegExp(`^${name}$`) }).waitFor();
    await page.locator('#status[data-state="open"]').waitFor();
    return { context, page, errors };
  }

  it('loads over https, connects over wss and chats in zstd', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    for (const p of [alice.page, bob.page]) {
      assert.equal(await p.evaluate(() => location.protocol), 'https:');
      const urls = await p.evaluate(() => window.__wsUrls);
      assert.ok(urls.length > 0 && urls.every((u) => u.startsWith('wss://127.0.0.1:')), urls.join(' '));
      assert.equal(await p.getAttribute('#status', 'data-proto'), 'v2.zstd');
    }
    await alice.page.locator('#send:not([disabled])').waitFor();
    await alice.page.fill('#input', 'sent over TLS');
    await alice.page.press('#input', 'Enter');
    await bob.page.locator('#log li.msg').filter({ has: bob.page.locator('.text', { hasText: 'sent over TLS' }) }).waitFor();
    await bob.page.screenshot({ path: path.join(artifacts, 'web-tls.png') });
    assert.deepEqual(alice.errors, []);
    assert.deepEqual(bob.errors, []);
    await alice.context.close();
    await bob.context.close();
  });
});
