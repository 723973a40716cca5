// histogram_test.cpp -- Histogram (src/common/histogram.cpp): buckets, snapshots, merging.
#include "common/histogram.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace tg {
namespace {

TEST(Histogram, CountsEachValueInTheFirstBucketWhoseBoundIsNotBelowIt) {
  Histogram h({10, 100, 1000});
  for (uint64_t v : {0u, 10u, 11u, 100u, 999u, 1000u, 1001u, 5000u}) h.observe(v);
  Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.bounds, (std::vector<uint64_t>{10, 100, 1000}));
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{2, 2, 2, 2}));  // last: above every bound
  EXPECT_EQ(s.count, 8u);
  EXPECT_EQ(s.sum, 0u + 10 + 11 + 100 + 999 + 1000 + 1001 + 5000);
}

TEST(Histogram, StartsEmpty) {
  Histogram::Snapshot s = Histogram({1, 2}).snapshot();
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.sum, 0u);
  EXPECT_EQ(s.counts, (std::vector<uint64_t>{0, 0, 0}));
}

TEST(Histogram, RejectsBoundsThatAreNotStrictlyAscending) {
  EXPECT_THROW(Histogram({}), std::invalid_argument);
  EXPECT_THROW(Histogram({5, 5}), std::invalid_argument);
  EXPECT_THROW(Histogram({5, 4}), std::invalid_argument);
}

TEST(Histogram, ExponentialBoundsAreStrictlyAscending) {
  EXPECT_EQ(Histogram::exponential(1, 2, 5), (std::vector<uint64_t>{1, 2, 4, 8, 16}));
  auto b = Histogram::exponential(1, 1.1, 10);  // rounding must not repeat a bound
  ASSERT_EQ(b.size(), 10u);
  for (size_t i = 1; i < b.size(); ++i) EXPECT_LT(b[i - 1], b[i]);
  EXPECT_THROW(Histogram::exponential(1, 1.0, 3), std::invalid_argument);
  EXPECT_THROW(Histogram::exponential(0, 2, 3), std::invalid_argument);
}

TEST(Histogram, MergeAddsSnapshotsOfTheSameBounds) {
  Histogram a({10, 20}), b({10, 20});
  a.observe(5);
  b.observe(15);
  b.observe(25);
  Histogram::Snapshot total;  // empty: takes the first snapshot as is
  total.merge(a.snapshot());
  total.merge(b.snapshot());
  EXPECT_EQ(total.counts, (std::vector<uint64_t>{1, 1, 1}));
  EXPECT_EQ(total.count, 3u);
  EXPECT_EQ(total.sum, 45u);
}

TEST(Histogram, ReaderOnAnotherThreadSeesConsistentCounts) {
  // One writer, one reader, as with a Shard and a metrics scrape: the reader's count is
  // always the sum of its buckets and never goes down (run under TSan for data races).
  Histogram h(Histogram::exponential(1, 2, 16));
  constexpr uint64_t kN = 200000;
  std::thread writer([&] {
    for (uint64_t i = 0; i < kN; ++i) h.observe(i % 70000);
  });
  uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    Histogram::Snapshot s = h.snapshot();
    uint64_t sum = 0;
    for (uint64_t c : s.counts) sum += c;
    ASSERT_EQ(sum, s.count);
    ASSERT_GE(s.count, last);
    last = s.count;
  }
  writer.join();
  EXPECT_EQ(h.snapshot().count, kN);
}

}  // namespace
}  // namespace tg
