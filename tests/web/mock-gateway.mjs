#!/usr/bin/env node
// mock-gateway.mjs -- a stand-in for tidegate, for working on the chat page without the
// real gateway: serves web/public/ and /vendor/fzstd.js, and speaks enough of
// docs/PROTOCOL.md (hello, name, msg, join/leave, ping, since, gap, batches) to use it.
// It is a development tool, not a test: the browser tests always run the real binary.
//
//   node tests/web/mock-gateway.mjs --listen 127.0.0.1:8080 [--history-bytes 65536]
//
// zstd batches are zstd frames of raw (stored) blocks (RFC 8878 3.1.1.2): valid zstd,
// not compressed, which is all a decoder test needs.

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '../../web');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const [host, port] = opt('--listen', '127.0.0.1:8080').split(':');
const historyBytes = Number(opt('--history-bytes', String(1 << 20)));

const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml' };

const rooms = new Map(); // name -> {seq, batchSeq, log: [msg], members: Set<client>}
const names = new Map(); // name -> client
let nextId = 1;
const epoch = Date.now(); // this run: a `since` of another run means nothing here

function room(name) {
  if (!rooms.has(name)) rooms.set(name, { seq: 0, batchSeq: 0, log: [], members: new Set() });
  return rooms.get(name);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let file = null;
  if (url.pathname === '/') file = path.join(webDir, 'public/index.html');
  else if (url.pathname === '/vendor/fzstd.js') file = path.join(webDir, 'node_modules/fzstd', process.env.TG_MOCK_FZSTD ?? 'esm/index.mjs');
  else if (/^\/[\w.-]+$/.test(url.pathname)) file = path.join(webDir, 'public', url.pathname.slice(1));
  if (url.pathname === '/healthz') return res.end('ok');
  if (!file || !fs.existsSync(file)) {
    res.writeHead(404);
    return res.end('not found');
  }
  res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
  res.end(fs.readFileSync(file));
});

