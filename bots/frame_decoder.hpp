// frame_decoder.hpp -- decodes server messages: zstd batches, json batches (also deflated)
// and notices.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bots/decoded_batch.hpp"
#include "bots/notice.hpp"
#include "ws/deflate.hpp"

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

  // permessage-deflate was agreed (--subprotocol deflate): a text message with RSV1 is
  // inflated on its own (the gateway keeps no context) and then parsed like any text.
  void set_deflate(bool deflate) { deflate_ = deflate; }
  // A text message that came with RSV1. Invalid without set_deflate(true), when it does
  // not inflate, or when it inflates to more than kMaxDecodedBytes.
  Kind decode_deflated(std::span<const uint8_t> data, DecodedBatch& batch, Notice& notice);

  // tidegate.v2.zstd: binary messages are room-stream frames (flag byte, room name,
  // zstd stream bytes; docs/PROTOCOL.md).
  void set_v2(bool v2) { v2_ = v2; }

  // Where a v2 frame sits in its room's stream, as its receiver saw it: `chain` names
  // the keyframe it follows (the hash of that keyframe's bytes), `index` how many frames
  // came between (0: the keyframe itself).
  struct V2Place {
    uint64_t chain = 0;
    uint64_t index = 0;
  };
  // Decodes a v2 frame at `place`. The loop keeps one zstd decoder per chain (room and
  // keyframe) and the chain's frames, so a bot replayed from an older keyframe (whose
  // frames have left the BatchCache) neither disturbs nor depends on the live stream's
  // decoder, and a frame the cache forgot is decoded again from its chain.
  Kind decode_v2(std::span<const uint8_t> data, V2Place place, DecodedBatch& batch, Notice& notice);

  // Chains kept per room (the least recently used goes first) and compressed bytes
  // kept per chain (past it, a forgotten frame of that chain can no longer be decoded
  // again: counted as an error, never guessed at).
  static constexpr size_t kChainsPerRoom = 3;
  static constexpr size_t kMaxChainBytes = 8u << 20;

 private:
  struct DCtxFree {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
  };
  using DCtxPtr = std::unique_ptr<ZSTD_DCtx, DCtxFree>;
  // One keyframe and the frames after it, as first decoded in stream order.
  struct Chain {
    uint64_t id = 0;
    DCtxPtr dctx;  // has been fed frames [0, next)
    uint64_t next = 0;
    std::vector<std::string> frames;  // their zstd bytes, while under kMaxChainBytes
    size_t bytes = 0;
    bool complete = true;  // frames holds every frame fed so far
  };
  struct Room {
    std::vector<Chain> chains;  // most recently used last
    V2Place last;               // decode() without a place: the room's stream order
  };

  bool decompress(std::span<const uint8_t> data);
  bool decompress_stream(std::span<const uint8_t> data);
  bool decompress_v2(std::span<const uint8_t> data, const V2Place* place);
  // Feeds zstd stream bytes to `dctx`, the batch text into text_ (or nowhere: `keep`).
  bool stream_into(ZSTD_DCtx* dctx, std::span<const uint8_t> zbytes, bool keep);
  // A decoder fed frames [0, index) of `chain`, from its kept bytes (scratch_).
  ZSTD_DCtx* rewind(const Chain& chain, uint64_t index);
  bool fail(const char* why);
  Kind parse(bool binary, DecodedBatch& batch, Notice& notice);
  Kind invalid(const char* why);

  std::string run_;
  ZSTD_DCtx* dctx_;
  std::string text_;  // decompressed or copied JSON, parsed in place
  std::string error_;
  bool v2_ = false;
  bool deflate_ = false;
  std::unique_ptr<ws::MessageInflater> inflater_;  // made on the first deflated message
  std::unordered_map<std::string, Room> rooms_;
  // Re-decoding a forgotten frame: a decoder rebuilt from a chain's kept frames, and
  // where it stands (a replaying bot asks for the next one).
  DCtxPtr scratch_;
  uint64_t scratch_chain_ = 0;
  uint64_t scratch_next_ = 0;
  bool scratch_valid_ = false;
};

}  // namespace tg::bots
