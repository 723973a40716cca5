// window_schedule.cpp -- integer arithmetic of the window timeline.
#include "bots/floor/window_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace tg::fanout {

size_t WindowSchedule::add(double per_s, double phase, int64_t start_ns) {
  Room r;
  if (per_s > 0) {
    // Whole nanoseconds: the rounding drifts by under 1 ns a window.
    r.period_ns = std::max<int64_t>(1, std::llround(1e9 / per_s));
    r.first_ns = start_ns + std::llround(std::clamp(phase, 0.0, 1.0) * r.period_ns);
  }
  rooms_.push_back(r);
  return rooms_.size() - 1;
}

uint32_t WindowSchedule::take(size_t room, int64_t now_ns) {
  Room& r = rooms_[room];
  if (r.period_ns == 0 || now_ns < due_ns(r, r.next)) return 0;
  const auto newest = static_cast<uint64_t>((now_ns - r.first_ns) / r.period_ns);
  uint64_t due = newest + 1 - r.next;
  r.next = newest + 1;
  if (due > kMaxCatchUp) {
    late_ += due - kMaxCatchUp;
    due = kMaxCatchUp;
  }
  return static_cast<uint32_t>(due);
}

int64_t WindowSchedule::next_due_ns() const {
  int64_t next = kNever;
  for (const Room& r : rooms_) {
    if (r.period_ns != 0) next = std::min(next, due_ns(r, r.next));
  }
  return next;
}

}  // namespace tg::fanout
