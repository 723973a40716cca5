// ws_frame.cpp -- building unmasked server frames once, for many sockets.
#include "pool/ws_frame.hpp"

#include <cstring>

namespace tg::pool {

size_t write_ws_header(WsOpcode op, size_t payload_len, uint8_t out[kMaxWsHeader]) {
  out[0] = 0x80 | static_cast<uint8_t>(op);  // FIN, no RSV bits
  if (payload_len < 126) {
    out[1] = static_cast<uint8_t>(payload_len);
    return 2;
  }
  if (payload_len <= 0xFFFF) {  // 16-bit extended length, network order
    out[1] = 126;
    out[2] = static_cast<uint8_t>(payload_len >> 8);
    out[3] = static_cast<uint8_t>(payload_len);
    return 4;
  }
  out[1] = 127;  // 64-bit extended length, most significant bit 0
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<uint8_t>(uint64_t{payload_len} >> (56 - 8 * i));
  return 10;
}

SharedFrame make_ws_frame(WsOpcode op, std::string_view payload, bool compressed) {
  uint8_t header[kMaxWsHeader];
  size_t hlen = write_ws_header(op, payload.size(), header);
  if (compressed) header[0] |= 0x40;  // RSV1
  SharedFrame f = SharedFrame::allocate(hlen + payload.size());
  std::memcpy(f.mutable_data(), header, hlen);
  if (!payload.empty()) std::memcpy(f.mutable_data() + hlen, payload.data(), payload.size());
  return f;
}

void append_ws_frame(WsOpcode op, std::string_view payload, std::string& out) {
  uint8_t header[kMaxWsHeader];
  size_t hlen = write_ws_header(op, payload.size(), header);
  out.append(reinterpret_cast<const char*>(header), hlen);
  out.append(payload);
}

size_t ws_header_length(const char* frame) {
  uint8_t len7 = static_cast<uint8_t>(frame[1]) & 0x7F;
  return len7 < 126 ? 2 : (len7 == 126 ? 4 : 10);
}

}  // namespace tg::pool
