// ws_frame_check.hpp -- FrameHeaderCheck: follows the frame headers in a client's byte
// stream and stops at the first one RFC 6455 forbids for reasons wslay (Debian 1.1.1)
// answers with a close frame that has no status code at all: a control frame longer
// than 125 bytes or fragmented (5.5), a close frame with a one-byte body (5.5.1), a
// 64-bit length with its top bit set (5.2). The session answers those with 1002 itself.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tg::ws {

class FrameHeaderCheck {
 public:
  // Looks at the next `len` bytes of the stream. Returns how many of them lie before the
  // first forbidden frame: all `len` while none is found. Once one is found, violation()
  // says why and every later call returns 0.
  size_t scan(const uint8_t* data, size_t len);
  const char* violation() const { return violation_; }
  // True between frames (no header or payload partly seen) and outside a fragmented
  // message, with no violation found: a parser fed the same bytes holds nothing of the
  // stream at this point but what it was configured with.
  bool at_rest() const { return have_ == 0 && skip_ == 0 && !fragmented_ && !violation_; }

 private:
  const char* check_first_two() const;

  uint64_t skip_ = 0;        // bytes of the current frame still to pass (mask key, payload)
  uint8_t first_[2] = {};    // the header's first two bytes
  unsigned have_ = 0;        // of the header's first two bytes, how many were seen
  unsigned ext_left_ = 0;    // extended length bytes still to come
  uint64_t length_ = 0;      // payload length, once known
  bool fragmented_ = false;  // a data frame without FIN was seen, not yet its last one
  const char* violation_ = nullptr;
};

}  // namespace tg::ws
