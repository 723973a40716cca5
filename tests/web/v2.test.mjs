// v2.test.mjs -- the chat page on tidegate.v2.zstd against the real gateway, in Debian's
// chromium (playwright-core): the page's per-room streaming decoders fed by the gateway's
// room streams, with keyframes every 1 KiB of output (--zstd-keyframe-bytes 1024) so
// that the page resets its decoders many times. An outside tidegate.v1.json client
// (v1_client.py, python3-websockets) talks in the same rooms; what it received is the
// order every page must show.
//
//   TIDEGATE_BIN=build/tidegate node --test tests/web/v2.test.mjs
//
// The steps share one gateway, one browser, one page and the outside client, and run in
// order. No step asserts on timing: each waits for a condition with a bounded timeout.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { kLaunch, loadChromium, requireEnv } from './browser.mjs';
import { Gateway } from './gateway.mjs';
import { OutsideClient } from './outside_client.mjs';

const kWaitMs = 15000; // the bound of every wait for a condition
const kKeyframeBytes = 1024; // --zstd-keyframe-bytes of the gateway
const kV2 = 'tidegate.v2.zstd';
const kRoom = 'tide';
const kSide = 'side'; // a second room on the page's socket, never shown
const kOther = 'other'; // the room the page switches to and back from

// Every page gets these before its own scripts run. The page's WebSocket records the
// URLs and sub-protocols offered, the one picked, every binary frame's v2 header (flags,
// room, zstd bytes) and every text notice; new connections are held back (sent to a
// closed loopback port) while __ws.block is set. The page's own Codec.decode is wrapped
// (same module instance as app.js's) to record what each frame decoded to, so the test
// sees the batches of rooms the page does not show.
function pageHooks() {
  window.tidegateConfig = { maxRows: 1000 };
  const Native = window.WebSocket;
  const ws = { urls: [], offered: [], picked: [], sockets: [], frames: [], notices: [], decoded: [], block: false };
  window.__ws = ws;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      ws.urls.push(String(url));
      ws.offered.push([].concat(protocols ?? []));
      super(ws.block ? String(url).replace(/\/\/[^/]+/, '//127.0.0.1:1') : url, protocols);
      const socket = ws.sockets.length;
      ws.sockets.push(this);
      this.addEventListener('open', () => ws.picked.push(this.protocol));
      this.addEventListener('message', (ev) => {
        if (typeof ev.data === 'string') {
          ws.notices.push({ socket, ...JSON.parse(ev.data) });
          return;
        }
        const b = new Uint8Array(ev.data);
        const room = new TextDecoder().decode(b.subarray(2, 2 + b[1]));
        ws.frames.push({ socket, flags: b[0], room, zstd: b.length - 2 - b[1] });
      });
    }
  };
  if (!location.protocol.startsWith('http')) return; // about:blank: no page to wrap
  ws.patched = import('/codec.js').then(({ Codec }) => {
    const decode = Codec.prototype.decode;
    Codec.prototype.decode = function (data) {
      const obj = decode.call(this, data);
      if (obj.t === 'batch') {
        const msgs = obj.msgs.map((m) => ({ seq: m.seq, t: m.t, text: m.text }));
        ws.decoded.push({ socket: ws.sockets.length - 1, room: obj.room, msgs });
      }
      return obj;
    };
    return ws.frames.length; // frames that arrived before the wrap (none, for a fair record)
  });
}

// Message texts that zstd cannot shrink much (a fixed pseudo-random filler), so that a
// few batches fill a keyframe's 1 KiB.
let fillerState = 12345;
function text(tag) {
  const abc = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let s = '';
  for (let i = 0; i < 120; i++) {
    fillerState = (Math.imul(fillerState, 1103515245) + 12345) >>> 0;
    s += abc[fillerState >>> 26];
  }
  return `${tag} ${s}`;
}

