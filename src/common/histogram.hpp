// histogram.hpp -- Histogram: a fixed-bucket histogram written by one thread (a Shard or
// the Batcher) and read by any (metrics scrapes), without a lock or a locked instruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/counter.hpp"

namespace tg {

class Histogram {
 public:
  // What a reader sees: per-bucket counts (not cumulative; the last one is the overflow
  // bucket above every bound), their total and the sum of observed values.
  struct Snapshot {
    std::vector<uint64_t> bounds;  // upper bounds, inclusive, ascending
    std::vector<uint64_t> counts;  // bounds.size() + 1 entries
    uint64_t count = 0;            // sum of counts
    uint64_t sum = 0;

    // Adds `other` (same bounds) into this one, e.g. to total every Shard's histogram.
    void merge(const Snapshot& other);
  };

  // `bounds`: bucket upper bounds (inclusive), strictly ascending, at least one.
  explicit Histogram(std::vector<uint64_t> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Owning thread only: counts `v` in the first bucket whose bound is >= v.
  void observe(uint64_t v) {
    counts_[bucket_of(v)].add();
    sum_.add(v);
  }
  // Any thread. Buckets are read one by one, so a snapshot racing with observe() may miss
  // the newest sample in one bucket or in the sum; `count` always equals the buckets'.
  Snapshot snapshot() const;
  const std::vector<uint64_t>& bounds() const { return bounds_; }

  // `n` bounds start, start*factor, start*factor^2, ... (rounded, strictly ascending).
  static std::vector<uint64_t> exponential(uint64_t start, double factor, size_t n);

 private:
  size_t bucket_of(uint64_t v) const;

  std::vector<uint64_t> bounds_;
  std::unique_ptr<Counter[]> counts_;  // bounds_.size() + 1
  Counter sum_;
};

}  // namespace tg
