// window_schedule.hpp -- when each room's windows fall due in tidegate-floor. No I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tg::fanout {

// Room r's k-th window (k = 0, 1, ...) is due at start + (phase + k) × period, on a
// timeline of nanoseconds the caller supplies. take() hands out the windows due by
// then, each once; a room that fell more than kMaxCatchUp windows behind (the loop was
// late) gets kMaxCatchUp at once and the older ones are dropped and counted in late().
class WindowSchedule {
 public:
  static constexpr uint32_t kMaxCatchUp = 8;
  static constexpr int64_t kNever = INT64_MAX;

  // Adds a room with `per_s` windows a second (0: none ever) whose first window is due
  // `phase` (0..1) of a period after `start_ns`. Returns its index (0, 1, ...).
  size_t add(double per_s, double phase, int64_t start_ns);

  // The windows of room `room` due at `now_ns` and not taken before (at most kMaxCatchUp).
  uint32_t take(size_t room, int64_t now_ns);

  // When the earliest window not taken yet is due (kNever when no room has windows).
  int64_t next_due_ns() const;

  uint64_t late() const { return late_; }
  size_t size() const { return rooms_.size(); }

 private:
  struct Room {
    int64_t first_ns = 0;
    int64_t period_ns = 0;  // 0: no windows
    uint64_t next = 0;      // index of the first window not taken
  };

  static int64_t due_ns(const Room& r, uint64_t k) {
    return r.first_ns + static_cast<int64_t>(k) * r.period_ns;
  }

  std::vector<Room> rooms_;
  uint64_t late_ = 0;
};

}  // namespace tg::fanout