describe('chat page on tidegate.v2.zstd', { timeout: 240000 }, () => {
  let gateway;
  let base;
  let browser;
  let outside;
  let page;
  const consoleProblems = []; // console errors and the page's own warnings
  const pageErrors = [];

  before(async () => {
    const chromium = await loadChromium();
    assert.ok(fs.existsSync(kLaunch.executablePath), `${kLaunch.executablePath} is missing: run scripts/setup.sh`);
    // Keyframes by size only (the time limit an hour away), so where they fall is the
    // same on every run.
    gateway = new Gateway(requireEnv('TIDEGATE_BIN'), ['--zstd-keyframe-bytes', String(kKeyframeBytes),
      '--zstd-keyframe-ms', '3600000', '--rate-limit', '0']);
    const port = await gateway.start(0);
    base = `http://127.0.0.1:${port}`;
    outside = await OutsideClient.start(`ws://127.0.0.1:${port}/ws?room=${kRoom}&name=skipper`);
    browser = await chromium.launch(kLaunch);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await outside?.stop();
    const stopped = await gateway?.stop();
    if (stopped && stopped.code !== 0) console.error(`gateway exit: ${JSON.stringify(stopped)}\n${gateway.output}`);
  });

  async function openPage() {
    const context = await browser.newContext({ viewport: { width: 1000, height: 720 }, locale: 'en-GB' });
    await context.addInitScript(pageHooks);
    const p = await context.newPage();
    p.setDefaultTimeout(kWaitMs);
    p.on('pageerror', (err) => pageErrors.push(String(err?.stack ?? err)));
    p.on('console', (msg) => {
      const line = msg.text();
      // The test's own doing: a held-back reconnect goes to a closed port.
      if (msg.type() === 'error' && line.includes('127.0.0.1:1/')) return;
      if (msg.type() === 'error' || (msg.type() === 'warning' && line.startsWith('tidegate:'))) {
        consoleProblems.push(`${msg.type()}: ${line}`);
      }
    });
    await p.goto(base + '/');
    return p;
  }

  async function say(p, t) {
    await p.locator('#send:not([disabled])').waitFor();
    await p.fill('#input', t);
    await p.press('#input', 'Enter');
    await p.locator('#log li.msg .text', { hasText: t }).waitFor();
  }

  async function switchRoom(p, room) {
    await p.click('#room-button');
    await p.locator('#join-dialog').waitFor({ state: 'visible' });
    await p.fill('#room-input', room);
    await p.click('#join-submit');
    await p.locator('#room-name', { hasText: new RegExp(`^${room}$`) }).waitFor();
    await p.locator('#join-dialog').waitFor({ state: 'hidden' });
  }

  // The chat messages the page shows, in order: [{seq, text}].
  async function shown(p) {
    return await p.locator('#log li.msg').evaluateAll((lis) => lis.map((li) => ({
      seq: Number(li.dataset.seq), text: li.querySelector('.text').textContent,
    })));
  }

  // The room's chat messages as the outside client received them: what the page must show.
  async function expected(room, fromSeq = 0) {
    return (await outside.log(room)).filter((m) => m.t === 'msg' && m.seq > fromSeq).map((m) => ({ seq: m.seq, text: m.text }));
  }

  // Waits until the page shows the room's last message, then checks that it shows every
  // message of the room in the outside client's order, each once, and rows of no other
  // room, with no hole, reset or duplicate noticed.
  async function assertShowsRoom(p, room, fromSeq = 0) {
    const want = await expected(room, fromSeq);
    await p.locator('#log li.msg').filter({ has: p.locator('.text', { hasText: want.at(-1).text }) }).waitFor();
    assert.deepEqual(await shown(p), want, `the page's ${room} differs from the outside client's`);
    const seqs = await p.locator('#log li[data-seq]').evaluateAll((lis) => lis.map((li) => Number(li.dataset.seq)));
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `rows out of order or twice: ${seqs}`);
    for (const kind of ['missed', 'reset', 'gap']) {
      assert.equal(await p.locator(`#log li.notice[data-kind="${kind}"]`).count(), 0, `a "${kind}" notice appeared`);
    }
  }

  // Keyframes of `room` the page was sent after the first one on the same socket: where
  // its decoder had to start over mid-stream.
  async function midStreamKeyframes(p, room) {
    return await p.evaluate((r) => {
      const seen = new Set();
      let n = 0;
      for (const f of window.__ws.frames) {
        if (f.room !== r || !(f.flags & 1)) continue;
        if (seen.has(f.socket)) n++;
        seen.add(f.socket);
      }
      return n;
    }, room);
  }

  // The zstd bytes of `room` since its latest keyframe on the page's current socket (the
  // gateway starts a keyframe once a frame holds --zstd-keyframe-bytes).
  async function bytesSinceKeyframe(p, room) {
    return await p.evaluate((r) => {
      const socket = window.__ws.sockets.length - 1;
      let bytes = 0;
      for (const f of window.__ws.frames) {
        if (f.socket !== socket || f.room !== r) continue;
        bytes = f.flags & 1 ? f.zstd : bytes + f.zstd;
      }
      return bytes;
    }, room);
  }

  // The page offered v2 first on every socket (a decode failure would have stepped it
  // down to v1 for the rest of its life) and the gateway picked it.
  async function assertNoStepDown(p) {
    assert.equal(await p.getAttribute('#status', 'data-proto'), 'v2.zstd');
    const { offered, picked } = await p.evaluate(() => ({ offered: window.__ws.offered, picked: window.__ws.picked }));
    for (const list of offered) assert.equal(list[0], kV2, `the page offered ${list} (a step down)`);
    for (const proto of picked) assert.equal(proto, kV2);
  }

  it('negotiates v2 and shows the page\'s and an outside client\'s messages in order, once', async () => {
    page = await openPage();
    assert.equal(await page.evaluate(() => window.__ws.patched), 0, 'Codec.decode was wrapped too late');
    await page.locator('#join-dialog').waitFor({ state: 'visible' });
    await page.fill('#name-input', 'wren');
    await page.fill('#room-input', kRoom);
    await page.click('#join-submit');
    await page.locator('#me-name', { hasText: /^wren$/ }).waitFor();
    await page.locator('#status[data-state="open"]').waitFor();
    assert.equal(await page.getAttribute('#status', 'data-proto'), 'v2.zstd');
    assert.deepEqual(await page.evaluate(() => window.__ws.picked), [kV2]);

    for (let i = 1; i <= 10; i++) {
      await say(page, text(`wren ${i}`));
      await outside.say(kRoom, text(`skipper ${i}`));
    }
    await assertShowsRoom(page, kRoom);
    await assertNoStepDown(page);
    assert.ok(await midStreamKeyframes(page, kRoom) >= 2, 'fewer keyframes than the test needs');
  });

  it('keeps two rooms apart on one socket, and switches rooms and back', async () => {
    await outside.join(kSide);
    // The page's socket joins a second room (the page itself keeps showing the first):
    // both rooms' streams then interleave on one socket.
    await page.evaluate((room) => window.__ws.sockets.at(-1).send(JSON.stringify({ t: 'join', room })), kSide);
    await page.waitForFunction((room) => window.__ws.notices.some((n) => n.t === 'joined' && n.room === room), kSide);
    const joinedSide = await page.evaluate((room) => window.__ws.notices.find((n) => n.t === 'joined' && n.room === room).seq, kSide);
    const sideTexts = [];
    for (let i = 1; i <= 10; i++) {
      sideTexts.push(text(`side ${i}`));
      await outside.say(kSide, sideTexts.at(-1));
      await outside.say(kRoom, text(`skipper again ${i}`));
      if (i % 3 === 0) await say(page, text(`wren again ${i}`));
    }
    await page.waitForFunction(([room, t]) => window.__ws.decoded.some((d) => d.room === room && d.msgs.some((m) => m.text === t)),
      [kSide, sideTexts.at(-1)]);
    await assertShowsRoom(page, kRoom);
    // What the page decoded of the side room: every message since its join, in order,
    // once (what its keyframe start repeats is at or below `joined`'s seq).
    const side = await page.evaluate(([room, after]) => window.__ws.decoded.filter((d) => d.room === room)
      .flatMap((d) => d.msgs).filter((m) => m.t === 'msg' && m.seq > after).map((m) => m.text), [kSide, joinedSide]);
    assert.deepEqual(side, sideTexts);
    const order = await page.evaluate(() => window.__ws.frames.map((f) => f.room).join(' '));
    assert.match(order, new RegExp(`${kRoom} ${kSide} ${kRoom} ${kSide}`), 'the two rooms did not interleave');
    assert.ok(await midStreamKeyframes(page, kSide) >= 1, 'the side room had no keyframe after its first');
    await assertNoStepDown(page);

    // Through the page's own dialog: to another room, then back.
    await switchRoom(page, kOther);
    await outside.join(kOther);
    await say(page, text('wren in other'));
    await outside.say(kOther, text('skipper in other'));
    await outside.say(kRoom, text('skipper while wren is away'));
    await assertShowsRoom(page, kOther);
    await switchRoom(page, kRoom);
    await outside.say(kRoom, text('skipper after wren is back'));
    await assertShowsRoom(page, kRoom);
    await say(page, text('wren is back'));
    await assertShowsRoom(page, kRoom);
  });

  it('resumes mid-stream after a dropped socket: from a keyframe, nothing twice, nothing missed', async () => {
    // The first batch the page will miss must not be a keyframe, so that the gateway
    // starts the resumed stream at an earlier one and repeats batches the page has.
    for (let i = 0; (await bytesSinceKeyframe(page, kRoom)) >= kKeyframeBytes - 200; i++) {
      assert.ok(i < 20, 'no keyframe came');
      await outside.say(kRoom, `short ${i}`);
      await page.locator('#log li.msg .text', { hasText: new RegExp(`^short ${i}$`) }).waitFor();
    }
    const lastSeq = Math.max(...(await page.locator('#log li[data-seq]').evaluateAll((lis) => lis.map((li) => Number(li.dataset.seq)))));
    const socketsBefore = await page.evaluate(() => window.__ws.sockets.length);
    await page.evaluate(() => {
      window.__ws.block = true;
      window.__ws.sockets.at(-1).close();
    });
    await page.locator('#status[data-state="waiting"]').waitFor();
    for (let i = 1; i <= 6; i++) await outside.say(kRoom, text(`while wren is offline ${i}`));
    await page.evaluate(() => {
      window.__ws.block = false;
    });
    await page.locator('#log li.notice[data-kind="reconnected"]').waitFor({ timeout: 30000 }); // backoff
    await assertShowsRoom(page, kRoom);

    const url = new URL(await page.evaluate(() => window.__ws.urls.at(-1)));
    assert.equal(url.searchParams.get('since'), String(lastSeq), `not resumed from the last seq shown: ${url}`);
    const socket = (await page.evaluate(() => window.__ws.sockets.length)) - 1;
    assert.ok(socket >= socketsBefore);
    const { hello, first, frame } = await page.evaluate(([s, room]) => ({
      hello: window.__ws.notices.find((n) => n.socket === s && n.t === 'hello'),
      first: window.__ws.decoded.find((d) => d.socket === s && d.room === room),
      frame: window.__ws.frames.find((f) => f.socket === s && f.room === room),
    }), [socket, kRoom]);
    assert.equal(hello.seq, lastSeq);
    assert.equal(frame.flags & 1, 1, 'the resumed stream did not start at a keyframe');
    assert.ok(first.msgs[0].seq <= lastSeq, `the gateway repeated nothing (first seq ${first.msgs[0].seq}): the test proves less than it says`);
    await say(page, text('wren after the resume'));
    await assertShowsRoom(page, kRoom);
    await assertNoStepDown(page);
  });

  it('reloads and shows the room\'s log once, then goes on live', async () => {
    // The old socket is gone (its leave seen) before the reload, so that the saved name
    // is free when the reloaded page claims it.
    const before = (await outside.log(kRoom)).length;
    await page.evaluate(() => {
      window.__ws.block = true;
      window.__ws.sockets.at(-1).close();
    });
    for (let i = 0; ; i++) {
      if ((await outside.log(kRoom)).slice(before).some((m) => m.t === 'leave' && m.from === 'wren')) break;
      assert.ok(i < kWaitMs / 100, `the gateway did not see the page leave: ${JSON.stringify((await outside.log(kRoom)).slice(-4))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.reload();
    assert.equal(await page.evaluate(() => window.__ws.patched), 0, 'Codec.decode was wrapped too late');
    await page.locator('#me-name', { hasText: /^wren$/ }).waitFor(); // the saved name, no dialog
    await page.locator('#status[data-state="open"]').waitFor();
    await assertShowsRoom(page, kRoom);
    for (let i = 1; i <= 8; i++) await outside.say(kRoom, text(`after the reload ${i}`));
    await say(page, text('wren after the reload'));
    await assertShowsRoom(page, kRoom);
    assert.ok(await midStreamKeyframes(page, kRoom) >= 2, 'fewer keyframes than the test needs');
  });

  it('never stepped down from v2, and logged no errors', async () => {
    await assertNoStepDown(page);
    assert.deepEqual(pageErrors, [], 'uncaught errors in the page');
    assert.deepEqual(consoleProblems, [], 'console errors or tidegate warnings');
  });
});
