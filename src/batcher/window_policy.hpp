// window_policy.hpp -- WindowPolicy: decides how long the Batcher collects events
// before the next flush. FixedWindow (--window-ms) or WindowController (adaptive).
#pragma once

#include <cstdint>

namespace tg::batcher {

// What the Batcher measured about one flush and about the Shards since the last one.
struct FlushStats {
  uint64_t now_ns = 0;     // monotonic time the flush ended
  uint64_t events = 0;     // events (messages and membership changes) flushed
  uint64_t batches = 0;    // batches built (one per room with events)
  uint64_t encode_ns = 0;  // time spent encoding, compressing and framing
  uint64_t writes = 0;     // client writes the Shards completed since the last flush
  double busy_sum = 0;     // sum over Shards of their loop busy fraction (0..shards)
  double busy_max = 0;     // the busiest Shard's loop busy fraction (0..1)
  uint64_t lag_ns = 0;     // peak time from a batch being built to its write completing
  int shards = 1;
};

class WindowPolicy {
 public:
  virtual ~WindowPolicy() = default;
  // Called by the Batcher thread after each flush; returns the next window in
  // microseconds (0: flush on the next loop turn after an event arrives).
  virtual uint64_t next_window_us(const FlushStats& stats) = 0;
  // Called when an event arrives and no window is open: the window to open now. Lets a
  // policy forget load that has stopped (no flush happens while idle).
  virtual uint64_t window_at(uint64_t now_ns) = 0;
};

// Always the same window, as set by --window-ms.
class FixedWindow final : public WindowPolicy {
 public:
  explicit FixedWindow(uint64_t window_us) : window_us_(window_us) {}
  uint64_t next_window_us(const FlushStats&) override { return window_us_; }
  uint64_t window_at(uint64_t) override { return window_us_; }

 private:
  uint64_t window_us_;
};

}  // namespace tg::batcher
