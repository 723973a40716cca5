// client_frames.hpp -- builds client-to-server WebSocket frames byte by byte (RFC 6455
// 5.2), including malformed ones, for the tests that feed them to a session or a socket.
#pragma once

#include <cstdint>
#include <string>

namespace tg::test {

// One frame: masked unless told otherwise, FIN unless told otherwise, `rsv` in 0..7.
inline std::string client_frame(uint8_t opcode, const std::string& payload, bool fin = true,
                                bool masked = true, uint8_t rsv = 0) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode));
  uint8_t mask_bit = masked ? 0x80 : 0;
  if (payload.size() < 126) {
    f.push_back(static_cast<char>(mask_bit | payload.size()));
  } else {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(payload.size() >> 8));
    f.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  const uint8_t key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) f.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < payload.size(); ++i)
    f.push_back(static_cast<char>(payload[i] ^ (masked ? key[i % 4] : 0)));
  return f;
}

// The payload of a close frame with `code`.
inline std::string close_payload(uint16_t code) {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
}

}  // namespace tg::test
