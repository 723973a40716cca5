// memory.cpp -- the released-bytes tally and the rate-limited malloc_trim.
#include "common/memory.hpp"

#include <malloc.h>

#include <atomic>
#include <utility>

#include "common/clock.hpp"

namespace tg::memory {

namespace {
std::atomic<uint64_t> g_released{0};
std::atomic<uint64_t> g_trims{0};
std::atomic<uint64_t> g_trim_ns{0};
}  // namespace

void note_released(size_t bytes) {
  g_released.fetch_add(bytes, std::memory_order_relaxed);
}

uint64_t released_since_trim() {
  return g_released.load(std::memory_order_relaxed);
}

uint64_t trims_total() {
  return g_trims.load(std::memory_order_relaxed);
}

uint64_t trim_ns_total() {
  return g_trim_ns.load(std::memory_order_relaxed);
}

Trimmer::Trimmer(Policy policy, std::function<void()> trim)
    : policy_(policy),
      trim_(trim ? std::move(trim) : std::function<void()>([] { malloc_trim(0); })) {}

bool Trimmer::maybe_trim(uint64_t now_ns) {
  if (g_released.load(std::memory_order_relaxed) < policy_.min_released) return false;
  if (trimmed_ && now_ns - last_ns_ < policy_.min_interval_ns) return false;
  // Taken, not reset: what is noted from here on counts towards the next trim.
  g_released.exchange(0, std::memory_order_relaxed);
  uint64_t start = mono_ns();
  trim_();
  g_trim_ns.fetch_add(mono_ns() - start, std::memory_order_relaxed);
  g_trims.fetch_add(1, std::memory_order_relaxed);
  last_ns_ = now_ns;
  trimmed_ = true;
  return true;
}

}  // namespace tg::memory
