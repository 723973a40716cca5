// batch_encoder.cpp -- JSON encoding (rapidjson), zstd compression and framing of batches.
#include "batcher/batch_encoder.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdlib>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "pool/ws_frame.hpp"

namespace tg::batcher {

namespace {

// rapidjson's Writer wants a stream with Put/Flush; appending to a std::string that
// keeps its capacity across batches avoids an allocation per flush.
struct StringSink {
  using Ch = char;
  std::string* s;
  void Put(char c) { s->push_back(c); }
  void Flush() {}
};

}  // namespace

BatchEncoder::BatchEncoder(int zstd_level) : cctx_(ZSTD_createCCtx()), level_(zstd_level) {
  if (!cctx_) abort();
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level_);
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 0);
}

BatchEncoder::~BatchEncoder() {
  ZSTD_freeCCtx(cctx_);
}

void BatchEncoder::write_json(std::string_view room, const Sequencer::Assigned& assigned,
                              std::span<const Inbound* const> events) {
  json_.clear();
  StringSink sink{&json_};
  rapidjson::Writer<StringSink> w(sink);
  w.StartObject();
  w.Key("t");
  w.String("batch");
  w.Key("room");
  w.String(room.data(), static_cast<rapidjson::SizeType>(room.size()));
  w.Key("seq");
  w.Uint64(assigned.batch_seq);
  w.Key("online");
  w.Uint(assigned.online);
  w.Key("msgs");
  w.StartArray();
  uint64_t seq = assigned.first_msg_seq;
  for (const Inbound* e : events) {
    w.StartObject();
    w.Key("seq");
    w.Uint64(seq++);
    w.Key("t");
    w.String(inbound_kind_name(e->kind));
    w.Key("from");
    w.String(e->from.data(), static_cast<rapidjson::SizeType>(e->from.size()));
    if (e->kind == InboundKind::kMsg) {
      w.Key("text");
      w.String(e->text.data(), static_cast<rapidjson::SizeType>(e->text.size()));
    } else if (e->kind == InboundKind::kRename) {
      w.Key("old");
      w.String(e->text.data(), static_cast<rapidjson::SizeType>(e->text.size()));
    }
    w.Key("ts");
    w.Int64(e->ts_ms);
    if (!e->cid.empty()) {
      w.Key("cid");
      w.String(e->cid.data(), static_cast<rapidjson::SizeType>(e->cid.size()));
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

Batch BatchEncoder::encode(std::string_view room, const Sequencer::Assigned& assigned,
                           std::span<const Inbound* const> events, bool with_json) {
  TG_ASSERT(!events.empty());
  write_json(room, assigned, events);

  compressed_.resize(ZSTD_compressBound(json_.size()));
  size_t n =
      ZSTD_compress2(cctx_, compressed_.data(), compressed_.size(), json_.data(), json_.size());
  TG_ASSERT(!ZSTD_isError(n));  // only fails on a too-small buffer or bad parameters
  compressed_.resize(n);

  Batch b;
  b.room = std::string(room);
  b.seq = assigned.batch_seq;
  b.first_msg = assigned.first_msg_seq;
  b.last_msg = assigned.first_msg_seq + events.size() - 1;
  b.online = assigned.online;
  b.zstd = pool::make_ws_frame(pool::WsOpcode::kBinary, compressed_);
  if (with_json) b.json = pool::make_ws_frame(pool::WsOpcode::kText, json_);
  b.raw_bytes = json_.size();
  b.built_ns = mono_ns();
  return b;
}

bool decompress_batch(ZSTD_DCtx* dctx, std::string_view zstd_payload, size_t max_bytes,
                      std::string& out) {
  unsigned long long size = ZSTD_getFrameContentSize(zstd_payload.data(), zstd_payload.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > max_bytes)
    return false;
  out.resize(size);
  size_t n =
      ZSTD_decompressDCtx(dctx, out.data(), out.size(), zstd_payload.data(), zstd_payload.size());
  if (ZSTD_isError(n) || n != size) return false;
  return true;
}

}  // namespace tg::batcher
