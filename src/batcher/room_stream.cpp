// room_stream.cpp -- the per-room streaming zstd encoder of `tidegate.v2.zstd`.
#include "batcher/room_stream.hpp"

#include <cstdlib>

#include "common/result.hpp"

namespace tg::batcher {

RoomStream::RoomStream(const RoomStreamOptions& options)
    : opts_(options), cctx_(ZSTD_createCCtx()) {
  if (!cctx_) abort();
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, opts_.level);
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_windowLog, kRoomStreamWindowLog);
  // Small match tables: the window is small, and one context lives per room.
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_hashLog, opts_.table_log);
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_chainLog, opts_.table_log);
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 0);
  // The frame's size is unknown when it starts (it spans batches).
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_contentSizeFlag, 0);
}

RoomStream::~RoomStream() {
  ZSTD_freeCCtx(cctx_);
}

bool RoomStream::compress(std::string_view room, std::string_view json, uint64_t now_ms,
                          std::string& out) {
  TG_ASSERT(room.size() <= 255);
  bool key = need_keyframe_ || frame_bytes_ >= opts_.keyframe_bytes ||
             now_ms - frame_start_ms_ >= opts_.keyframe_ms;
  if (key) {
    // Ends nothing: the previous frame is left open; a client starting a fresh decoder
    // at this keyframe never needs its end, and one that was decoding resets here too.
    ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only);
    need_keyframe_ = false;
    frame_bytes_ = 0;
    frame_start_ms_ = now_ms;
  }
  out.clear();
  out.push_back(static_cast<char>(key ? kV2Keyframe : 0));
  out.push_back(static_cast<char>(room.size()));
  out.append(room);
  size_t header = out.size();
  out.resize(header + ZSTD_compressBound(json.size()) + 64);
  ZSTD_inBuffer in{json.data(), json.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), header};
  size_t left;
  do {
    left = ZSTD_compressStream2(cctx_, &o, &in, ZSTD_e_flush);
    TG_ASSERT(!ZSTD_isError(left));  // only fails on bad parameters
    if (left != 0 && o.pos == o.size) {
      out.resize(out.size() * 2);
      o.dst = out.data();
      o.size = out.size();
    }
  } while (left != 0);
  out.resize(o.pos);
  frame_bytes_ += o.pos - header;
  return key;
}

bool parse_v2_header(std::string_view payload, uint8_t& flags, std::string_view& room,
                     std::string_view& zstd_bytes) {
  if (payload.size() < 2) return false;
  flags = static_cast<uint8_t>(payload[0]);
  size_t len = static_cast<uint8_t>(payload[1]);
  if (payload.size() < 2 + len) return false;
  room = payload.substr(2, len);
  zstd_bytes = payload.substr(2 + len);
  return true;
}

}  // namespace tg::batcher
