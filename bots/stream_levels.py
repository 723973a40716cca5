#!/usr/bin/python3
"""stream_levels -- what one-message chat batches cost as v1 frames and in a v2 room stream.

Builds batches like the swarm's (the gateway's batch JSON envelope, one message each, a
text from a fortune-style corpus, a fresh `cid` with a microsecond send time, a
millisecond `ts`), then compresses them with python3-zstandard two ways at each level:
every batch its own frame (tidegate.v1.zstd) and all of them as one stream with a block
flush per batch (tidegate.v2.zstd between keyframes, window 2^16 like the gateway's).
With --primer it also starts the stream with a primer (envelopes of each message kind)
that a client would feed its decoder itself, to show what a dictionary of the envelope
could save. Prints bytes per batch and v2 against v1 with the wire headers added (v2: 2
bytes and the room name; both: 2 bytes of WebSocket header), and how often zstd coded a
batch's literals with Huffman rather than leaving them raw.

  /usr/bin/python3 bots/stream_levels.py --corpus /usr/share/games/fortunes/fortunes
"""
import argparse
import json
import random

import zstandard

ROOM = "bots-3"


def read_corpus(path, size):
    texts, entry = [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip() == "%":
                text = " ".join(" ".join(entry).split())[:size]
                if text:
                    texts.append(text)
                entry = []
            else:
                entry.append(line)
    return texts


def make_batches(texts, count, seed):
    rng = random.Random(seed)
    ts_ms = 1796098808395
    sent_us = ts_ms * 1000
    out = []
    for i in range(count):
        step_us = rng.randint(5000, 15000)
        ts_ms += step_us // 1000
        sent_us += step_us + rng.randint(0, 999)
        bot = rng.randint(0, 99)
        msg = {"seq": i + 10, "t": "msg", "from": "bot-%d" % bot, "text": texts[(i * 37) % len(texts)],
               "cid": "k3f9a.%d.%d" % (bot, sent_us), "ts": ts_ms}
        batch = {"t": "batch", "room": ROOM, "seq": i + 10, "online": 100, "msgs": [msg]}
        out.append(json.dumps(batch, separators=(",", ":")).encode())
    return out


def primer_bytes():
    kinds = []
    for kind in ("msg", "join", "leave"):
        msg = {"seq": 12345, "t": kind, "from": "bot-17", "text": "", "cid": "k3f9a.17.1796098808395123",
               "ts": 1796098808395}
        kinds.append({"t": "batch", "room": ROOM, "seq": 12345, "online": 100, "msgs": [msg]})
    return b"".join(json.dumps(k, separators=(",", ":")).encode() for k in kinds)


def huffman_share(blocks):
    """Of the compressed blocks in `blocks` (each one batch's flush), how many coded their
    literals with Huffman (literals block type 2 or 3) rather than raw or RLE."""
    coded = total = 0
    for out in blocks:
        pos = 0
        while pos + 3 <= len(out):
            header = int.from_bytes(out[pos:pos + 3], "little")
            kind, size = (header >> 1) & 3, header >> 3
            if kind == 2:
                total += 1
                coded += (out[pos + 3] & 3) >= 2
            pos += 3 + (1 if kind == 1 else size)
    return coded, total


def stream(batches, level, primer):
    params = zstandard.ZstdCompressionParameters.from_level(level, window_log=16)
    obj = zstandard.ZstdCompressor(compression_params=params).compressobj()
    if primer:  # known to both sides: not sent
        obj.compress(primer)
        obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    return [obj.compress(b) + obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK) for b in batches]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True, help="fortune-style file (entries separated by %% lines)")
    ap.add_argument("--size", type=int, default=200, help="texts cut to this many characters")
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--levels", default="1,3,6,19")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--primer", action="store_true", help="also a stream primed with envelopes")
    args = ap.parse_args()
    batches = make_batches(read_corpus(args.corpus, args.size), args.batches, args.seed)
    json_bytes = sum(map(len, batches)) / len(batches)
    print("batches: %d, JSON %.1f bytes each" % (len(batches), json_bytes))
    print("| level | stream | v1 B/batch | v2 B/batch | later batches | (v2 + %d) / (v1 + 2) | Huffman literals |"
          % (4 + len(ROOM)))
    print("|---|---|---|---|---|---|---|")
    variants = [("plain", b"")] + ([("primed", primer_bytes())] if args.primer else [])
    for level in [int(x) for x in args.levels.split(",")]:
        v1 = sum(len(zstandard.ZstdCompressor(level=level).compress(b)) for b in batches) / len(batches)
        for name, primer in variants:
            sizes = [len(x) for x in stream(batches, level, primer)]
            v2 = sum(sizes) / len(sizes)
            later = sum(sizes[1:]) / (len(sizes) - 1)
            coded, total = huffman_share(stream(batches, level, primer)[1:])
            print("| %d | %s | %.1f | %.1f | %.1f | %.2f | %d of %d |"
                  % (level, name, v1, v2, later, (v2 + 4 + len(ROOM)) / (v1 + 2), coded, total))


if __name__ == "__main__":
    main()
