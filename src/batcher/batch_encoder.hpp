// batch_encoder.hpp -- BatchEncoder: turns one room's events into a Batch: JSON once,
// zstd once, WebSocket framing once.
#pragma once

#include <zstd.h>

#include <span>
#include <string>
#include <string_view>

#include "batcher/batch.hpp"
#include "batcher/inbound.hpp"
#include "batcher/sequencer.hpp"

namespace tg::batcher {

class BatchEncoder {
 public:
  explicit BatchEncoder(int zstd_level);
  ~BatchEncoder();
  BatchEncoder(const BatchEncoder&) = delete;
  BatchEncoder& operator=(const BatchEncoder&) = delete;

  // Builds the batch of `events` (all of one room, in order) with the seqs in
  // `assigned`. The JSON text frame is built only when `with_json` is true.
  // Not thread-safe: one encoder per thread (it reuses its zstd context and buffers).
  Batch encode(std::string_view room, const Sequencer::Assigned& assigned,
               std::span<const Inbound* const> events, bool with_json);

  // The JSON text of a batch (exposed for tests and for on-demand JSON frames).
  const std::string& last_json() const { return json_; }

 private:
  void write_json(std::string_view room, const Sequencer::Assigned& assigned,
                  std::span<const Inbound* const> events);

  ZSTD_CCtx* cctx_;
  int level_;
  std::string json_;
  std::string compressed_;
};

// Decompresses the payload of a zstd batch frame back to JSON: for a Shard deriving a
// JSON frame on demand (Shard::json_frame) and for the tests. It lives beside encode()
// because it is encode()'s inverse: the batch format is defined in this one place. Returns false if
// the payload is not one valid zstd frame of at most `max_bytes` decompressed bytes.
bool decompress_batch(ZSTD_DCtx* dctx, std::string_view zstd_payload, size_t max_bytes,
                      std::string& out);

}  // namespace tg::batcher
