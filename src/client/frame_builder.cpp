// frame_builder.cpp -- header, length forms and masking of hand-made client frames.
#include "client/frame_builder.hpp"

#include <array>

namespace tg::client {
namespace {

constexpr std::array<uint8_t, 4> kMaskKey = {0x12, 0x34, 0x56, 0x78};

// Appends the low `bytes` bytes of `value`, most significant first.
void append_be(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}

}  // namespace

std::string client_frame(uint8_t opcode, std::string_view payload, bool fin, bool masked,
                         uint8_t rsv) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | (rsv & 0x7) << 4 | (opcode & 0x0F)));
  const uint8_t mask_bit = masked ? 0x80 : 0;
  const uint64_t size = payload.size();
  if (size < 126) {
    f.push_back(static_cast<char>(mask_bit | size));
  } else if (size <= 0xFFFF) {
    f.push_back(static_cast<char>(mask_bit | 126));
    append_be(f, size, 2);
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    append_be(f, size, 8);
  }
  if (masked) f.append(kMaskKey.begin(), kMaskKey.end());
  for (size_t i = 0; i < payload.size(); ++i) {
    f.push_back(static_cast<char>(payload[i] ^ (masked ? kMaskKey[i % 4] : 0)));
  }
  return f;
}

std::string close_payload(uint16_t code) {
  std::string out;
  append_be(out, code, 2);
  return out;
}

}  // namespace tg::client
