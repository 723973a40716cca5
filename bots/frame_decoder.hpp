// frame_decoder.hpp -- decodes server messages: zstd batches, json batches and notices.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "bots/decoded_batch.hpp"
#include "bots/notice.hpp"

namespace tg::bots {

// Decompresses with one reused ZSTD_DCtx and parses with rapidjson. One per loop:
// not thread-safe. Only cache misses come here, so it may allocate.
class FrameDecoder {
 public:
  enum class Kind { kBatch, kNotice, kInvalid };
  static constexpr size_t kMaxDecodedBytes = 64u << 20;

  // `run` is the swarm run id whose cids count as own messages (see Cid).
  explicit FrameDecoder(std::string run);
  ~FrameDecoder();
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Decodes one WebSocket message. A binary message must be exactly one zstd frame
  // holding a batch; a text message is a JSON batch or notice. Fills `batch` (returns
  // `batch`) or `notice` (returns `notice`); returns `invalid` with error() set for
  // anything else: bad zstd, bad JSON, missing fields, a binary non-batch.
  Kind decode(bool binary, std::span<const uint8_t> data, DecodedBatch& batch, Notice& notice);

  std::string_view error() const { return error_; }

  // tidegate.v2.zstd: binary messages are room-stream frames (flag byte, room name,
  // zstd stream bytes; docs/PROTOCOL.md). The loop keeps one stream decoder per room:
  // the bots of a loop receive the same frames, and only the first copy of each (a
  // BatchCache miss) comes here, so first copies arrive in the room's stream order.
  void set_v2(bool v2) { v2_ = v2; }

 private:
  bool decompress(std::span<const uint8_t> data);
  bool decompress_stream(std::span<const uint8_t> data);
  bool decompress_v2(std::span<const uint8_t> data);
  bool fail(const char* why);
  Kind parse(bool binary, DecodedBatch& batch, Notice& notice);
  Kind invalid(const char* why);

  std::string run_;
  ZSTD_DCtx* dctx_;
  std::string text_;  // decompressed or copied JSON, parsed in place
  std::string error_;
  bool v2_ = false;
  struct DCtxFree {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
  };
  // v2: per room, the decoder since the room's latest keyframe.
  std::unordered_map<std::string, std::unique_ptr<ZSTD_DCtx, DCtxFree>> rooms_;
};

}  // namespace tg::bots
