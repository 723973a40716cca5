// cluster.test.mjs -- the chat page against a cluster: one real redis-server (no
// persistence, redis.mjs) and two real tidegate gateways sharing it
// (`--redis redis://127.0.0.1:PORT --workers 1`), each page on its own gateway, all on
// loopback ports, in Debian's chromium driven by playwright-core.
//
//   TIDEGATE_BIN=build/tidegate TG_ARTIFACTS=build node --test tests/web/cluster.test.mjs
//
// The steps share Redis, the gateways and the browser, and run in order. No step asserts
// on timing: each waits for a condition with a bounded timeout. Redis, the gateways and
// the browser are stopped in after(), whatever failed.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { kLaunch, loadChromium, requireEnv } from './browser.mjs';
import { Gateway } from './gateway.mjs';
import { RedisServer } from './redis.mjs';

const kWaitMs = 15000; // the bound of every wait for a condition
const kRecoverMs = 30000; // gateways reconnect to Redis with a backoff of up to 5 s
const kMaxRows = 200;

// Loaded in before(): browser.mjs says what is missing.
let chromium;

// As in chat.test.mjs: a small DOM bound, and a WebSocket wrapper that records the URLs
// the page connects to and can hold new connections back (__ws.block). Here it also
// records the room and epoch of every `hello` and `joined` the page receives
// (__ws.epochs: [{t, room, seq, epoch}], the epoch as a string, as the page keeps it).
function pageHooks({ maxRows }) {
  window.tidegateConfig = { maxRows };
  const Native = window.WebSocket;
  const ws = { urls: [], sockets: [], epochs: [], block: false };
  window.__ws = ws;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      ws.urls.push(String(url));
      super(ws.block ? String(url).replace(/\/\/[^/]+/, '//127.0.0.1:1') : url, protocols);
      ws.sockets.push(this);
      this.addEventListener('message', (ev) => {
        if (typeof ev.data !== 'string') return; // zstd batches; notices are text frames
        try {
          const m = JSON.parse(ev.data);
          if (m.t === 'hello' || m.t === 'joined') ws.epochs.push({ t: m.t, room: m.room, seq: m.seq, epoch: String(m.epoch) });
        } catch {
          /* not JSON: not ours to check */
        }
      });
    }
  };
}

