// window_schedule.hpp -- when each room's windows fall due and when its members are written, in
// tidegate-floor. No I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tg::fanout {

// Room r's k-th window (k = 0, 1, ...) is due at start + (phase + k) × period, on a
// timeline of nanoseconds the caller supplies. take() hands out the windows due by then,
// each once: the caller writes them to each member in one write, as the gateway writes
// every batch a client is behind on in one writev.
//
// A room may also have a write period (writes_per_s): then its windows are handed out
// only at its write ticks, start + (phase + j) × write period, so that every member gets
// at most that many writes a second carrying all windows due since the last one. That is
// how the gateway's writes coalesce batches when they come faster than a write completes.
//
// A room more than kMaxCatchUp windows behind (the loop was late) gets kMaxCatchUp at
// once; the older ones are dropped and counted in late().
class WindowSchedule {
 public:
  static constexpr uint32_t kMaxCatchUp = 64;
  static constexpr int64_t kNever = INT64_MAX;

  // Adds a room with `per_s` windows a second (0: none ever) whose first window is due
  // `phase` (0..1) of a period after `start_ns`, written at most `writes_per_s` times a
  // second (0, or not below `per_s`: every window as it falls due). Returns its index.
  size_t add(double per_s, double phase, int64_t start_ns, double writes_per_s = 0);

  // The windows of room `room` to write at `now_ns` (at most kMaxCatchUp): those due and
  // not taken before, when a write tick is due too; else 0.
  uint32_t take(size_t room, int64_t now_ns);

  // When take() may next return more than 0 (kNever when no room has windows).
  int64_t next_due_ns() const;

  uint64_t late() const { return late_; }
  size_t size() const { return rooms_.size(); }

 private:
  // A grid of instants first_ns + k × period_ns and the index of the next one not passed.
  struct Ticks {
    int64_t first_ns = 0;
    int64_t period_ns = 0;  // 0: none
    uint64_t next = 0;

    int64_t next_ns() const { return first_ns + static_cast<int64_t>(next) * period_ns; }
    // How many ticks are due at `now_ns` and not passed yet; passes them.
    uint64_t pass(int64_t now_ns);
  };
  struct Room {
    Ticks windows;
    Ticks writes;  // period 0: a write at every window
  };

  static int64_t next_ns(const Room& r);

  std::vector<Room> rooms_;
  uint64_t late_ = 0;
};

}  // namespace tg::fanout
