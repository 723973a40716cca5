// ws_frame.hpp -- server-to-client WebSocket frame headers (RFC 6455 section 5.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pool/shared_frame.hpp"

namespace tg::pool {

enum class WsOpcode : uint8_t {
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA
};

// Largest header a server frame needs: 2 bytes + 8-byte extended length. Server frames
// are never masked (RFC 6455 5.1), which is what lets one buffer serve every client.
constexpr size_t kMaxWsHeader = 10;

// Writes the header of a single unfragmented (FIN) frame carrying `payload_len` bytes
// into `out` and returns its length (2, 4 or 10).
size_t write_ws_header(WsOpcode op, size_t payload_len, uint8_t out[kMaxWsHeader]);

// Bytes of the complete frame (header + payload) that carries `payload_len` bytes.
constexpr size_t ws_frame_size(size_t payload_len) {
  return payload_len + (payload_len < 126 ? 2 : payload_len <= 0xFFFF ? 4 : 10);
}

// One complete frame (header + payload) in a SharedFrame. `compressed` sets RSV1: the
// payload is permessage-deflate's (RFC 7692 6).
SharedFrame make_ws_frame(WsOpcode op, std::string_view payload, bool compressed = false);

// Appends one complete frame to `out` (for small, per-client direct notices).
void append_ws_frame(WsOpcode op, std::string_view payload, std::string& out);

// Length of the header at the start of a frame made by this file.
size_t ws_header_length(const char* frame);

}  // namespace tg::pool
