// clock.hpp -- the one monotonic clock every thread stamps events with, so that times
// taken on different threads (a Shard's receive, the Batcher's build, a write's
// completion) can be subtracted. It is CLOCK_MONOTONIC, the clock uv_hrtime() reads on
// Linux, so durations from libuv (uv_metrics_idle_time) are in the same units.
#pragma once

#include <time.h>

#include <cstdint>

namespace tg {

inline uint64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

}  // namespace tg
