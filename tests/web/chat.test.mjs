// chat.test.mjs -- the chat page end to end in a real browser: Debian's chromium driven
// by playwright-core, against the real tidegate binary on a loopback port.
//
//   TIDEGATE_BIN=build/tidegate TG_ARTIFACTS=build node --test tests/web/chat.test.mjs
//
// The steps share one gateway and one browser and run in order (node:test runs the
// tests of a file one after another). No step asserts on timing: each waits for a
// condition with a bounded timeout.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kLaunch, loadChromium, requireEnv } from './browser.mjs';
import { Gateway } from './gateway.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const kWaitMs = 15000; // the bound of every wait for a condition
const kMaxRows = 40; // the DOM bound the pages are given (tidegateConfig.maxRows)
const kTinyHistoryBytes = 4096; // --history-bytes of the gap test's gateway

// Loaded in before(): browser.mjs says what is missing.
let chromium;

// Every page gets these before its own scripts run: a small DOM bound, and a wrapper
// around WebSocket that records the URLs the page connects to and lets the test hold
// new connections back (they go to a closed loopback port while __ws.block is set).
function pageHooks({ maxRows }) {
  window.tidegateConfig = { maxRows };
  const Native = window.WebSocket;
  const ws = { urls: [], sockets: [], block: false };
  window.__ws = ws;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      ws.urls.push(String(url));
      super(ws.block ? String(url).replace(/\/\/[^/]+/, '//127.0.0.1:1') : url, protocols);
      ws.sockets.push(this);
    }
  };
}

