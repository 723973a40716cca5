// batcher_v2.cpp -- the Batcher's part of tidegate.v2.zstd: every batch, in the room's
// order on this node, is fed to the room's stream once and its bytes framed once. On a
// single node the JSON comes straight from the encoder; in cluster mode batches arrive
// in the log's order (own appends and other nodes' alike, read back from the backplane)
// and their zstd frame is decompressed once per node to feed the stream: v1 is
// compressed once per cluster, v2 once per node.
#include "batcher/batcher.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "pool/ws_frame.hpp"

namespace tg::batcher {

namespace {
// The largest JSON a batch decompresses to here (a batch of the biggest messages is far
// smaller; a frame claiming more is not ours).
constexpr size_t kMaxBatchJson = size_t{64} << 20;
}  // namespace

void Batcher::attach_v2(Batch& b, std::string_view json, uint64_t now_ns) {
  StreamState& s = streams_[b.room];
  if (!s.stream) {
    RoomStreamOptions o;
    o.level = opts_.zstd_level;
    o.keyframe_bytes = opts_.zstd_keyframe_bytes;
    o.keyframe_ms = opts_.zstd_keyframe_ms;
    s.stream = std::make_unique<RoomStream>(o);
  }
  // A batch that does not follow the previous one (a new life of the room, a new epoch,
  // batches trimmed before this node read them) starts a frame: a client that resyncs
  // there must not need what came before.
  if (b.seq != s.next_seq) s.stream->force_keyframe();
  b.keyframe = s.stream->compress(b.room, json, now_ns / 1'000'000, v2_payload_);
  b.v2 = pool::make_ws_frame(pool::WsOpcode::kBinary, v2_payload_);
  if (b.keyframe) {
    s.last_keyframe = b.seq;
    counters_.v2_keyframes.add();
  }
  counters_.v2_bytes.add(v2_payload_.size());
  counters_.v2_streams.set(streams_.size());
  s.next_seq = b.seq + 1;
  s.used_ns = now_ns;
}

// Cluster mode: the batches of this delivery that have no v2 frame yet (all of them:
// proposals are not fed at proposal time, since another node's batch may come first).
void Batcher::attach_v2_built(uint64_t now_ns) {
  if (!v2_dctx_) v2_dctx_ = ZSTD_createDCtx();
  for (Batch& b : built_) {
    if (b.v2.size() != 0) continue;
    size_t h = pool::ws_header_length(b.zstd.data());
    std::string_view payload(b.zstd.data() + h, b.zstd.size() - h);
    if (!decompress_batch(v2_dctx_, payload, kMaxBatchJson, v2_json_)) {
      // Not decodable: no v2 frame; v2 cursors skip it and resync at the next keyframe.
      TG_LOG(kWarn, "room %s: batch %llu does not decompress; v2 clients resync", b.room.c_str(),
             static_cast<unsigned long long>(b.seq));
      if (auto it = streams_.find(b.room); it != streams_.end())
        it->second.stream->force_keyframe();
      continue;
    }
    attach_v2(b, v2_json_, now_ns);
  }
}

// After the ledger's cuts: a room that lost its latest keyframe from the log starts a new
// frame with its next batch (a v2 joiner can only start at a keyframe the log holds); a
// forgotten room's stream is released.
void Batcher::v2_after_cuts() {
  for (const RoomCut& c : cuts_) {
    auto it = streams_.find(c.room);
    if (it == streams_.end()) continue;
    if (c.forget) {
      streams_.erase(it);
      counters_.v2_streams.set(streams_.size());
    } else if (c.first_batch > it->second.last_keyframe) {
      it->second.stream->force_keyframe();
    }
  }
}

// A room without a batch for --zstd-keyframe-ms would start a keyframe with its next one
// anyway: its context (a few hundred KiB) is given back now.
void Batcher::release_quiet_streams(uint64_t now_ns) {
  const uint64_t quiet_ns = opts_.zstd_keyframe_ms * 1'000'000;
  std::erase_if(streams_, [&](const auto& kv) {
    return now_ns >= kv.second.used_ns && now_ns - kv.second.used_ns >= quiet_ns;
  });
  counters_.v2_streams.set(streams_.size());
}

}  // namespace tg::batcher
