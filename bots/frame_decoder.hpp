// frame_decoder.hpp -- decodes server messages: zstd batches, json batches and notices.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

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

 private:
  bool decompress(std::span<const uint8_t> data);
  bool decompress_stream(std::span<const uint8_t> data);
  bool fail(const char* why);
  Kind parse(bool binary, DecodedBatch& batch, Notice& notice);
  Kind invalid(const char* why);

  std::string run_;
  ZSTD_DCtx* dctx_;
  std::string text_;  // decompressed or copied JSON, parsed in place
  std::string error_;
};

}  // namespace tg::bots
