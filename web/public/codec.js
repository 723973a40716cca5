// codec.js -- turns tidegate server frames into objects: text frames are JSON; binary
// frames are zstd, either one whole zstd frame per batch (sub-protocol tidegate.v1.zstd)
// or a header (flags, room) and the next piece of the room's zstd stream
// (tidegate.v2.zstd).
//
// Chromium's DecompressionStream has no zstd, so binary frames are decoded by fzstd
// (npm), which the gateway embeds and serves at /vendor/fzstd.js when it was installed
// at build time. Without it the page asks for tidegate.v1.json instead; without fzstd's
// streaming Decompress (older builds) it asks for v1 only.

const kZstd2 = 'tidegate.v2.zstd';
const kZstd = 'tidegate.v1.zstd';
const kJson = 'tidegate.v1.json';

// A v2 binary frame: a flag byte, the room name's length (one byte), the room name, then
// the room stream's zstd bytes. Flag bit 0 (K) says a new zstd frame starts in these
// bytes; the other bits are reserved and must be 0.
const kKeyframe = 0x01;
const kReservedFlags = 0xfe;
const kV2HeaderMin = 2;

// fzstd 0.1.1's Decompress.push() holds back the start of a frame until it has 18 bytes
// (the longest frame header) unless told the stream ends, so a keyframe message shorter
// than that would yield nothing until the next one. Every v2 message ends at a block
// boundary, so such a message is padded with empty raw blocks (3 zero bytes each: not
// last, raw, size 0), which decode to nothing.
const kFrameHeaderMax = 18;
const kEmptyBlock = 3;

// One room's v2 stream: a streaming decoder that lives from a keyframe to the next.
// Exported for tests/web/codec.test.mjs. Its memory is fzstd's window (the frame's
// window size, 64 KiB at the gateway's window log of 16) plus one block's buffer while
// decoding.
export class RoomStream {
  #Decompress;
  #decoder = null;
  #out = [];

  constructor(Decompress) {
    this.#Decompress = Decompress;
  }

  // Feeds one message's zstd bytes and returns exactly what they decode to (the message
  // is flushed at a block boundary by the server, so nothing stays pending).
  feed(bytes, keyframe) {
    if (keyframe) {
      this.#decoder = new this.#Decompress((chunk) => this.#out.push(chunk));
      bytes = padShortFrameStart(bytes);
    } else if (!this.#decoder) {
      throw new Error('v2 frame continues a stream this page has not seen start');
    }
    this.#out = [];
    this.#decoder.push(bytes);
    const out = concat(this.#out);
    this.#out = [];
    if (out.length === 0) throw new Error('v2 frame decoded to nothing');
    return out;
  }
}

function padShortFrameStart(bytes) {
  if (bytes.length >= kFrameHeaderMax) return bytes;
  const blocks = Math.ceil((kFrameHeaderMax - bytes.length) / kEmptyBlock);
  const padded = new Uint8Array(bytes.length + blocks * kEmptyBlock); // zero-filled
  padded.set(bytes);
  return padded;
}

function concat(chunks) {
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const c of chunks) size += c.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export class Codec {
  #decompress = null; // fzstd.decompress: v1, one zstd frame per message
  #Decompress = null; // fzstd.Decompress: v2, streaming
  #v2 = true; // false after a v2 decode failure: v1 from then on
  #protocol = ''; // the current socket's sub-protocol
  #streams = new Map(); // room -> RoomStream, for the current socket
  #text = new TextDecoder('utf-8');

  // Loads the zstd decoder. Resolves to true when binary frames can be decoded; never
  // rejects (a missing or broken decoder just means JSON). Works with fzstd's ES module
  // build (named exports) and with its UMD build (which sets self.fzstd in a browser, and
  // is a CommonJS module, the default export, in node).
  async load(url = '/vendor/fzstd.js') {
    try {
      const mod = await import(url);
      const lib = [mod, mod?.default, globalThis.fzstd].find((m) => typeof m?.decompress === 'function');
      if (typeof lib?.decompress !== 'function') throw new Error('no decompress() in ' + url);
      this.#decompress = lib.decompress;
      this.#Decompress = typeof lib.Decompress === 'function' ? lib.Decompress : null;
    } catch (err) {
      console.warn('tidegate: zstd decoder unavailable, using JSON frames:', err?.message ?? err);
      this.#decompress = null;
      this.#Decompress = null;
    }
    return this.hasZstd;
  }

  get hasZstd() {
    return this.#decompress !== null;
  }

  get hasZstd2() {
    return this.#v2 && this.#Decompress !== null && this.hasZstd;
  }

  // After a decode failure on a binary frame the page steps down one level for the rest
  // of its life: from the v2 room stream to v1, from v1 to JSON.
  disableZstd() {
    if (this.#protocol === kZstd2 && this.hasZstd2) {
      this.#v2 = false;
    } else {
      this.#decompress = null;
      this.#Decompress = null;
    }
  }

  // The Sec-WebSocket-Protocol list to offer, best first. A server without v2 picks v1.
  protocols() {
    const list = [];
    if (this.hasZstd2) list.push(kZstd2);
    if (this.hasZstd) list.push(kZstd);
    list.push(kJson);
    return list;
  }

  // A new socket is open with this sub-protocol: its v2 streams start from nothing.
  begin(protocol) {
    this.#protocol = protocol;
    this.#streams.clear();
  }

  // Decodes one WebSocket message (string or ArrayBuffer). Throws on anything that is
  // not a JSON object, or on a binary frame that cannot be decoded.
  decode(data) {
    let obj;
    if (typeof data === 'string') {
      obj = parseObject(data);
      // A room left is a stream ended: joined again, it starts at a keyframe.
      if (obj.t === 'left' && typeof obj.room === 'string') this.#streams.delete(obj.room);
    } else if (this.#protocol === kZstd2) {
      obj = this.#decodeV2(new Uint8Array(data));
    } else {
      if (!this.#decompress) throw new Error('binary frame but no zstd decoder');
      obj = parseObject(this.#text.decode(this.#decompress(new Uint8Array(data))));
    }
    return obj;
  }

  #decodeV2(bytes) {
    if (!this.#Decompress) throw new Error('v2 frame but no streaming zstd decoder');
    const { flags, room, zstd } = this.#v2Header(bytes);
    if (flags & kReservedFlags) throw new Error('v2 frame with reserved flags ' + flags);
    let stream = this.#streams.get(room);
    if (!stream) {
      stream = new RoomStream(this.#Decompress);
      this.#streams.set(room, stream);
    }
    const obj = parseObject(this.#text.decode(stream.feed(zstd, (flags & kKeyframe) !== 0)));
    // A batch decoded in another room's stream would be garbage or, worse, plausible:
    // the batch names its room, so a header that disagrees is caught here.
    if (obj.room !== room) throw new Error(`v2 batch of ${obj.room} decoded as ${room}'s`);
    return obj;
  }

  // The room lookup: which room's stream a v2 binary frame continues, from its header
  // (the room name is in the clear, before the zstd bytes).
  #v2Header(bytes) {
    if (bytes.length < kV2HeaderMin) throw new Error('v2 frame shorter than its header');
    const end = kV2HeaderMin + bytes[1];
    if (bytes.length < end) throw new Error('v2 frame shorter than its room name');
    const room = this.#text.decode(bytes.subarray(kV2HeaderMin, end));
    return { flags: bytes[0], room, zstd: bytes.subarray(end) };
  }
}

function parseObject(text) {
  const obj = JSON.parse(text);
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Error('frame is not a JSON object');
  }
  return obj;
}
