// memory.hpp -- giving freed heap back to the operating system. glibc keeps what the
// process frees for later reuse, so after many clients leave the gateway's resident
// memory stays at its peak. Whoever frees a lot (a connection closing, a room log
// dropping batches) says so with note_released(); one Trimmer, run from a timer off the
// data path, calls malloc_trim(0) when enough was released and the last trim is not too
// recent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace tg::memory {

// Any thread: about `bytes` of heap were just freed. One relaxed atomic add.
void note_released(size_t bytes);
// Bytes noted since the last trim (or since the start).
uint64_t released_since_trim();
// Trims done so far, and the time they took in total (ns), for the metrics.
uint64_t trims_total();
uint64_t trim_ns_total();

class Trimmer {
 public:
  struct Policy {
    uint64_t min_released = 4u << 20;       // trim only once this much was noted...
    uint64_t min_interval_ns = 5000000000;  // ...and the previous trim is this old
  };
  // `trim` is what trimming does (malloc_trim(0) by default; tests count calls).
  explicit Trimmer(Policy policy, std::function<void()> trim = {});

  // Trims if the policy allows it at monotonic time `now_ns`. Returns true when it did.
  // One thread only: the one the Trimmer belongs to.
  bool maybe_trim(uint64_t now_ns);

 private:
  Policy policy_;
  std::function<void()> trim_;
  uint64_t last_ns_ = 0;
  bool trimmed_ = false;
};

}  // namespace tg::memory
