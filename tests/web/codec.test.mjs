// codec.test.mjs -- the page's frame decoder (web/public/codec.js) in node, without a
// browser: tidegate.v2.zstd room streams and tidegate.v1.zstd frames made by libzstd
// (make_v2_fixtures.py, python3-zstandard) decoded with the fzstd the page embeds, and
// the fallbacks from v2 to v1 to JSON.
//
//   TG_PYTHON=/usr/bin/python3 node --test tests/web/codec.test.mjs

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Codec, RoomStream } from '../../web/public/codec.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fzstdDir = path.join(here, '..', '..', 'web', 'node_modules', 'fzstd');
const kEsm = pathToFileURL(path.join(fzstdDir, 'esm', 'index.mjs')).href;
// What the gateway serves as /vendor/fzstd.js (node loads it as CommonJS).
const kUmd = pathToFileURL(path.join(fzstdDir, 'umd', 'index.js')).href;
const kV2 = 'tidegate.v2.zstd';
const kV1 = 'tidegate.v1.zstd';
const kJson = 'tidegate.v1.json';

let dir;
let cases;

function fixture(name) {
  const c = cases.find((x) => x.name === name);
  assert.ok(c, 'no fixture case ' + name);
  return c.messages.map((m) => ({ ...m, bytes: Buffer.from(m.b64, 'base64') }));
}

// An ArrayBuffer holding exactly these bytes, as a WebSocket message event carries.
function arrayBuffer(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}

async function loadedCodec(url = kEsm) {
  const codec = new Codec();
  assert.equal(await codec.load(url), true, 'fzstd did not load from ' + url);
  return codec;
}

