// frame.cpp -- building the pre-built frame: tidegate's frame header, pseudo-random payload.
#include "bots/floor/frame.hpp"

#include "pool/ws_frame.hpp"

namespace tg::fanout {

std::string build_binary_frame(size_t payload_bytes, uint64_t seed) {
  std::string payload(payload_bytes, '\0');
  uint64_t state = (seed * 0x9E3779B97F4A7C15ull) | 1;  // xorshift must not start at 0
  for (char& byte : payload) {
    state ^= state << 13;  // xorshift64
    state ^= state >> 7;
    state ^= state << 17;
    byte = static_cast<char>(state >> 32);
  }
  std::string frame;
  pool::append_ws_frame(pool::WsOpcode::kBinary, payload, frame);
  return frame;
}

}  // namespace tg::fanout