// GET base/readyz until it answers `status`, at most timeoutMs.
async function waitReady(base, status = 200, timeoutMs = kRecoverMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(base + '/readyz', { signal: AbortSignal.timeout(2000) });
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.status === status) return;
    } catch (err) {
      last = String(err?.message ?? err);
    }
    if (Date.now() > deadline) throw new Error(`${base}/readyz did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('chat page on a two-gateway cluster', { timeout: 240000 }, () => {
  let bin;
  let redis;
  const gateways = []; // [{gateway, base}]
  let browser;
  const people = {}; // name -> {context, page, errors}

  before(async () => {
    chromium = await loadChromium();
    bin = requireEnv('TIDEGATE_BIN');
    requireEnv('TG_ARTIFACTS');
    assert.ok(fs.existsSync(kLaunch.executablePath), `${kLaunch.executablePath} is missing: run scripts/setup.sh`);
    redis = new RedisServer();
    await redis.start();
    for (let i = 0; i < 2; i++) {
      const gateway = new Gateway(bin, ['--redis', redis.url, '--workers', '1']);
      const entry = { gateway, base: null };
      gateways.push(entry); // before start(): after() stops it even if start() failed
      entry.base = `http://127.0.0.1:${await gateway.start(0)}`;
    }
    for (const { base } of gateways) await waitReady(base);
    browser = await chromium.launch(kLaunch);
  }, { timeout: 120000 });

  after(async () => {
    await browser?.close().catch(() => {});
    for (const { gateway } of gateways) {
      const stopped = await gateway.stop().catch((err) => ({ err: String(err) }));
      if (stopped && stopped.code !== 0) console.error(`gateway exit: ${JSON.stringify(stopped)}\n${gateway.output}`);
    }
    await redis?.close();
  }, { timeout: 60000 });

  async function openPage(base) {
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 }, colorScheme: 'light', locale: 'en-GB' });
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

  // Opens a page on gateway `node`, joins `room` as `name`, waits until the server
  // confirmed the name and the socket is open.
  async function join(name, node, room) {
    const p = await openPage(gateways[node].base);
    const { page } = p;
    await page.locator('#join-dialog').waitFor({ state: 'visible' });
    await page.fill('#name-input', name);
    await page.fill('#room-input', room);
    await page.click('#join-submit');
    await page.locator('#me-name').filter({ hasText: new RegExp(`^${name}$`) }).waitFor();
    await page.locator('#join-dialog').waitFor({ state: 'hidden' });
    await page.locator('#status[data-state="open"]').waitFor();
    people[name] = p;
    return p;
  }

  async function say(page, text) {
    await page.locator('#send:not([disabled])').waitFor();
    await page.fill('#input', text);
    await page.press('#input', 'Enter');
  }

  function messageRow(page, text) {
    return page.locator('#log li.msg').filter({ has: page.locator('.text', { hasText: text }) });
  }

  // The chat messages a page shows, oldest first: [{seq, from, text}].
  function shownMessages(page) {
    return page.locator('#log li.msg').evaluateAll((lis) => lis.map((li) => ({
      seq: Number(li.dataset.seq),
      from: li.dataset.from,
      text: li.querySelector('.text')?.textContent ?? '',
    })));
  }

  it('carries messages between pages on different gateways, each once, in one order', async () => {
    const a = (await join('ada', 0, 'cluster')).page;
    const b = (await join('ben', 1, 'cluster')).page;
    // ben's arrival on the other gateway reaches ada through Redis.
    await a.locator('#log li.event.join .event-text', { hasText: /^ben joined$/ }).waitFor();
    await a.locator('#online-count', { hasText: /^2$/ }).waitFor();
    await b.locator('#online-count', { hasText: /^2$/ }).waitFor();

    await say(a, 'hello from ada on gateway 1');
    await messageRow(b, 'hello from ada on gateway 1').waitFor();
    await say(b, 'hello from ben on gateway 2');
    await messageRow(a, 'hello from ben on gateway 2').waitFor();

    // Both pages type at once: the two gateways append to the room's log concurrently,
    // and every page must still get one order.
    const n = 5;
    const sent = [];
    for (let i = 1; i <= n; i++) {
      sent.push(`ada says ${i}`, `ben says ${i}`);
      await Promise.all([say(a, `ada says ${i}`), say(b, `ben says ${i}`)]);
    }
    for (const page of [a, b]) {
      for (const text of sent) await messageRow(page, text).waitFor();
    }
    const shownA = await shownMessages(a);
    const shownB = await shownMessages(b);
    const ours = (m) => /^(hello from|ada says|ben says) /.test(m.text);
    assert.deepEqual(shownA.filter(ours), shownB.filter(ours), 'the pages show different messages, seqs or orders');
    const texts = shownA.filter(ours).map((m) => m.text);
    assert.equal(texts.length, n * 2 + 2, `a message is missing or shown twice: ${JSON.stringify(texts)}`);
    assert.equal(new Set(texts).size, texts.length, `a message is shown twice: ${JSON.stringify(texts)}`);
    for (const who of ['ada', 'ben']) {
      const own = texts.filter((t) => t.startsWith(`${who} says `));
      assert.deepEqual(own, Array.from({ length: n }, (_, i) => `${who} says ${i + 1}`), `${who}'s messages out of order`);
    }
    // One room, one log: the seqs rise from row to row (joins between them take seqs too).
    const seqs = shownA.map((m) => m.seq);
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `seqs not rising: ${seqs}`);
    assert.equal(await messageRow(a, 'ada says 1').and(a.locator('.own')).count(), 1);
    assert.equal(await messageRow(b, 'ada says 1').and(b.locator('.own')).count(), 0);
    for (const page of [a, b]) {
      assert.equal(await page.locator('#log li.notice[data-kind="missed"]').count(), 0, 'a page saw a hole in the seqs');
    }
  });

  it('refuses a message while Redis is down, with a notice, and sends it never', async () => {
    const a = people.ada.page;
    const b = people.ben.page;
    await redis.kill();
    for (const { base } of gateways) await waitReady(base, 503, kWaitMs);
    // The pages keep their sockets: only new connections are refused.
    for (const page of [a, b]) await page.locator('#status[data-state="open"]').waitFor();
    await say(a, 'typed while redis is down');
    const refused = a.locator('#log li.notice[data-kind="error"]', { hasText: /unreachable/ });
    await refused.waitFor();
    assert.match(await refused.textContent(), /message not sent/);
    assert.equal(await messageRow(a, 'typed while redis is down').count(), 0);
  });

  it('shows a reset when Redis comes back empty, and keeps showing new messages', async () => {
    const a = people.ada.page;
    const b = people.ben.page;
    const before = {};
    for (const [name, page] of [['ada', a], ['ben', b]]) {
      before[name] = {
        urls: await page.evaluate(() => window.__ws.urls.length),
        lastSeq: Math.max(...(await shownMessages(page)).map((m) => m.seq)),
      };
    }
    // A new redis-server on the same port, without the old one's data: every room's log
    // is gone, and the gateways give the room a new epoch when they reconnect.
    assert.equal(await redis.start(redis.port), redis.port);
    for (const { base } of gateways) await waitReady(base, 200);

    for (const page of [a, b]) {
      const reset = page.locator('#log li.notice[data-kind="reset"]');
      await reset.waitFor({ timeout: kRecoverMs });
      assert.match(await reset.textContent(), /lost this room's history/);
    }
    await say(a, 'ada after the reset');
    await say(b, 'ben after the reset');
    for (const page of [a, b]) {
      await messageRow(page, 'ada after the reset').waitFor();
      await messageRow(page, 'ben after the reset').waitFor();
    }
    const after = (m) => / after the reset$/.test(m.text);
    const shownA = (await shownMessages(a)).filter(after);
    const shownB = (await shownMessages(b)).filter(after);
    assert.deepEqual(shownA, shownB, 'the pages show different messages, seqs or orders after the reset');
    // The new epoch counts from 1 again: these seqs are below what the pages had shown,
    // and without the reset the page would have dropped them as old.
    for (const m of shownA) assert.ok(m.seq <= before.ada.lastSeq, `seq ${m.seq} is not from a new count (had ${before.ada.lastSeq})`);

    // The sockets stayed open all along: the reset came as an unasked `joined`, not a
    // reconnect; the message refused while Redis was down never appeared.
    for (const [name, page] of [['ada', a], ['ben', b]]) {
      assert.equal(await page.evaluate(() => window.__ws.urls.length), before[name].urls, `${name}'s page reconnected`);
      assert.equal(await page.locator('#log li.notice[data-kind="disconnected"]').count(), 0);
      assert.equal(await messageRow(page, 'typed while redis is down').count(), 0);
      assert.equal(await page.locator('#log li.notice[data-kind="missed"]').count(), 0, `${name}'s page saw a hole in the seqs`);
    }
  });

  // onJoined() must keep the `epoch` of an asked `joined`: in cluster mode every room has
  // an epoch of its own, so a page that kept the epoch of the room it was in before would
  // resume the new room with ?since=N&epoch=<the other room's>: the gateway ignores that
  // `since` (another epoch), starts live, and the page would show "The server was
  // restarted" and never show what was said while it was away. (A single gateway has one
  // epoch for all rooms.)
  it('resumes in a room joined after connecting, and loses nothing', async () => {
    // In cluster mode each room has its own epoch: a resume must send the epoch of the
    // room it resumes in, not the one of the room the page was in before.
    const a = people.ada.page;
    const b = people.ben.page;
    for (const page of [a, b]) {
      await page.click('#room-button');
      await page.locator('#join-dialog').waitFor({ state: 'visible' });
      await page.fill('#room-input', 'cluster-side');
      await page.click('#join-submit');
      await page.locator('#room-name', { hasText: /^cluster-side$/ }).waitFor();
      await page.locator('#join-dialog').waitFor({ state: 'hidden' });
    }
    await say(b, 'ben in the side room');
    await messageRow(a, 'ben in the side room').waitFor();
    const epochs = await a.evaluate(() => window.__ws.epochs);
    const sideEpoch = epochs.findLast((e) => e.room === 'cluster-side')?.epoch;
    const firstEpoch = epochs.findLast((e) => e.room === 'cluster')?.epoch;
    assert.ok(sideEpoch && firstEpoch, `no joined for the rooms: ${JSON.stringify(epochs)}`);
    assert.notEqual(sideEpoch, firstEpoch, 'two rooms of the cluster have the same epoch');

    await a.evaluate(() => {
      window.__ws.block = true;
      window.__ws.sockets.at(-1).close();
    });
    await a.locator('#status[data-state="waiting"]').waitFor();
    const missed = ['while ada was away 1', 'while ada was away 2', 'while ada was away 3'];
    for (const text of missed) await say(b, text);
    await messageRow(b, missed[2]).waitFor();
    await a.evaluate(() => {
      window.__ws.block = false;
    });
    await a.locator('#status[data-state="open"]').waitFor({ timeout: kRecoverMs }); // backoff is up to 10 s
    await a.locator('#log li.notice[data-kind="reconnected"]').waitFor();
    const url = new URL(await a.evaluate(() => window.__ws.urls.at(-1)));
    assert.equal(url.searchParams.get('room'), 'cluster-side');
    assert.match(url.searchParams.get('since') ?? '', /^[1-9]\d*$/, `no ?since= in ${url}`);
    assert.equal(url.searchParams.get('epoch'), sideEpoch,
      `the page resumed cluster-side with ${url.searchParams.get('epoch') === firstEpoch ? 'the epoch of the room it was in before (cluster)' : 'an epoch not its own'}`);
    for (const text of missed) await messageRow(a, text).waitFor();
    assert.equal(await a.locator('#log li.notice[data-kind="reset"]').count(), 0,
      'the page took the resume for a reset of the room');
    assert.equal(await a.locator('#log li.notice[data-kind="missed"]').count(), 0, 'the page saw a hole in the seqs');
  });

  it('ran without uncaught errors in any page', async () => {
    for (const [name, p] of Object.entries(people)) assert.deepEqual(p.errors, [], `uncaught errors in ${name}'s page`);
  });
});
