// ws_frame_check.cpp -- a byte-at-a-time walk over frame headers, skipping payloads.
#include "ws/frame_check.hpp"

#include <algorithm>

namespace tg::ws {

const char* FrameHeaderCheck::check_first_two() const {
  bool fin = first_[0] & 0x80;
  uint8_t opcode = first_[0] & 0x0F;
  uint8_t len7 = first_[1] & 0x7F;
  if (opcode >= 0x8) {  // a control frame
    if (!fin) return "fragmented control frame";
    if (len7 > 125) return "control frame longer than 125 bytes";
    if (opcode == 0x8 && len7 == 1) return "close frame with a one-byte body";
  }
  return nullptr;
}

size_t FrameHeaderCheck::scan(const uint8_t* data, size_t len) {
  if (violation_) return 0;
  size_t i = 0, header_at = 0;  // where the current header began (0: in an earlier call)
  while (i < len) {
    if (skip_ > 0) {
      uint64_t n = std::min<uint64_t>(skip_, len - i);
      skip_ -= n;
      i += static_cast<size_t>(n);
      continue;
    }
    if (have_ == 0) header_at = i;
    uint8_t b = data[i++];
    if (have_ < 2) {
      first_[have_++] = b;
      if (have_ < 2) continue;
      if ((violation_ = check_first_two())) return header_at;
      if ((first_[0] & 0x0F) < 0x8) fragmented_ = !(first_[0] & 0x80);  // a data frame
      uint8_t len7 = first_[1] & 0x7F;
      ext_left_ = len7 == 126 ? 2 : (len7 == 127 ? 8 : 0);
      length_ = len7 < 126 ? len7 : 0;
    } else {
      if (ext_left_ == 8 && (b & 0x80)) {
        violation_ = "frame length with its top bit set";
        return header_at;
      }
      length_ = (length_ << 8) | b;
      --ext_left_;
    }
    if (ext_left_ == 0) {  // header complete but for the mask key
      skip_ = length_ + ((first_[1] & 0x80) ? 4 : 0);
      have_ = 0;
    }
  }
  return len;
}

}  // namespace tg::ws