describe('chat page', { timeout: 240000 }, () => {
  let bin;
  let artifacts;
  let gateway;
  let port;
  let base;
  let browser;
  const people = {}; // name -> {context, page, errors}

  before(async () => {
    chromium = await loadChromium();
    bin = requireEnv('TIDEGATE_BIN');
    artifacts = requireEnv('TG_ARTIFACTS');
    assert.ok(fs.existsSync(kLaunch.executablePath), `${kLaunch.executablePath} is missing: run scripts/setup.sh`);
    gateway = new Gateway(bin);
    port = await gateway.start(0);
    base = `http://127.0.0.1:${port}`;
    // launch() gives chromium a fresh temporary user data dir, removed on close.
    browser = await chromium.launch(kLaunch);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    const stopped = await gateway?.stop();
    if (stopped && stopped.code !== 0) console.error(`gateway exit: ${JSON.stringify(stopped)}\n${gateway.output}`);
  });

  async function openPage(viewport = { width: 1000, height: 720 }) {
    const context = await browser.newContext({ viewport, colorScheme: 'light', locale: 'en-GB' });
    await context.addInitScript(pageHooks, { maxRows: kMaxRows });
    const page = await context.newPage();
    page.setDefaultTimeout(kWaitMs);
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err?.stack ?? err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') console.error(`[page console] ${msg.text()}`);
    });
    await page.goto(base + '/');
    return { context, page, errors };
  }

  // Opens a page, fills the join dialog, and waits until the server confirmed the name.
  async function join(name, room = 'lobby') {
    const p = await openPage();
    await submitJoin(p.page, name, room);
    await p.page.locator('#me-name').filter({ hasText: new RegExp(`^${name}$`) }).waitFor();
    await p.page.locator('#join-dialog').waitFor({ state: 'hidden' });
    await p.page.locator('#status[data-state="open"]').waitFor();
    people[name] = p;
    return p;
  }

  async function submitJoin(page, name, room) {
    await page.locator('#join-dialog').waitFor({ state: 'visible' });
    await page.fill('#name-input', name);
    await page.fill('#room-input', room);
    await page.click('#join-submit');
  }

  async function say(page, text) {
    await page.locator('#send:not([disabled])').waitFor();
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
  }

  // The message row whose text is exactly `text`.
  function messageRow(page, text) {
    return page.locator('#log li.msg').filter({ has: page.locator('.text', { hasText: text }) });
  }

  it('serves the page and the zstd decoder from the binary', async () => {
    const index = await fetch(base + '/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await index.text(), /<script type="module" src="\/app.js">/);
    for (const asset of ['/app.js', '/connection.js', '/codec.js', '/chatlog.js', '/style.css', '/favicon.svg']) {
      const res = await fetch(base + asset);
      assert.equal(res.status, 200, `${asset} is not served`);
      assert.equal(await res.text(), fs.readFileSync(path.join(here, '../../web/public', asset), 'utf8'),
        `${asset} differs from web/public${asset}: rebuild the gateway`);
    }
    const app = await fetch(base + '/app.js');
    assert.match(app.headers.get('content-type') ?? '', /javascript/);
    const fzstd = await fetch(base + '/vendor/fzstd.js');
    assert.equal(fzstd.status, 200, '/vendor/fzstd.js (web/node_modules/fzstd) is not embedded');
    assert.match(fzstd.headers.get('content-type') ?? '', /javascript/);
    assert.match(await fzstd.text(), /decompress/);
  });

  it('two people pick names and chat, over tidegate.v2.zstd', async () => {
    const alice = await join('alice');
    const bob = await join('bob');
    const a = alice.page;
    const b = bob.page;

    // Both sockets negotiated the room-stream zstd, so the batches below went through
    // fzstd's streaming decoder (web_v2 tests that path in depth).
    assert.equal(await a.getAttribute('#status', 'data-proto'), 'v2.zstd');
    assert.equal(await b.getAttribute('#status', 'data-proto'), 'v2.zstd');

    await say(a, 'hello bob, this is alice');
    const atBob = messageRow(b, 'hello bob, this is alice');
    await atBob.waitFor();
    assert.equal(await atBob.getAttribute('data-from'), 'alice');
    assert.equal(await atBob.locator('.from').textContent(), 'alice');
    assert.match(await atBob.locator('time').textContent(), /^\d\d:\d\d$/);
    assert.ok(!(await atBob.evaluate((li) => li.classList.contains('own'))), 'alice\'s message is marked as bob\'s own');
    await messageRow(a, 'hello bob, this is alice').and(a.locator('.own')).waitFor();

    await say(b, 'hi alice!');
    await messageRow(a, 'hi alice!').waitFor();
    await messageRow(b, 'hi alice!').and(b.locator('.own')).waitFor();

    // bob's arrival is an event in alice's flow; the room has two people online.
    await a.locator('#log li.event.join', { hasText: 'bob joined' }).waitFor();
    await a.locator('#online-count', { hasText: /^2$/ }).waitFor();
    await b.locator('#online-count', { hasText: /^2$/ }).waitFor();

    // The status line shows the ping round trip and the server's flush window.
    await a.locator('#status-metrics [data-metric="rtt"]', { hasText: /^ping \d+ ms$/ }).waitFor();
    await a.locator('#status-metrics [data-metric="window"]', { hasText: /^window [\d.]+ ms$/ }).waitFor();
  });

  it('refuses a taken name with a clear message, then accepts another', async () => {
    const carol = await openPage();
    const c = carol.page;
    await submitJoin(c, 'alice', 'lobby');
    const error = c.locator('#join-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.textContent(), /“alice” is already taken/);
    assert.ok(await c.locator('#join-dialog').isVisible(), 'the dialog closed although the name was refused');
    assert.notEqual(await c.locator('#me-name').textContent(), 'alice');
    await c.screenshot({ path: path.join(artifacts, 'web-name-taken.png') });

    await submitJoin(c, 'carol', 'lobby');
    await c.locator('#me-name', { hasText: /^carol$/ }).waitFor();
    await c.locator('#join-dialog').waitFor({ state: 'hidden' });
    // The rename from the guest name is an event in everyone's flow; so is leaving.
    const a = people.alice.page;
    await a.locator('#log li.event.name .event-text', { hasText: /^guest-\d+ is now carol$/ }).waitFor();
    await carol.context.close();
    await a.locator('#log li.event.leave', { hasText: 'carol left' }).waitFor();
  });

  it('shows HTML from another person as text and runs none of it', async () => {
    const a = people.alice.page;
    const b = people.bob.page;
    const attack = '<img src=x onerror="window.__pwned=1;document.title=\'pwned\'"><b>bold?</b>';
    const script = '<script>window.__pwned=2</script>';
    await say(b, attack);
    await say(b, script);
    await say(b, 'after the attack');
    await messageRow(a, 'after the attack').waitFor();

    const shown = await messageRow(a, 'onerror').locator('.text').textContent();
    assert.equal(shown, attack);
    assert.equal(await messageRow(a, '__pwned=2').locator('.text').textContent(), script);
    for (const page of [a, b]) {
      assert.equal(await page.locator('#log img, #log b:not(.who), #log script').count(), 0, 'markup from a message became DOM');
      assert.equal(await page.evaluate(() => window.__pwned), undefined, 'a script from a message ran');
      assert.doesNotMatch(await page.title(), /pwned/);
    }
  });

  it('saves a screenshot of the chat', async () => {
    const a = people.alice.page;
    await say(people.bob.page, 'Anyway: lunch at noon? ☀');
    await say(a, 'Sounds good, see you there.');
    await messageRow(people.bob.page, 'Sounds good').waitFor();
    await messageRow(a, 'Sounds good').waitFor();
    const file = path.join(artifacts, 'web-chat.png');
    await a.screenshot({ path: file });
    assert.ok(fs.statSync(file).size > 1000);
  });

  it('switches to a new room and back', async () => {
    const a = people.alice.page;
    const b = people.bob.page;
    await b.click('#room-button');
    await b.locator('#join-dialog').waitFor({ state: 'visible' });
    await b.fill('#room-input', 'dev-room');
    await b.click('#join-submit');
    await b.locator('#room-name', { hasText: /^dev-room$/ }).waitFor();
    await b.locator('#join-dialog').waitFor({ state: 'hidden' });
    await b.locator('#log li.event.join .event-text', { hasText: /^bob joined$/ }).waitFor();
    assert.equal(await messageRow(b, 'hello bob, this is alice').count(), 0, 'the lobby flow was not cleared');
    await a.locator('#log li.event.leave .event-text', { hasText: /^bob left$/ }).waitFor();
    await say(b, 'only in dev-room');
    await messageRow(b, 'only in dev-room').and(b.locator('.own')).waitFor();
    await b.locator('#online-count', { hasText: /^1$/ }).waitFor();

    await b.click('#room-button');
    await b.fill('#room-input', '#lobby');
    await b.click('#join-submit');
    await b.locator('#room-name', { hasText: /^lobby$/ }).waitFor();
    await say(b, 'back in the lobby');
    await messageRow(a, 'back in the lobby').waitFor();
    assert.equal(await messageRow(a, 'only in dev-room').count(), 0, 'a message of another room reached the lobby');
    assert.equal(new URL(b.url()).hash, '#lobby');
  });

  it('resumes with ?since= after a dropped connection and loses nothing', async () => {
    const a = people.alice.page;
    const b = people.bob.page;
    // Hold bob's reconnects back, drop his socket, and talk while he is away.
    await b.evaluate(() => {
      window.__ws.block = true;
      window.__ws.sockets.at(-1).close();
    });
    await b.locator('#status[data-state="waiting"]').waitFor();
    await b.locator('#log li.notice[data-kind="disconnected"]').waitFor();
    const missed = ['while bob was away 1', 'while bob was away 2', 'while bob was away 3'];
    for (const text of missed) await say(a, text);
    await messageRow(a, missed[2]).waitFor();

    const urlsBefore = await b.evaluate(() => window.__ws.urls.length);
    await b.evaluate(() => {
      window.__ws.block = false;
    });
    await b.locator('#status[data-state="open"]').waitFor();
    await b.locator('#log li.notice[data-kind="reconnected"]').last().waitFor();
    for (const text of missed) await messageRow(b, text).waitFor();

    const url = new URL(await b.evaluate(() => window.__ws.urls.at(-1)));
    assert.ok((await b.evaluate(() => window.__ws.urls.length)) > urlsBefore);
    assert.equal(url.pathname, '/ws');
    assert.equal(url.searchParams.get('name'), 'bob');
    assert.match(url.searchParams.get('since') ?? '', /^[1-9]\d*$/, `no ?since= in ${url}`);
    assert.equal(await b.locator('#log li.notice[data-kind="missed"]').count(), 0, 'the page saw a hole in the seqs');
    await b.locator('#me-name', { hasText: /^bob$/ }).waitFor();
  });

  it('reconnects by itself after the gateway restarts, keeps its name, and chats again', async () => {
    const a = people.alice.page;
    const b = people.bob.page;
    const stopped = await gateway.stop();
    assert.deepEqual(stopped, { code: 0, signal: null }, `SIGTERM did not exit 0\n${gateway.output}`);
    for (const page of [a, b]) {
      await page.locator('#status:not([data-state="open"])').waitFor();
      await page.locator('#send[disabled]').waitFor();
    }
    await a.locator('#log li.notice[data-kind="disconnected"]').last().waitFor();

    assert.equal(await gateway.start(port), port);
    for (const [name, page] of [['alice', a], ['bob', b]]) {
      await page.locator('#status[data-state="open"]').waitFor({ timeout: 30000 }); // backoff is up to 10 s
      await page.locator('#me-name', { hasText: new RegExp(`^${name}$`) }).waitFor();
      // The new run's seqs start over: the page says its history ends here.
      await page.locator('#log li.notice[data-kind="reset"]').waitFor();
    }
    await say(a, 'back after the restart');
    await messageRow(b, 'back after the restart').waitFor();
    await say(b, 'welcome back');
    await messageRow(a, 'welcome back').waitFor();
    const url = new URL(await a.evaluate(() => window.__ws.urls.at(-1)));
    assert.equal(url.searchParams.get('name'), 'alice');
    assert.ok(url.searchParams.has('since'), `no ?since= in ${url}`);
  });

  it('keeps the DOM bounded in a long session', async () => {
    const a = people.alice.page;
    const b = people.bob.page;
    const n = kMaxRows + 15;
    for (let i = 1; i <= n; i++) {
      await say(a, `bulk ${i} of ${n}`);
      await messageRow(a, `bulk ${i} of ${n}`).waitFor(); // one at a time: no flood
    }
    await messageRow(b, `bulk ${n} of ${n}`).waitFor();
    for (const page of [a, b]) {
      const rows = await page.locator('#log > li').count();
      assert.ok(rows <= kMaxRows, `${rows} rows in the DOM, bound is ${kMaxRows}`);
      assert.equal(await messageRow(page, `bulk 1 of ${n}`).count(), 0, 'the oldest row was not dropped');
    }
  });

  it('works on a phone-sized screen', async () => {
    const dana = await openPage({ width: 390, height: 760 });
    people.dana = dana;
    const d = dana.page;
    await submitJoin(d, 'dana', 'lobby');
    await d.locator('#me-name', { hasText: /^dana$/ }).waitFor();
    await say(d, 'typing on a phone, with a rather long line that has to wrap nicely on a small screen');
    await messageRow(people.alice.page, 'typing on a phone').waitFor();
    await messageRow(d, 'typing on a phone').waitFor();
    const overflow = await d.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
    for (const sel of ['#input', '#send', '#room-button']) {
      const box = await d.locator(sel).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390 && box.y + box.height <= 760, `${sel} is off screen`);
    }
    // The newest message is in view, above the composer, not hidden behind it.
    await d.waitForFunction(() => {
      const last = document.querySelector('#log > li:last-child').getBoundingClientRect();
      const composer = document.querySelector('#composer').getBoundingClientRect();
      return last.bottom <= composer.top + 1 && last.top >= 0;
    }, null, { timeout: kWaitMs });
    await d.screenshot({ path: path.join(artifacts, 'web-chat-phone.png') });
  });

  it('falls back to tidegate.v1.json when the zstd decoder cannot be loaded', async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    await context.route('**/vendor/fzstd.js', (route) => route.fulfill({ status: 404, body: 'not found' }));
    await context.addInitScript(pageHooks, { maxRows: kMaxRows });
    const page = await context.newPage();
    page.setDefaultTimeout(kWaitMs);
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    people.gus = { context, page, errors };
    await page.goto(base + '/');
    await submitJoin(page, 'gus', 'lobby');
    await page.locator('#me-name', { hasText: /^gus$/ }).waitFor();
    assert.equal(await page.getAttribute('#status', 'data-proto'), 'json');
    await say(people.alice.page, 'can gus read this?');
    await messageRow(page, 'can gus read this?').waitFor();
    await say(page, 'yes, as JSON');
    await messageRow(people.alice.page, 'yes, as JSON').waitFor();
  });

  it('ran without uncaught errors in any page', async () => {
    for (const [name, p] of Object.entries(people)) assert.deepEqual(p.errors, [], `uncaught errors in ${name}'s page`);
  });
});

