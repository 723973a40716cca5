#!/usr/bin/python3
"""make_v2_fixtures.py -- writes the frames codec.test.mjs decodes, made by zstd itself
(python3-zstandard, libzstd underneath) the way the gateway's tidegate.v2.zstd encoder
frames them: per room one compression stream, each batch flushed at a block boundary
(COMPRESSOBJ_FLUSH_BLOCK, the ZSTD_e_flush of the C API), a new stream (a new zstd frame)
at a keyframe; each message is a flag byte (bit 0: keyframe), the room name's length (one
byte) and the room name, then the flushed bytes.

Usage: make_v2_fixtures.py OUT.json. OUT holds {"cases": [{"name", "protocol",
"messages": [{"room", "b64", "zstd_at", "text"}], ...}]}: "text" is what decoding "b64"
must give; v2's zstd bytes start at "zstd_at".
"""
import base64
import json
import random
import sys

import zstandard

KEYFRAME = 0x01


def batch_text(room, seq, first_msg_seq, texts, online=3):
    """One batch as the gateway writes it (docs/PROTOCOL.md), compact JSON."""
    msgs = [{"seq": first_msg_seq + i, "t": "msg", "from": "alice" if i % 2 else "bob",
             "text": t, "ts": 1764550000000 + 37 * (first_msg_seq + i), "cid": "c-%d" % i}
            for i, t in enumerate(texts)]
    return json.dumps({"t": "batch", "room": room, "seq": seq, "online": online, "msgs": msgs},
                      separators=(",", ":"), ensure_ascii=False)


class RoomStream:
    """A room's encoder: one compressobj per zstd frame, a new one at each keyframe."""

    def __init__(self, room, level=1, window_log=16):
        self.room = room
        self.params = zstandard.ZstdCompressionParameters.from_level(level, window_log=window_log)
        self.cobj = None

    def encode(self, text, keyframe=False):
        flags = 0
        if keyframe or self.cobj is None:
            # The old frame is simply abandoned (never ended), as the gateway does: a
            # client that starts here only needs what follows.
            self.cobj = zstandard.ZstdCompressor(compression_params=self.params).compressobj()
            flags |= KEYFRAME
        data = self.cobj.compress(text.encode("utf-8"))
        data += self.cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        name = self.room.encode("ascii")
        header = bytes([flags, len(name)]) + name
        return {"room": self.room, "b64": base64.b64encode(header + data).decode(),
                "zstd_at": len(header), "text": text}


def chat_texts(rng, n):
    words = ("the tide is high and the gate is open so every message goes out once to "
             "everyone in the room who listens with a cursor into the shared log").split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(2, 14))) for _ in range(n)]


def two_rooms(rng):
    """Two rooms interleaved, keyframes every 7 batches in one and every 11 in the other,
    batches of 1 to 5 messages, some text outside ASCII."""
    streams = {"lobby": RoomStream("lobby"), "dev.ops": RoomStream("dev.ops")}
    every = {"lobby": 7, "dev.ops": 11}
    seqs = {"lobby": [100, 1000], "dev.ops": [5, 2000]}
    out = []
    for i in range(60):
        room = "lobby" if rng.random() < 0.6 else "dev.ops"
        batch_seq, msg_seq = seqs[room]
        texts = chat_texts(rng, rng.randint(1, 5))
        if i % 13 == 5:
            texts.append("naïve café ☕ über 東京 🌊")
        keyframe = batch_seq % every[room] == 0
        out.append(streams[room].encode(batch_text(room, batch_seq, msg_seq, texts), keyframe))
        seqs[room] = [batch_seq + 1, msg_seq + len(texts)]
    return out


def one_room(rng):
    """One room, one message per batch (the idle case), a keyframe every 20 batches."""
    stream = RoomStream("lobby")
    return [stream.encode(batch_text("lobby", 1 + i, 1 + i, chat_texts(rng, 1)), i % 20 == 0)
            for i in range(50)]


def tiny_keyframe():
    """Keyframes whose zstd bytes are shorter than 18 (a frame header with no content
    size and one small block): a decoder must not wait for more bytes of a message."""
    stream = RoomStream("lobby")
    return [stream.encode('{"a":1}', True), stream.encode('{"a":1}'), stream.encode('{"b":2}', True),
            stream.encode('{"a":1,"b":2}')]


def large_batches(rng):
    """Batches over zstd's 128 KiB block size, and back references across them."""
    stream = RoomStream("lobby")
    out = []
    for i in range(4):
        texts = chat_texts(rng, 1500)
        out.append(stream.encode(batch_text("lobby", 1 + i, 1 + 1500 * i, texts), i == 0))
    return out


def v1_frames(rng):
    """tidegate.v1.zstd: each batch one whole zstd frame."""
    cctx = zstandard.ZstdCompressor(level=3)
    out = []
    for i in range(5):
        text = batch_text("lobby", 1 + i, 1 + i, chat_texts(rng, 3))
        out.append({"room": "lobby", "b64": base64.b64encode(cctx.compress(text.encode())).decode(),
                    "text": text})
    return out


def main():
    rng = random.Random(16)
    cases = [
        {"name": "two rooms interleaved", "protocol": "tidegate.v2.zstd", "messages": two_rooms(rng)},
        {"name": "one message per batch", "protocol": "tidegate.v2.zstd", "messages": one_room(rng)},
        {"name": "keyframes under 18 bytes", "protocol": "tidegate.v2.zstd", "messages": tiny_keyframe()},
        {"name": "batches over one block", "protocol": "tidegate.v2.zstd", "messages": large_batches(rng)},
        {"name": "v1 frames", "protocol": "tidegate.v1.zstd", "messages": v1_frames(rng)},
    ]
    with open(sys.argv[1], "w") as f:
        json.dump({"cases": cases}, f)


if __name__ == "__main__":
    main()
