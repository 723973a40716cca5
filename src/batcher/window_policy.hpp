// window_policy.hpp -- WindowPolicy: decides, per room, how long the Batcher collects a
// room's events before flushing them. FixedWindow (--window-ms, the same for every room)
// or WindowController (adaptive, docs/ADAPTIVE.md).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace tg::batcher {

// One room's part of a flush.
struct RoomFlush {
  std::string_view room;
  uint64_t events = 0;  // events flushed for the room
  uint32_t online = 0;  // members after the batch: the writes its fan-out takes
};

// What the Batcher measured about one flush and about the Shards since the last one.
struct FlushStats {
  uint64_t now_ns = 0;     // monotonic time the flush ended
  uint64_t events = 0;     // events (messages and membership changes) flushed
  uint64_t batches = 0;    // batches built (one per room flushed)
  uint64_t encode_ns = 0;  // time spent encoding, compressing and framing
  uint64_t writes = 0;     // client writes the Shards completed since the last flush
  uint64_t fanout_ns = 0;  // loop time the Shards spent on fan-out since the last flush
  double busy_sum = 0;     // sum over Shards of their loop busy fraction (0..shards)
  double busy_max = 0;     // the busiest Shard's loop busy fraction (0..1)
  uint64_t lag_ns = 0;     // peak time from a batch being built to its write completing
  int shards = 1;
};

// The adaptive window's knobs (--window-max-ms, --target-cpu, --latency-weight,
// --latency-target-ms); a reload may change them while the gateway runs.
struct WindowOptions {
  double max_ms = 100;            // --window-max-ms
  double target_cpu = 0.7;        // --target-cpu: loop busy fraction to stay under
  double latency_weight = 1.0;    // --latency-weight: % of a core 1 ms of latency is worth
  double latency_target_ms = 50;  // --latency-target-ms: cap while CPU is plentiful
};

class WindowPolicy {
 public:
  virtual ~WindowPolicy() = default;
  // Batcher thread, when the first event of a room's window arrives at `now_ns`: how
  // long to collect the room's events, in microseconds (0: flush on this loop turn).
  virtual uint64_t open_window_us(std::string_view room, uint64_t now_ns) = 0;
  // Batcher thread, after each flush: the rooms it flushed and the Shards' load.
  virtual void observe(const FlushStats& stats, std::span<const RoomFlush> rooms) = 0;
  // Batcher thread: new knobs from a reload (a fixed window has none).
  virtual void reconfigure(const WindowOptions&) {}
  // Batcher thread: the room expired; whatever is kept for it can go.
  virtual void forget(std::string_view room) { (void)room; }
};

// Every room gets the same window, as set by --window-ms.
class FixedWindow final : public WindowPolicy {
 public:
  explicit FixedWindow(uint64_t window_us) : window_us_(window_us) {}
  uint64_t open_window_us(std::string_view, uint64_t) override { return window_us_; }
  void observe(const FlushStats&, std::span<const RoomFlush>) override {}

 private:
  uint64_t window_us_;
};

}  // namespace tg::batcher