describe('chat page, when the server no longer holds what a page missed', { timeout: 120000 }, () => {
  let gateway;
  let browser;
  let base;

  before(async () => {
    chromium = await loadChromium();
    gateway = new Gateway(requireEnv('TIDEGATE_BIN'), ['--history-bytes', String(kTinyHistoryBytes), '--rate-limit', '0']);
    base = `http://127.0.0.1:${await gateway.start(0)}`;
    browser = await chromium.launch(kLaunch);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await gateway?.stop();
  });

  it('shows a visible notice for a gap', async () => {
    const pages = [];
    for (const name of ['erin', 'finn']) {
      const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
      await context.addInitScript(pageHooks, { maxRows: 500 });
      const page = await context.newPage();
      page.setDefaultTimeout(kWaitMs);
      await page.goto(base + '/');
      await page.locator('#join-dialog').waitFor({ state: 'visible' });
      await page.fill('#name-input', name);
      await page.fill('#room-input', 'gaps');
      await page.click('#join-submit');
      await page.locator('#me-name', { hasText: new RegExp(`^${name}$`) }).waitFor();
      pages.push(page);
    }
    const [erin, finn] = pages;
    await erin.fill('#input', 'before finn goes away');
    await erin.press('#input', 'Enter');
    await finn.locator('#log li.msg .text', { hasText: 'before finn goes away' }).waitFor();

    await finn.evaluate(() => {
      window.__ws.block = true;
      window.__ws.sockets.at(-1).close();
    });
    await finn.locator('#status[data-state="waiting"]').waitFor();
    // Far more than the log holds, one at a time (no flooding).
    const n = 60;
    const filler = 'x'.repeat(200);
    for (let i = 1; i <= n; i++) {
      await erin.fill('#input', `missed ${i} ${filler}`);
      await erin.press('#input', 'Enter');
      await erin.locator('#log li.msg .text', { hasText: `missed ${i} x` }).waitFor();
    }
    await finn.evaluate(() => {
      window.__ws.block = false;
    });
    await finn.locator('#status[data-state="open"]').waitFor({ timeout: 30000 });
    const gap = finn.locator('#log li.notice.warn[data-kind="gap"]');
    await gap.waitFor();
    assert.match(await gap.textContent(), /could not be delivered/);
    assert.ok(Number(await gap.getAttribute('data-from')) >= 2);
    assert.ok(Number(await gap.getAttribute('data-to')) >= Number(await gap.getAttribute('data-from')));
    // What the log still held arrives after the notice.
    await finn.locator('#log li.msg .text', { hasText: `missed ${n} x` }).waitFor();
    assert.equal(await finn.locator('#log li.notice[data-kind="missed"]').count(), 0,
      'the gap notice did not cover the hole');
  });
});

