// histogram_test.cpp -- bucket arithmetic, percentiles and merging of Histogram.
#include "bots/histogram.hpp"

#include <gtest/gtest.h>

#include <random>

namespace tg::bots {
namespace {

TEST(Histogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < Histogram::kSubBuckets; ++v) h.record(v);
  EXPECT_EQ(h.percentile(50), 15u);  // rank 16 of 0..31
  EXPECT_EQ(h.percentile(100), 31u);
  EXPECT_EQ(h.percentile(0), 0u);
}

TEST(Histogram, BucketsTileTheRangeWithoutGaps) {
  for (size_t b = 0; b + 1 < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::bucket_highest(b) + 1, Histogram::bucket_lowest(b + 1)) << b;
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_lowest(b)), b);
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_highest(b)), b);
  }
  EXPECT_EQ(Histogram::bucket_of(~uint64_t{0}), Histogram::kBuckets - 1);
}

TEST(Histogram, RelativeErrorIsBounded) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    const size_t b = Histogram::bucket_of(v);
    const double width =
        static_cast<double>(Histogram::bucket_highest(b) - Histogram::bucket_lowest(b));
    ASSERT_LE(width, static_cast<double>(v) / Histogram::kSubBuckets + 1.0) << v;
  }
}

TEST(Histogram, PercentilesOfAUniformSpread) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; ++v) h.record(v);
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 100000u);
  EXPECT_DOUBLE_EQ(h.mean(), 50000.5);
  const auto near = [](uint64_t got, double want) {
    return std::abs(static_cast<double>(got) - want) <= want / Histogram::kSubBuckets + 1;
  };
  EXPECT_TRUE(near(h.percentile(50), 50000)) << h.percentile(50);
  EXPECT_TRUE(near(h.percentile(99), 99000)) << h.percentile(99);
  EXPECT_TRUE(near(h.percentile(99.9), 99900)) << h.percentile(99.9);
  EXPECT_EQ(h.percentile(100), 100000u);
  EXPECT_GE(h.percentile(50), 50000u);  // reports the bucket's highest value, never less
}

TEST(Histogram, PercentileIsClampedToObservedMax) {
  Histogram h;
  h.record(1000);
  EXPECT_EQ(h.percentile(50), 1000u);
  EXPECT_EQ(h.percentile(99.9), 1000u);
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  Histogram a, b, all;
  for (uint64_t v = 0; v < 5000; v += 3) {
    a.record(v);
    all.record(v);
  }
  for (uint64_t v = 7; v < 900000; v += 911) {
    b.record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9}) EXPECT_EQ(a.percentile(p), all.percentile(p)) << p;
}

TEST(Histogram, MergeIntoEmptyKeepsMin) {
  Histogram a, b;
  b.record(500);
  a.merge(b);
  EXPECT_EQ(a.min(), 500u);
  a.reset();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.percentile(50), 0u);
}

}  // namespace
}  // namespace tg::bots
