// auth.test.mjs -- the chat page signed in with a token in the URL fragment, in Debian's
// chromium (playwright-core) against the real tidegate binary under --auth required.
// Tokens are HS256, minted here with node's crypto.
//
//   TIDEGATE_BIN=build/tidegate TG_ARTIFACTS=build node --test tests/web/auth.test.mjs
//
// The steps share one gateway and one browser and run in order. No step asserts on
// timing: each waits for a condition with a bounded timeout.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kLaunch, loadChromium, recordSocketUrls, requireEnv } from './browser.mjs';
import { Gateway } from './gateway.mjs';

const kWaitMs = 15000; // the bound of every wait for a condition
const kSecret = 'web-test-secret-0123456789abcdefghijkl';

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

// An HS256 JWT for `claims`, `exp` `ttl` seconds from now.
function token(claims, ttl = 300) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' })) + '.' +
    b64url(JSON.stringify({ iat: now, exp: now + ttl, ...claims }));
  return head + '.' + b64url(crypto.createHmac('sha256', kSecret).update(head).digest());
}

describe('chat page with a token', { timeout: 240000 }, () => {
  let chromium;
  let artifacts;
  let gateway;
  let base;
  let browser;
  let tmp;
  let secretFile;

  before(async () => {
    chromium = await loadChromium();
    const bin = requireEnv('TIDEGATE_BIN');
    artifacts = requireEnv('TG_ARTIFACTS');
    assert.ok(fs.existsSync(kLaunch.executablePath), `${kLaunch.executablePath} is missing: run scripts/setup.sh`);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-web-auth-'));
    secretFile = path.join(tmp, 'hs256.secret');
    fs.writeFileSync(secretFile, kSecret + '\n');
    gateway = new Gateway(bin, ['--auth', 'required', '--jwt-hs256-secret-file', secretFile,
      '--jwt-leeway-s', '0']);
    base = `http://127.0.0.1:${await gateway.start(0)}`;
    browser = await chromium.launch(kLaunch);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    const stopped = await gateway?.stop();
    if (stopped && stopped.code !== 0) console.error(`gateway exit: ${JSON.stringify(stopped)}\n${gateway.output}`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function openPage(hash) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 }, locale: 'en-GB' });
    await context.addInitScript(recordSocketUrls);
    const page = await context.newPage();
    page.setDefaultTimeout(kWaitMs);
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err?.stack ?? err)));
    const consoleText = [];
    page.on('console', (msg) => consoleText.push(msg.text()));
    await page.goto(base + '/' + hash);
    return { context, page, errors, consoleText };
  }

  async function say(page, text) {
    await page.locator('#send:not([disabled])').waitFor();
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
  }

  it('signs in from the fragment and chats as the token\'s name', async () => {
    const t1 = token({ sub: 'u-1', name: 'Tess' });
    const tess = await openPage(`#room=lobby&token=${t1}`);
    const uma = await openPage(`#lobby&token=${token({ sub: 'u-2', name: 'Uma' })}`);
    for (const [p, name] of [[tess, 'Tess'], [uma, 'Uma']]) {
      await p.page.locator('#me-name', { hasText: new RegExp(`^${name}$`) }).waitFor();
      await p.page.locator('#status[data-state="open"]').waitFor();
      assert.ok(!(await p.page.locator('#join-dialog').isVisible()), 'a signed-in page asked for a name');
    }
    // The token left the address bar, and went to the server only as ?token= of /ws.
    const t = tess.page;
    assert.equal(new URL(t.url()).hash, '#lobby');
    const urls = await t.evaluate(() => window.__wsUrls);
    assert.ok(urls.length >= 1);
    for (const u of urls) {
      assert.equal(new URL(u).pathname, '/ws');
      assert.equal(new URL(u).searchParams.get('token'), t1);
      assert.equal(new URL(u).searchParams.get('name'), null);
    }
    assert.ok(!tess.consoleText.some((line) => line.includes(t1)), 'the token was logged');

    await say(t, 'hello from Tess');
    const row = uma.page.locator('#log li.msg').filter({ has: uma.page.locator('.text', { hasText: 'hello from Tess' }) });
    await row.waitFor();
    assert.equal(await row.getAttribute('data-from'), 'Tess');
    await t.screenshot({ path: path.join(artifacts, 'web-auth-signed-in.png') });
    assert.deepEqual(tess.errors, []);
    await tess.context.close();
    await uma.context.close();
  });

  it('shows why it is refused: expired, another room, no token', async () => {
    const expired = await openPage(`#lobby&token=${token({ sub: 'u-3' }, -60)}`);
    await expired.page.locator('#log li[data-kind="refused-expired"]', { hasText: /expired/ }).waitFor();
    await expired.page.locator('#status[data-state="stopped"]').waitFor();

    const elsewhere = await openPage(`#lobby&token=${token({ sub: 'u-4', rooms: ['team.*'] })}`);
    await elsewhere.page.locator('#log li[data-kind="refused-forbidden"]', { hasText: /#lobby is not open to you/ }).waitFor();
    await elsewhere.page.locator('#join-error', { hasText: /not open to you/ }).waitFor();
    // Another room, one the token allows: in.
    await elsewhere.page.fill('#room-input', 'team.a');
    await elsewhere.page.click('#join-submit');
    await elsewhere.page.locator('#status[data-state="open"]').waitFor();
    await elsewhere.page.locator('#room-name', { hasText: /^team\.a$/ }).waitFor();

    // Without a token the page asks for a name as it always did; the server says no.
    const none = await openPage('#lobby');
    await none.page.locator('#join-dialog').waitFor({ state: 'visible' });
    await none.page.fill('#name-input', 'nobody');
    await none.page.click('#join-submit');
    await none.page.locator('#join-error', { hasText: /needs a sign-in token/ }).waitFor();
    await none.page.locator('#log li[data-kind="refused-unauthorized"]', { hasText: /needs a sign-in token/ }).waitFor();
    await none.page.screenshot({ path: path.join(artifacts, 'web-auth-refused.png') });
    for (const p of [expired, elsewhere, none]) {
      assert.deepEqual(p.errors, []);
      await p.context.close();
    }
  });

  it('refreshes with a new token from the fragment and outlives the old one', async () => {
    const short = token({ sub: 'u-5', name: 'Vic' }, 6);
    const vic = await openPage(`#lobby&token=${short}`);
    const v = vic.page;
    await v.locator('#status[data-state="open"]').waitFor();
    await v.evaluate((t) => { location.hash = `#lobby&token=${t}`; }, token({ sub: 'u-5', name: 'Vic' }, 600));
    await v.locator('#log li[data-kind="refreshed"]').waitFor();
    assert.equal(new URL(v.url()).hash, '#lobby');
    // Past the first token's expiry (and the server's once-a-second check), still in.
    await v.waitForTimeout(8000);
    await say(v, 'still here');
    await v.locator('#log li.msg .text', { hasText: 'still here' }).waitFor();
    assert.equal(await v.locator('#log li[data-kind="refused-expired"]').count(), 0);

    // Without a refresh the session ends, and the page says why.
    const wes = await openPage(`#lobby&token=${token({ sub: 'u-6', name: 'Wes' }, 5)}`);
    await wes.page.locator('#status[data-state="open"]').waitFor();
    await wes.page.locator('#log li[data-kind="refused-expired"]', { hasText: /expired/ }).waitFor();
    await wes.page.locator('#status[data-state="stopped"]').waitFor();
    for (const p of [vic, wes]) {
      assert.deepEqual(p.errors, []);
      await p.context.close();
    }
  });

  it('under --auth optional, a page without a token chats as a guest', async () => {
    const optional = new Gateway(requireEnv('TIDEGATE_BIN'), ['--auth', 'optional',
      '--jwt-hs256-secret-file', secretFile]);
    const saved = base;
    try {
      base = `http://127.0.0.1:${await optional.start(0)}`;
      const guest = await openPage('#lobby');
      const g = guest.page;
      await g.locator('#join-dialog').waitFor({ state: 'visible' });
      await g.fill('#name-input', 'Xena');
      await g.click('#join-submit');
      await g.locator('#log li[data-kind="forbidden-name"]', { hasText: /you are guest-\d+/ }).waitFor();
      await g.locator('#join-dialog').waitFor({ state: 'hidden' });
      await g.locator('#me-name', { hasText: /^guest-\d+$/ }).waitFor();
      await say(g, 'a guest speaks');
      await g.locator('#log li.msg .text', { hasText: 'a guest speaks' }).waitFor();
      assert.deepEqual(guest.errors, []);
      await guest.context.close();
    } finally {
      base = saved;
      await optional.stop();
    }
  });
});