server.on('upgrade', (req, socket) => {
  const url = new URL(req.url, 'http://x');
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  const proto = offered.find((p) => p === 'tidegate.v1.zstd' || p === 'tidegate.v1.json');
  const accept = crypto.createHash('sha1')
    .update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n${proto ? `Sec-WebSocket-Protocol: ${proto}\r\n` : ''}\r\n`);
  const c = { id: nextId++, socket, zstd: proto === 'tidegate.v1.zstd', rooms: new Set(), room: null, buf: Buffer.alloc(0) };
  c.name = `guest-${c.id}`;
  socket.setNoDelay(true);
  socket.on('data', (d) => onData(c, d));
  socket.on('close', () => gone(c));
  socket.on('error', () => {});
  const r = url.searchParams.get('room') ?? 'lobby';
  const otherRun = url.searchParams.has('epoch') && Number(url.searchParams.get('epoch')) !== epoch;
  const since = url.searchParams.has('since') && !otherRun ? Number(url.searchParams.get('since')) : null;
  const want = url.searchParams.get('name');
  send(c, { t: 'hello', id: c.id, name: c.name, room: r, seq: since ?? room(r).seq, window_ms: 0, proto: c.zstd ? 'zstd' : 'json', epoch });
  if (want) claim(c, want);
  join(c, r, since);
});

function frame(opcode, payload) {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | opcode, n])
    : n < 65536 ? Buffer.from([0x80 | opcode, 126, n >> 8, n & 255])
      : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  return Buffer.concat([head, payload]);
}

function zstdRaw(data) {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic, FHD, window 128 KiB
  for (let off = 0; off === 0 || off < data.length; off += 65536) {
    const chunk = data.subarray(off, off + 65536);
    const last = off + 65536 >= data.length ? 1 : 0;
    const h = (chunk.length << 3) | last; // Block_Type 0: Raw_Block
    parts.push(Buffer.from([h & 255, (h >> 8) & 255, (h >> 16) & 255]), chunk);
  }
  return Buffer.concat(parts);
}

function send(c, obj) {
  if (!c.socket.destroyed) c.socket.write(frame(1, Buffer.from(JSON.stringify(obj))));
}

function sendBatch(c, b) {
  const json = Buffer.from(JSON.stringify(b));
  if (!c.socket.destroyed) c.socket.write(c.zstd ? frame(2, zstdRaw(json)) : frame(1, json));
}

function publish(rname, msg) {
  const r = room(rname);
  msg.seq = ++r.seq;
  msg.ts = Date.now();
  r.log.push(msg);
  r.bytes = (r.bytes ?? 0) + JSON.stringify(msg).length;
  while (r.bytes > historyBytes && r.log.length > 1) r.bytes -= JSON.stringify(r.log.shift()).length;
  const b = { t: 'batch', room: rname, seq: ++r.batchSeq, online: r.members.size, msgs: [msg] };
  for (const m of r.members) sendBatch(m, b);
}

function join(c, rname, since) {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(rname)) return send(c, { t: 'error', code: 'bad_room', reason: 'bad room name' });
  const r = room(rname);
  if (since !== null && Number.isFinite(since)) {
    const oldest = r.log.length ? r.log[0].seq : r.seq + 1;
    if (since + 1 < oldest) send(c, { t: 'gap', room: rname, from: since + 1, to: oldest - 1 });
    const replay = r.log.filter((m) => m.seq > since);
    if (replay.length) sendBatch(c, { t: 'batch', room: rname, seq: r.batchSeq, online: r.members.size + 1, msgs: replay });
  }
  r.members.add(c);
  c.rooms.add(rname);
  c.room = rname;
  send(c, { t: 'joined', room: rname, seq: since ?? r.seq });
  publish(rname, { t: 'join', from: c.name });
}

function claim(c, name) {
  if (!name || name !== name.trim() || Buffer.byteLength(name) > 32 || /[\u0000-\u001f]/.test(name)) {
    return send(c, { t: 'error', code: 'bad_name', reason: 'names are 1-32 bytes, no control characters' });
  }
  if (names.has(name) && names.get(name) !== c) return send(c, { t: 'error', code: 'name_taken', reason: `the name "${name}" is taken` });
  const old = c.name;
  names.delete(old);
  names.set(name, c);
  c.name = name;
  send(c, { t: 'named', name });
  for (const r of c.rooms) publish(r, { t: 'name', from: name, old });
}

function gone(c) {
  if (c.gone) return;
  c.gone = true;
  if (names.get(c.name) === c) names.delete(c.name);
  for (const r of c.rooms) {
    room(r).members.delete(c);
    publish(r, { t: 'leave', from: c.name });
  }
}

function onText(c, text) {
  let m;
  try { m = JSON.parse(text); } catch { m = null; }
  if (!m || typeof m !== 'object' || Array.isArray(m)) return c.room && publish(c.room, { t: 'msg', from: c.name, text });
  if (m.t === 'ping') return send(c, { t: 'pong', id: m.id, window_ms: 0.0 });
  if (m.t === 'name') return claim(c, String(m.name ?? ''));
  if (m.t === 'join') return join(c, String(m.room ?? ''), m.since ?? null);
  if (m.t === 'leave') {
    const r = String(m.room);
    if (!c.rooms.has(r)) return send(c, { t: 'error', code: 'not_joined', reason: 'not in that room' });
    c.rooms.delete(r);
    room(r).members.delete(c);
    send(c, { t: 'left', room: r });
    return publish(r, { t: 'leave', from: c.name });
  }
  if (m.t === 'msg') {
    const r = m.room ?? c.room;
    if (!c.rooms.has(r)) return send(c, { t: 'error', code: 'not_joined', reason: 'not in that room' });
    const msg = { t: 'msg', from: c.name, text: String(m.text ?? '') };
    if (m.cid !== undefined) msg.cid = m.cid;
    return publish(r, msg);
  }
  send(c, { t: 'error', code: 'bad_request', reason: 'unknown request' });
}

function onData(c, d) {
  c.buf = Buffer.concat([c.buf, d]);
  for (;;) {
    const b = c.buf;
    if (b.length < 2) return;
    let len = b[1] & 127;
    let off = 2;
    if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); off = 4; }
    else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); off = 10; }
    if (b.length < off + 4 + len) return;
    const mask = b.subarray(off, off + 4);
    const payload = Buffer.from(b.subarray(off + 4, off + 4 + len));
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
    c.buf = b.subarray(off + 4 + len);
    const op = b[0] & 15;
    if (op === 1) onText(c, payload.toString('utf8'));
    else if (op === 8) { c.socket.end(frame(8, payload.subarray(0, 2))); gone(c); }
    else if (op === 9) c.socket.write(frame(10, payload));
  }
}

process.on('SIGTERM', () => {
  for (const r of rooms.values()) for (const c of r.members) c.socket.end(frame(8, Buffer.from([0x03, 0xe9])));
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});

server.listen(Number(port), host, () => {
  console.log(`listening ${host}:${server.address().port}`);
});