before(() => {
  if (!fs.existsSync(fzstdDir)) {
    throw new Error(`${fzstdDir} is missing: run scripts/setup.sh (npm ci in web/)`);
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidegate-codec-'));
  const out = path.join(dir, 'fixtures.json');
  const python = process.env.TG_PYTHON || '/usr/bin/python3';
  execFileSync(python, [path.join(here, 'make_v2_fixtures.py'), out], { stdio: 'inherit', timeout: 60000 });
  cases = JSON.parse(fs.readFileSync(out, 'utf-8')).cases;
});

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('v2 room streams', () => {
  let Decompress;
  before(async () => {
    ({ Decompress } = await import(kEsm));
  });

  // Every message must decode to exactly its batch when it is fed, not one later.
  for (const name of ['two rooms interleaved', 'one message per batch', 'keyframes under 18 bytes',
    'batches over one block']) {
    it(`${name}: each message yields exactly its text`, () => {
      const streams = new Map();
      const text = new TextDecoder();
      const messages = fixture(name);
      assert.ok(messages.some((m) => m.bytes[0] & 1), 'fixture without keyframes');
      for (const [i, m] of messages.entries()) {
        if (!streams.has(m.room)) streams.set(m.room, new RoomStream(Decompress));
        const out = streams.get(m.room).feed(m.bytes.subarray(m.zstd_at), (m.bytes[0] & 1) !== 0);
        assert.equal(text.decode(out), m.text, `message ${i} of ${m.room}`);
      }
    });
  }

  it('a stream that did not start at a keyframe is refused', () => {
    const [, second] = fixture('one message per batch');
    assert.equal(second.bytes[0] & 1, 0);
    assert.throws(() => new RoomStream(Decompress).feed(second.bytes.subarray(second.zstd_at), false), /not seen start/);
  });

  it('after a keyframe the stream decodes without what came before it', () => {
    const messages = fixture('one message per batch');
    const at = messages.findIndex((m, i) => i > 0 && m.bytes[0] & 1);
    assert.ok(at > 0, 'fixture has a second keyframe');
    const stream = new RoomStream(Decompress);
    for (const m of messages.slice(at)) {
      assert.equal(new TextDecoder().decode(stream.feed(m.bytes.subarray(m.zstd_at), (m.bytes[0] & 1) !== 0)), m.text);
    }
  });
});

describe('Codec', () => {
  for (const [build, url] of [['esm', kEsm], ['umd', kUmd]]) {
    it(`offers v2, then v1, then JSON (fzstd ${build} build)`, async () => {
      const codec = await loadedCodec(url);
      assert.deepEqual(codec.protocols(), [kV2, kV1, kJson]);
    });
  }

  for (const name of ['two rooms interleaved', 'one message per batch', 'batches over one block']) {
    it(`decodes a v2 socket: ${name}`, async () => {
      const codec = await loadedCodec();
      codec.begin(kV2);
      assert.equal(codec.decode('{"t":"hello","room":"lobby","seq":0}').t, 'hello');
      for (const m of fixture(name)) {
        assert.deepEqual(codec.decode(arrayBuffer(m.bytes)), JSON.parse(m.text));
      }
    });
  }

  it('a room left starts again at a keyframe', async () => {
    const codec = await loadedCodec();
    const [first, second] = fixture('one message per batch');
    codec.begin(kV2);
    codec.decode(arrayBuffer(first.bytes));
    codec.decode('{"t":"left","room":"lobby"}');
    assert.throws(() => codec.decode(arrayBuffer(second.bytes)), /not seen start/);
  });

  it('decodes a v1 socket', async () => {
    const codec = await loadedCodec();
    codec.begin(kV1);
    codec.decode('{"t":"hello","room":"lobby","seq":0}');
    for (const m of fixture('v1 frames')) {
      assert.deepEqual(codec.decode(arrayBuffer(m.bytes)), JSON.parse(m.text));
    }
  });

  it('a new socket forgets the streams of the old one', async () => {
    const codec = await loadedCodec();
    const [first, second] = fixture('one message per batch');
    codec.begin(kV2);
    codec.decode('{"t":"hello","room":"lobby"}');
    codec.decode(arrayBuffer(first.bytes));
    codec.begin(kV2);
    codec.decode('{"t":"hello","room":"lobby"}');
    assert.throws(() => codec.decode(arrayBuffer(second.bytes)), /not seen start/);
  });

  it('refuses reserved flag bits, short headers and a batch under another room name', async () => {
    const codec = await loadedCodec();
    const [first] = fixture('one message per batch');
    codec.begin(kV2);
    const reserved = Buffer.from(first.bytes);
    reserved[0] |= 0x02;
    assert.throws(() => codec.decode(arrayBuffer(reserved)), /reserved flags/);
    assert.throws(() => codec.decode(arrayBuffer(Buffer.from([1]))), /shorter than its header/);
    assert.throws(() => codec.decode(arrayBuffer(Buffer.from([1, 9, 0x61]))), /shorter than its room name/);
    // The same bytes with the header naming another room of the same length.
    const renamed = Buffer.from(first.bytes);
    renamed.write('other', 2, 'ascii');
    assert.throws(() => codec.decode(arrayBuffer(renamed)), /lobby decoded as other/);
  });

  it('steps down from v2 to v1 to JSON after decode failures', async () => {
    const codec = await loadedCodec();
    codec.begin(kV2);
    codec.disableZstd();
    assert.deepEqual(codec.protocols(), [kV1, kJson]);
    codec.begin(kV1);
    codec.disableZstd();
    assert.deepEqual(codec.protocols(), [kJson]);
  });

  it('offers v1 when fzstd has no streaming Decompress', async () => {
    const codec = new Codec();
    const oneShotOnly = 'data:text/javascript,export function decompress(d) { return d; }';
    assert.equal(await codec.load(oneShotOnly), true);
    assert.deepEqual(codec.protocols(), [kV1, kJson]);
  });

  it('offers JSON only without a decoder', async () => {
    const codec = new Codec();
    assert.equal(await codec.load('data:text/javascript,export const nothing = 1;'), false);
    assert.deepEqual(codec.protocols(), [kJson]);
  });
});
