// counter.hpp -- Counter and Gauge: values written by one thread (a Shard or the
// Batcher) and read by others (metrics scrapes, the window controller) without a lock
// and without a locked instruction on the hot path.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

namespace tg {

// Only the owning thread may call add(); any thread may call get(). A relaxed load and
// store (not fetch_add) compile to plain moves: cheap, and still free of data races.
class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// A value set by one thread and read by any.
template <typename T>
class Gauge {
 public:
  void set(T v) { v_.store(v, std::memory_order_relaxed); }
  T get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<T> v_{};
};

// The largest value seen since a reader last took it: the owner offers samples, a reader
// takes (and resets) the maximum. A sample racing with take() may be lost; that is fine
// for what it measures (a peak over an interval).
class PeakGauge {
 public:
  void offer(uint64_t v) {
    if (v > v_.load(std::memory_order_relaxed)) v_.store(v, std::memory_order_relaxed);
  }
  uint64_t take() { return v_.exchange(0, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// The plain type a counter of type `C` reads as (uint64_t, int64_t, double).
template <typename C>
using ValueOf = decltype(std::declval<const C&>().get());

}  // namespace tg

// Column macros for counter tables (metrics/shard_counters.hpp,
// batcher/batcher_counters.hpp), whose rows start X(field, type, ...): the counter
// itself, the plain value a snapshot holds, and reading one into the other.
#define TG_COUNTER_FIELD(field, type, ...) type field;
#define TG_VALUE_FIELD(field, type, ...) ::tg::ValueOf<type> field{};
#define TG_READ_VALUE(field, type, ...) snapshot.field = counters.field.get();
