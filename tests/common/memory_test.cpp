// memory_test.cpp -- when the Trimmer gives freed heap back (src/common/memory.cpp).
#include "common/memory.hpp"

#include <gtest/gtest.h>

namespace tg::memory {
namespace {

constexpr uint64_t kSecond = 1000000000;

// The released-bytes tally is process-wide: start each case from zero.
void reset_tally() {
  Trimmer drain({0, 0}, [] {});
  drain.maybe_trim(0);
}

}  // namespace

TEST(Trimmer, TrimsOnlyAfterEnoughWasReleased) {
  reset_tally();
  int trims = 0;
  Trimmer t({1000, 5 * kSecond}, [&] { ++trims; });
  note_released(999);
  EXPECT_FALSE(t.maybe_trim(10 * kSecond));
  EXPECT_EQ(trims, 0);
  note_released(1);
  uint64_t before = trims_total();
  EXPECT_TRUE(t.maybe_trim(11 * kSecond));
  EXPECT_EQ(trims, 1);
  EXPECT_EQ(trims_total(), before + 1);
  EXPECT_EQ(released_since_trim(), 0u);  // taken by the trim
}

TEST(Trimmer, TrimsAtMostOncePerInterval) {
  reset_tally();
  int trims = 0;
  Trimmer t({100, 5 * kSecond}, [&] { ++trims; });
  note_released(100);
  EXPECT_TRUE(t.maybe_trim(100 * kSecond));
  note_released(1u << 20);
  EXPECT_FALSE(t.maybe_trim(104 * kSecond));   // 4 s after the last one
  EXPECT_EQ(released_since_trim(), 1u << 20);  // kept for the next one
  EXPECT_TRUE(t.maybe_trim(105 * kSecond));
  EXPECT_EQ(trims, 2);
}

TEST(Trimmer, TheRealTrimRuns) {
  reset_tally();
  Trimmer t({1, 0});  // malloc_trim(0) itself
  note_released(1);
  uint64_t before = trims_total();
  EXPECT_TRUE(t.maybe_trim(kSecond));
  EXPECT_EQ(trims_total(), before + 1);
}

}  // namespace tg::memory
