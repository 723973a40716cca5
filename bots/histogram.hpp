// histogram.hpp -- a log-bucketed histogram of non-negative integers (latencies in µs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tg::bots {

// Records values into buckets whose width grows with the value (HdrHistogram's idea):
// values below 2^kSubBits are exact, larger ones land in one of 2^kSubBits buckets per
// power of two, so a reported percentile is within 1/2^kSubBits (~3.1%) of the truth.
// Not thread-safe: one histogram per thread, merged by the owner.
class Histogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr size_t kSubBuckets = size_t{1} << kSubBits;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSubBuckets;

  Histogram();

  // Adds one value. Never fails; O(1).
  void record(uint64_t value);
  // Adds every value recorded in `other`, as if each had been recorded here.
  void merge(const Histogram& other);
  // Forgets every value.
  void reset();

  uint64_t count() const { return count_; }
  // Exact smallest/largest value recorded; 0 when empty.
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  // Exact arithmetic mean; 0 when empty.
  double mean() const;
  // The value at percentile `p` (0..100): the highest value of the bucket holding the
  // ceil(p% * count)-th smallest value, clamped to [min(), max()]. 0 when empty.
  uint64_t percentile(double p) const;

  // Bucket arithmetic, public for tests.
  static size_t bucket_of(uint64_t value);
  static uint64_t bucket_lowest(size_t bucket);
  static uint64_t bucket_highest(size_t bucket);

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace tg::bots
