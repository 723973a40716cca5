// room_stream.hpp -- RoomStream: one room's zstd compression stream for the
// `tidegate.v2.zstd` sub-protocol. Each batch's JSON is compressed once and flushed
// (ZSTD_e_flush), so later batches reference earlier ones; the bytes are shared by every
// v2 member of the room. A keyframe (a new zstd frame) starts every `keyframe_bytes` of
// output or `keyframe_ms`, whichever comes first: a client may only start decoding at one.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::batcher {

// The v2 batch payload: a flag byte, the room name's length (one byte) and the name, then
// the zstd stream bytes. The name is in the clear because a client in several rooms keeps
// one decoder per room and must pick it before decoding; it is the same for every member,
// so the frame stays one shared buffer.
constexpr uint8_t kV2Keyframe = 0x01;  // flag bit 0: a new zstd frame starts in these bytes

// The window of the room streams: 2^16 = 64 KiB. A chat batch is a few hundred bytes, so
// 64 KiB of history covers hundreds of batches (where the gain of a shared stream comes
// from), while a decoder needs only about 64 KiB + 128 KiB of buffers per client per room
// (ZSTD_estimateDStreamSize(1 << 16) is about 200 KiB) and an encoder about 490 KiB per
// room. Keyframes every 64 KiB of output keep the window's history within one frame.
constexpr int kRoomStreamWindowLog = 16;

// The match table (hashLog; chainLog too, which level 1's strategy does not allocate):
// 2^13 entries. Measured on 1000 single-message chat batches (docs/ARCHITECTURE.md,
// RoomStream.MemoryAndRatioByTableLog): 15 -> 13 saves 96 KiB per context (599,233 ->
// 500,929 bytes) for 2 % more output; 12 would cost 5 %. Most of the rest is the
// streaming buffers and the block's sequence store, set by the 64 KiB window.
constexpr int kRoomStreamTableLog = 13;

struct RoomStreamOptions {
  int level = 1;
  size_t keyframe_bytes = 64 * 1024;    // output after which the next batch starts a frame
  uint64_t keyframe_ms = 10'000;        // age of a frame after which the next batch starts one
  int table_log = kRoomStreamTableLog;  // hashLog and chainLog
};

class RoomStream {
 public:
  explicit RoomStream(const RoomStreamOptions& options);
  ~RoomStream();
  RoomStream(const RoomStream&) = delete;
  RoomStream& operator=(const RoomStream&) = delete;

  // Compresses one batch's JSON into `out` (replaced): the v2 payload for `room`
  // (header + zstd bytes). `now_ms` is a monotonic time, deciding keyframes by age.
  // Returns whether the payload is a keyframe.
  bool compress(std::string_view room, std::string_view json, uint64_t now_ms, std::string& out);

  // The next batch starts a new frame (the log no longer holds the current one's start).
  void force_keyframe() { need_keyframe_ = true; }

  // Heap bytes of the compression context (for the docs and tests).
  size_t context_bytes() const { return ZSTD_sizeof_CCtx(cctx_); }

 private:
  RoomStreamOptions opts_;
  ZSTD_CCtx* cctx_;
  bool need_keyframe_ = true;
  size_t frame_bytes_ = 0;  // output of the current frame so far
  uint64_t frame_start_ms_ = 0;
};

// Parses a v2 payload's header: the flags, the room name and the zstd bytes. Returns
// false when the payload is too short for its header.
bool parse_v2_header(std::string_view payload, uint8_t& flags, std::string_view& room,
                     std::string_view& zstd_bytes);

}  // namespace tg::batcher
