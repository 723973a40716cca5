// codec.js -- turns tidegate server frames into objects: text frames are JSON, binary
// frames (sub-protocol tidegate.v1.zstd) hold exactly one zstd frame of JSON.
//
// Chromium's DecompressionStream has no zstd, so binary frames are decoded by fzstd
// (npm), which the gateway embeds and serves at /vendor/fzstd.js when it was installed
// at build time. Without it the page asks for tidegate.v1.json instead.

const kZstd = 'tidegate.v1.zstd';
const kJson = 'tidegate.v1.json';

export class Codec {
  #decompress = null;
  #text = new TextDecoder('utf-8');

  // Loads the zstd decoder. Resolves to true when binary frames can be decoded; never
  // rejects (a missing or broken decoder just means JSON). Works with fzstd's ES module
  // build (named export) and with its UMD build (which sets self.fzstd).
  async load(url = '/vendor/fzstd.js') {
    try {
      const mod = await import(url);
      const fn = mod?.decompress ?? globalThis.fzstd?.decompress;
      if (typeof fn !== 'function') throw new Error('no decompress() in ' + url);
      this.#decompress = fn;
    } catch (err) {
      console.warn('tidegate: zstd decoder unavailable, using JSON frames:', err?.message ?? err);
      this.#decompress = null;
    }
    return this.hasZstd;
  }

  get hasZstd() {
    return this.#decompress !== null;
  }

  // After a decode failure the page stops asking for zstd for the rest of its life.
  disableZstd() {
    this.#decompress = null;
  }

  // The Sec-WebSocket-Protocol list to offer, best first.
  protocols() {
    return this.hasZstd ? [kZstd, kJson] : [kJson];
  }

  // Decodes one WebSocket message (string or ArrayBuffer). Throws on anything that is
  // not a JSON object, or on a binary frame when no decoder is loaded.
  decode(data) {
    let text;
    if (typeof data === 'string') {
      text = data;
    } else {
      if (!this.#decompress) throw new Error('binary frame but no zstd decoder');
      text = this.#text.decode(this.#decompress(new Uint8Array(data)));
    }
    const obj = JSON.parse(text);
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new Error('frame is not a JSON object');
    }
    return obj;
  }
}
