// window_schedule.cpp -- integer arithmetic of the window and write timelines.
#include "bots/floor/window_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace tg::fanout {
namespace {

// Whole nanoseconds: the rounding drifts by under 1 ns a period.
int64_t period_of(double per_s) {
  return std::max<int64_t>(1, std::llround(1e9 / per_s));
}

}  // namespace

uint64_t WindowSchedule::Ticks::pass(int64_t now_ns) {
  if (period_ns == 0 || now_ns < next_ns()) return 0;
  const auto newest = static_cast<uint64_t>((now_ns - first_ns) / period_ns);
  const uint64_t due = newest + 1 - next;
  next = newest + 1;
  return due;
}

size_t WindowSchedule::add(double per_s, double phase, int64_t start_ns, double writes_per_s) {
  Room r;
  if (per_s > 0) {
    phase = std::clamp(phase, 0.0, 1.0);
    r.windows.period_ns = period_of(per_s);
    r.windows.first_ns = start_ns + std::llround(phase * r.windows.period_ns);
    if (writes_per_s > 0 && writes_per_s < per_s) {
      r.writes.period_ns = period_of(writes_per_s);
      r.writes.first_ns = start_ns + std::llround(phase * r.writes.period_ns);
    }
  }
  rooms_.push_back(r);
  return rooms_.size() - 1;
}

int64_t WindowSchedule::next_ns(const Room& r) {
  if (r.windows.period_ns == 0) return kNever;
  if (r.writes.period_ns == 0) return r.windows.next_ns();
  return std::max(r.windows.next_ns(), r.writes.next_ns());
}

uint32_t WindowSchedule::take(size_t room, int64_t now_ns) {
  Room& r = rooms_[room];
  if (r.windows.period_ns == 0 || now_ns < next_ns(r)) return 0;
  r.writes.pass(now_ns);
  uint64_t due = r.windows.pass(now_ns);
  if (due > kMaxCatchUp) {
    late_ += due - kMaxCatchUp;
    due = kMaxCatchUp;
  }
  return static_cast<uint32_t>(due);
}

int64_t WindowSchedule::next_due_ns() const {
  int64_t next = kNever;
  for (const Room& r : rooms_) next = std::min(next, next_ns(r));
  return next;
}

}  // namespace tg::fanout
