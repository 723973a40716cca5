// window_controller.hpp -- WindowController: the adaptive flush window, one per room.
// Pure: no I/O and no clock of its own; it is told what happened and answers with windows.
//
// Model (docs/ADAPTIVE.md). Flushing a room costs C = members x c loop-seconds, c the
// measured loop time of fan-out per client write (time the Shards spend delivering
// batches and completing writes, divided by the writes: connects, HTTP, pings and bad
// traffic are not in it). With the room's R events per second and a window w, it
// flushes R / (1 + R w) times a second, costing CPU(w) = C R / (1 + R w), and the
// window adds up to w of latency. The window minimising CPU(w) + lambda w / 2 is
//     w = sqrt(2 C / lambda) - 1 / R        (the square-root law of batching),
// lambda being what a second of latency is worth (--latency-weight, in % of a core per
// ms). A quiet room, or a cheap one, gets 0: its events go out on the next loop turn.
// While the loops are below --target-cpu the window is also capped at
// --latency-target-ms. When the busiest loop is above the target and fan-out is most
// of its work, a price factor (< 1) makes latency cheaper for every room, widening the
// windows of the rooms whose fan-out costs most, up to --window-max-ms; it returns to 1
// as the loops recover. Rooms idle for a while are forgotten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "batcher/window_policy.hpp"

namespace tg::batcher {

class WindowController final : public WindowPolicy {
 public:
  using Options = WindowOptions;
  explicit WindowController(Options options);

  uint64_t open_window_us(std::string_view room, uint64_t now_ns) override;
  void observe(const FlushStats& stats, std::span<const RoomFlush> rooms) override;
  void reconfigure(const WindowOptions& options) override { opts_ = options; }
  void forget(std::string_view room) override;

  // The model's current estimates (for tests, logs and docs).
  double cost_per_write_s() const { return cost_per_write_; }
  double price() const { return price_; }  // 1 while CPU is plentiful, < 1 under pressure
  size_t rooms_tracked() const { return rooms_.size(); }
  double room_rate(std::string_view room) const;  // events per second, 0 if unknown

 private:
  struct Room {
    double rate = 0;             // EWMA of events per second, from its flushes
    double online = 0;           // members at its last flush
    uint64_t last_event_ns = 0;  // the event that opened its last window
    uint64_t last_flush_ns = 0;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  double window_s(const Room& r, double rate) const;
  void update_price(const FlushStats& s, double dt);
  void forget_idle(uint64_t now_ns);

  Options opts_;
  uint64_t last_ns_ = 0;       // time of the previous flush
  uint64_t swept_ns_ = 0;      // time of the last sweep of idle rooms
  double cost_per_write_ = 0;  // EWMA, loop-seconds of fan-out per client write
  double price_ = 1;           // multiplies lambda: < 1 when CPU is scarce
  std::unordered_map<std::string, Room, Hash, std::equal_to<>> rooms_;
};

}  // namespace tg::batcher
