// frame_decoder.cpp -- zstd decompression, inflating and rapidjson parsing of server messages.
#include "bots/frame_decoder.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string_view>

#include "bots/cid.hpp"

namespace tg::bots {
namespace {

using rapidjson::Value;

std::string_view str(const Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

const Value* member(const Value& object, const char* name) {
  const auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

uint64_t uint_or(const Value& object, const char* name, uint64_t fallback) {
  const Value* v = member(object, name);
  return v != nullptr && v->IsUint64() ? v->GetUint64() : fallback;
}

std::string string_or_empty(const Value& object, const char* name) {
  const Value* v = member(object, name);
  return v != nullptr && v->IsString() ? std::string(str(*v)) : std::string();
}

Notice::Type notice_type(std::string_view t) {
  if (t == "hello") return Notice::Type::kHello;
  if (t == "pong") return Notice::Type::kPong;
  if (t == "gap") return Notice::Type::kGap;
  if (t == "error") return Notice::Type::kError;
  if (t == "joined") return Notice::Type::kJoined;
  if (t == "left") return Notice::Type::kLeft;
  if (t == "named") return Notice::Type::kNamed;
  return Notice::Type::kOther;
}

void fill_notice(const Value& doc, std::string_view t, Notice& n) {
  n = Notice{};
  n.type = notice_type(t);
  n.seq = uint_or(doc, "seq", 0);
  n.id = uint_or(doc, "id", 0);
  n.from = uint_or(doc, "from", 0);
  n.to = uint_or(doc, "to", 0);
  n.epoch = uint_or(doc, "epoch", 0);
  const Value* w = member(doc, "window_ms");
  n.window_ms = w != nullptr && w->IsNumber() ? w->GetDouble() : 0.0;
  n.room = string_or_empty(doc, "room");
  n.code = string_or_empty(doc, "code");
  n.cid = string_or_empty(doc, "cid");
}

// Fills `b` from the "msgs" array; false if an entry has no integer seq.
bool fill_messages(const Value& msgs, std::string_view run, DecodedBatch& b) {
  for (const Value& m : msgs.GetArray()) {
    if (!m.IsObject()) return false;
    const Value* seq = member(m, "seq");
    if (seq == nullptr || !seq->IsUint64()) return false;
    const uint64_t s = seq->GetUint64();
    if (b.msg_count == 0)
      b.first_seq = s;
    else if (s != b.last_seq + 1)
      b.consecutive = false;
    b.last_seq = s;
    ++b.msg_count;
    const Value* t = member(m, "t");
    if (t != nullptr && (!t->IsString() || str(*t) != "msg")) continue;
    const Value* cid = member(m, "cid");
    if (cid == nullptr || !cid->IsString()) continue;
    if (const auto parsed = Cid::parse(str(*cid), run)) {
      ++b.run_msgs;
      b.own.push_back({parsed->bot, parsed->sent_us, s});
    }
  }
  std::stable_sort(b.own.begin(), b.own.end(),
                   [](const OwnMessage& x, const OwnMessage& y) { return x.bot < y.bot; });
  return true;
}

}  // namespace

FrameDecoder::FrameDecoder(std::string run) : run_(std::move(run)), dctx_(ZSTD_createDCtx()) {
  if (dctx_ == nullptr) std::abort();  // out of memory
}

FrameDecoder::~FrameDecoder() {
  ZSTD_freeDCtx(dctx_);
}

FrameDecoder::Kind FrameDecoder::invalid(const char* why) {
  error_ = why;
  return Kind::kInvalid;
}

FrameDecoder::Kind FrameDecoder::decode(bool binary, std::span<const uint8_t> data,
                                        DecodedBatch& batch, Notice& notice) {
  if (binary && v2_) {
    if (!decompress_v2(data, nullptr)) return Kind::kInvalid;
  } else if (binary) {
    if (!decompress(data)) return Kind::kInvalid;
  } else {
    text_.assign(reinterpret_cast<const char*>(data.data()), data.size());
  }
  return parse(binary, batch, notice);
}

bool FrameDecoder::decompress(std::span<const uint8_t> data) {
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) return fail("not a zstd frame");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN) return decompress_stream(data);
  if (size > kMaxDecodedBytes) return fail("zstd frame too large");
  text_.resize(size);
  const size_t n = ZSTD_decompressDCtx(dctx_, text_.data(), text_.size(), data.data(), data.size());
  if (ZSTD_isError(n) || n != size) return fail("zstd decompression failed");
  return true;
}

bool FrameDecoder::decompress_stream(std::span<const uint8_t> data) {
  // No content size in the frame header: stream it through the same context (zstd.h:
  // ZSTD_DCtx and ZSTD_DStream are the same object since v1.3.0).
  ZSTD_DCtx_reset(dctx_, ZSTD_reset_session_only);
  text_.clear();
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  char chunk[16384];
  while (true) {
    ZSTD_outBuffer out{chunk, sizeof chunk, 0};
    const size_t rv = ZSTD_decompressStream(dctx_, &out, &in);
    if (ZSTD_isError(rv)) return fail("zstd decompression failed");
    text_.append(chunk, out.pos);
    if (text_.size() > kMaxDecodedBytes) return fail("zstd frame too large");
    if (rv == 0) return in.pos == in.size || fail("trailing bytes after the zstd frame");
    if (in.pos == in.size && out.pos < out.size) return fail("truncated zstd frame");
  }
}

FrameDecoder::Kind FrameDecoder::decode_deflated(std::span<const uint8_t> data, DecodedBatch& batch,
                                                 Notice& notice) {
  if (!deflate_) return invalid("RSV1 without permessage-deflate");
  if (!inflater_) inflater_ = std::make_unique<ws::MessageInflater>();
  const std::string_view payload(reinterpret_cast<const char*>(data.data()), data.size());
  switch (inflater_->inflate(payload, kMaxDecodedBytes)) {
    case ws::MessageInflater::Result::kTooBig:
      return invalid("deflated message too large");
    case ws::MessageInflater::Result::kCorrupt:
      return invalid("deflated message does not inflate");
    case ws::MessageInflater::Result::kOk:
      break;
  }
  text_.assign(inflater_->output());
  return parse(false, batch, notice);
}

FrameDecoder::Kind FrameDecoder::decode_v2(std::span<const uint8_t> data, V2Place place,
                                           DecodedBatch& batch, Notice& notice) {
  if (!decompress_v2(data, &place)) return Kind::kInvalid;
  return parse(true, batch, notice);
}

bool FrameDecoder::decompress_v2(std::span<const uint8_t> data, const V2Place* place) {
  constexpr uint8_t kKeyframe = 0x01;
  if (data.size() < 2 || data.size() < 2u + data[1]) return fail("short v2 header");
  const uint8_t flags = data[0];
  if (flags & ~kKeyframe) return fail("reserved v2 flag bits set");
  const bool key = (flags & kKeyframe) != 0;
  Room& room = rooms_[std::string(reinterpret_cast<const char*>(data.data()) + 2, data[1])];
  V2Place at;
  if (place != nullptr) {
    at = *place;
  } else if (key) {
    // No place given: the frames come in the room's stream order.
    at.chain = std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  } else {
    at = {room.last.chain, room.last.index + 1};
  }
  if (key != (at.index == 0)) return fail("v2 keyframe flag and place disagree");
  const std::span<const uint8_t> zbytes = data.subspan(2u + data[1]);
  auto it = std::find_if(room.chains.begin(), room.chains.end(),
                         [&](const Chain& c) { return c.id == at.chain; });
  if (it == room.chains.end()) {
    if (!key) return fail("v2 frame of a keyframe the loop does not hold");
    if (room.chains.size() >= kChainsPerRoom) room.chains.erase(room.chains.begin());
    Chain fresh;
    fresh.id = at.chain;
    fresh.dctx.reset(ZSTD_createDCtx());
    if (!fresh.dctx) std::abort();  // out of memory
    room.chains.push_back(std::move(fresh));
  } else {
    std::rotate(it, it + 1, room.chains.end());  // most recently used last
  }
  Chain& chain = room.chains.back();
  room.last = at;
  if (at.index > chain.next) return fail("v2 frame after frames the loop never saw");
  if (at.index < chain.next) {
    // The BatchCache forgot this frame while the chain's decoder went on: decode it
    // again on the side, from the chain's kept frames.
    ZSTD_DCtx* side = rewind(chain, at.index);
    if (side == nullptr) return fail("v2 frame the loop can no longer decode again");
    if (!stream_into(side, zbytes, true)) {
      scratch_valid_ = false;
      return false;
    }
    ++scratch_next_;
    return true;
  }
  if (!stream_into(chain.dctx.get(), zbytes, true)) {
    room.chains.pop_back();  // its stream is lost until the next keyframe
    scratch_valid_ = false;
    return false;
  }
  if (chain.frames.size() == chain.next && chain.bytes + zbytes.size() <= kMaxChainBytes) {
    chain.frames.emplace_back(reinterpret_cast<const char*>(zbytes.data()), zbytes.size());
    chain.bytes += zbytes.size();
  }
  ++chain.next;
  return true;
}

ZSTD_DCtx* FrameDecoder::rewind(const Chain& chain, uint64_t index) {
  if (index > chain.frames.size()) return nullptr;
  if (scratch_valid_ && scratch_chain_ == chain.id && scratch_next_ == index) return scratch_.get();
  if (!scratch_) scratch_.reset(ZSTD_createDCtx());
  if (!scratch_) std::abort();  // out of memory
  ZSTD_DCtx_reset(scratch_.get(), ZSTD_reset_session_only);
  scratch_valid_ = false;
  for (uint64_t i = 0; i < index; ++i) {
    const std::string& f = chain.frames[i];
    if (!stream_into(scratch_.get(), {reinterpret_cast<const uint8_t*>(f.data()), f.size()},
                     false)) {
      return nullptr;
    }
  }
  scratch_chain_ = chain.id;
  scratch_next_ = index;
  scratch_valid_ = true;
  return scratch_.get();
}

bool FrameDecoder::stream_into(ZSTD_DCtx* dctx, std::span<const uint8_t> zbytes, bool keep) {
  if (keep) text_.clear();
  ZSTD_inBuffer in{zbytes.data(), zbytes.size(), 0};
  char chunk[16384];
  size_t total = 0;
  // The encoder flushed: all of the batch comes out of this input. Call again while a
  // call fills the chunk (more may wait in the decoder).
  while (true) {
    ZSTD_outBuffer out{chunk, sizeof chunk, 0};
    const size_t rv = ZSTD_decompressStream(dctx, &out, &in);
    if (ZSTD_isError(rv)) return fail("v2 zstd decompression failed");
    if (keep) text_.append(chunk, out.pos);
    total += out.pos;
    if (total > kMaxDecodedBytes) return fail("v2 batch too large");
    if (in.pos == in.size && out.pos < out.size) return true;
  }
}

bool FrameDecoder::fail(const char* why) {
  error_ = why;
  return false;
}

FrameDecoder::Kind FrameDecoder::parse(bool binary, DecodedBatch& batch, Notice& notice) {
  rapidjson::Document doc;
  doc.ParseInsitu(text_.data());
  if (doc.HasParseError() || !doc.IsObject()) return invalid("not a JSON object");
  const Value* t = member(doc, "t");
  if (t == nullptr || !t->IsString()) return invalid("no \"t\"");
  if (str(*t) != "batch") {
    if (binary) return invalid("binary message is not a batch");
    fill_notice(doc, str(*t), notice);
    return Kind::kNotice;
  }
  const Value* room = member(doc, "room");
  const Value* seq = member(doc, "seq");
  const Value* msgs = member(doc, "msgs");
  if (room == nullptr || !room->IsString() || seq == nullptr || !seq->IsUint64() ||
      msgs == nullptr || !msgs->IsArray()) {
    return invalid("batch without room, seq or msgs");
  }
  batch = DecodedBatch{};
  batch.room = std::string(str(*room));
  batch.batch_seq = seq->GetUint64();
  if (!fill_messages(*msgs, run_, batch)) return invalid("batch message without seq");
  return Kind::kBatch;
}

}  // namespace tg::bots
