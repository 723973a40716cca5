// batcher_v2.cpp -- the Batcher's part of tidegate.v2.zstd: every batch of a room with v2
// members on this node (or lately), in the room's order on this node, is fed to the
// room's stream once and its bytes framed once; a room without them has no stream. On a
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

// A v2 client joined or left a room on this node. The count decides whether the room
// has a stream at all: without v2 members (and past the linger) its batches are not
// compressed into one, and the context is not kept.
void Batcher::count_v2_member(const Inbound& e, uint64_t now_ns) {
  if (!e.v2) return;
  if (e.kind == InboundKind::kJoin) {
    ++streams_[e.room].members;
    return;
  }
  auto it = streams_.find(e.room);
  if (it == streams_.end() || it->second.members == 0) return;  // joined before a reset
  if (--it->second.members == 0) it->second.left_ns = now_ns;
}

bool Batcher::wants_stream(const StreamState& s, uint64_t now_ns) const {
  // The linger: a v2 client that reconnects and resumes within --zstd-keyframe-ms of the
  // last one leaving still finds the batches it missed in the stream.
  const uint64_t linger_ns = opts_.zstd_keyframe_ms * 1'000'000;
  return s.members > 0 || (now_ns >= s.left_ns && now_ns - s.left_ns < linger_ns);
}

void Batcher::drop_stream(StreamState& s) {
  if (!s.stream) return;
  s.stream.reset();
  --live_streams_;
}

Batcher::StreamState* Batcher::stream_for(const std::string& room, uint64_t now_ns) {
  auto it = streams_.find(room);
  if (it == streams_.end()) return nullptr;
  StreamState& s = it->second;
  if (!wants_stream(s, now_ns)) {
    drop_stream(s);
    streams_.erase(it);
    counters_.v2_streams.set(live_streams_);
    return nullptr;
  }
  if (!s.stream) {
    RoomStreamOptions o;
    o.level = opts_.zstd_v2_level;
    o.keyframe_bytes = opts_.zstd_keyframe_bytes;
    o.keyframe_ms = opts_.zstd_keyframe_ms;
    s.stream = std::make_unique<RoomStream>(o);  // its first batch is a keyframe
    ++live_streams_;
    counters_.v2_streams.set(live_streams_);
  }
  return &s;
}

void Batcher::attach_v2(Batch& b, std::string_view json, uint64_t now_ns) {
  StreamState* sp = stream_for(b.room, now_ns);
  if (!sp) {
    b.no_stream = true;
    return;
  }
  StreamState& s = *sp;
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
  s.next_seq = b.seq + 1;
  s.used_ns = now_ns;
}

// Cluster mode: the batches of this delivery that have no v2 frame yet (all of them:
// proposals are not fed at proposal time, since another node's batch may come first).
void Batcher::attach_v2_built(uint64_t now_ns) {
  if (!v2_dctx_) v2_dctx_ = ZSTD_createDCtx();
  for (Batch& b : built_) {
    if (b.v2.size() != 0) continue;
    if (!stream_for(b.room, now_ns)) {
      b.no_stream = true;  // not decompressed for nothing
      continue;
    }
    size_t h = pool::ws_header_length(b.zstd.data());
    std::string_view payload(b.zstd.data() + h, b.zstd.size() - h);
    if (!decompress_batch(v2_dctx_, payload, kMaxBatchJson, v2_json_)) {
      // Not decodable: no v2 frame; v2 cursors skip it and resync at the next keyframe.
      TG_LOG(kWarn, "room %s: batch %llu does not decompress; v2 clients resync", b.room.c_str(),
             static_cast<unsigned long long>(b.seq));
      if (auto it = streams_.find(b.room); it != streams_.end() && it->second.stream)
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
      forget_stream(it->first);
    } else if (c.first_batch > it->second.last_keyframe && it->second.stream) {
      it->second.stream->force_keyframe();
    }
  }
}

// A forgotten room's context goes; its v2 member count stays while it has members (a
// new life of the room keeps them).
void Batcher::forget_stream(const std::string& room) {
  auto it = streams_.find(room);
  if (it == streams_.end()) return;
  drop_stream(it->second);
  if (it->second.members == 0) streams_.erase(it);
  counters_.v2_streams.set(live_streams_);
}

// A room without a batch for --zstd-keyframe-ms would start a keyframe with its next one
// anyway: its context (about 490 KiB) is given back now. A room whose last v2 member
// left that long ago is forgotten here.
void Batcher::release_quiet_streams(uint64_t now_ns) {
  const uint64_t quiet_ns = opts_.zstd_keyframe_ms * 1'000'000;
  for (auto it = streams_.begin(); it != streams_.end();) {
    StreamState& s = it->second;
    if (now_ns >= s.used_ns && now_ns - s.used_ns >= quiet_ns) drop_stream(s);
    if (!wants_stream(s, now_ns)) {
      drop_stream(s);
      it = streams_.erase(it);
    } else {
      ++it;
    }
  }
  counters_.v2_streams.set(live_streams_);
}

}  // namespace tg::batcher
