// histogram.cpp -- Histogram's bucket search, snapshots and bound helpers.
#include "common/histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace tg {

Histogram::Histogram(std::vector<uint64_t> bounds)
    : bounds_(std::move(bounds)), counts_(new Counter[bounds_.size() + 1]) {
  if (bounds_.empty() || !std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::invalid_argument("histogram bounds must be strictly ascending and non-empty");
}

size_t Histogram::bucket_of(uint64_t v) const {
  // Few buckets (~20): a binary search is a handful of compares and no allocation.
  return static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  s.counts.resize(bounds_.size() + 1);
  for (size_t i = 0; i < s.counts.size(); ++i) {
    s.counts[i] = counts_[i].get();
    s.count += s.counts[i];
  }
  s.sum = sum_.get();
  return s;
}

void Histogram::Snapshot::merge(const Snapshot& other) {
  if (counts.empty()) {
    *this = other;
    return;
  }
  for (size_t i = 0; i < counts.size() && i < other.counts.size(); ++i)
    counts[i] += other.counts[i];
  count += other.count;
  sum += other.sum;
}

std::vector<uint64_t> Histogram::exponential(uint64_t start, double factor, size_t n) {
  if (start == 0 || factor <= 1.0) throw std::invalid_argument("histogram: start > 0, factor > 1");
  std::vector<uint64_t> out;
  double v = static_cast<double>(start);
  while (out.size() < n) {
    auto b = static_cast<uint64_t>(std::llround(v));
    if (out.empty() || b > out.back()) out.push_back(b);
    v *= factor;
  }
  return out;
}

}  // namespace tg
