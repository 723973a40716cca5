// seq_tracker_test.cpp -- hole, gap and order accounting of SeqTracker.
#include "bots/seq_tracker.hpp"

#include <gtest/gtest.h>

namespace tg::bots {
namespace {

TEST(SeqTracker, ConsecutiveBatchesAreClean) {
  SeqTracker t;
  t.start(100);
  t.on_batch(101, 105);
  t.on_batch(106, 106);
  t.on_batch(107, 200);
  EXPECT_EQ(t.next(), 201u);
  EXPECT_EQ(t.holes(), 0u);
  EXPECT_EQ(t.order_errors(), 0u);
  EXPECT_EQ(t.announced(), 0u);
}

TEST(SeqTracker, UnannouncedHoleIsCounted) {
  SeqTracker t;
  t.start(0);
  t.on_batch(1, 3);
  t.on_batch(7, 8);  // 4..6 missing
  EXPECT_EQ(t.holes(), 1u);
  EXPECT_EQ(t.hole_msgs(), 3u);
  EXPECT_EQ(t.next(), 9u);
}

TEST(SeqTracker, HoleAtTheStartAfterHelloIsCounted) {
  SeqTracker t;
  t.start(10);
  t.on_batch(12, 12);
  EXPECT_EQ(t.hole_msgs(), 1u);
}

TEST(SeqTracker, AnnouncedGapIsNotAHole) {
  SeqTracker t;
  t.start(0);
  t.on_batch(1, 10);
  t.on_gap(11, 50);
  t.on_batch(51, 52);
  EXPECT_EQ(t.holes(), 0u);
  EXPECT_EQ(t.announced(), 40u);
  EXPECT_EQ(t.next(), 53u);
}

TEST(SeqTracker, GapStartingLateLeavesAHole) {
  SeqTracker t;
  t.start(0);
  t.on_batch(1, 10);
  t.on_gap(15, 20);  // 11..14 neither received nor announced
  EXPECT_EQ(t.holes(), 1u);
  EXPECT_EQ(t.hole_msgs(), 4u);
  EXPECT_EQ(t.announced(), 6u);
}

TEST(SeqTracker, GapOverlappingReceivedCountsOnlyTheNew) {
  SeqTracker t;
  t.start(0);
  t.on_batch(1, 10);
  t.on_gap(8, 12);
  EXPECT_EQ(t.announced(), 2u);
  EXPECT_EQ(t.order_errors(), 0u);
  EXPECT_EQ(t.next(), 13u);
}

TEST(SeqTracker, DuplicateAndBackwardsAreOrderErrors) {
  SeqTracker t;
  t.start(0);
  t.on_batch(1, 10);
  t.on_batch(5, 6);   // duplicate
  t.on_batch(9, 12);  // overlap, advances
  t.on_gap(3, 4);     // announces the past
  EXPECT_EQ(t.order_errors(), 3u);
  EXPECT_EQ(t.next(), 13u);
  EXPECT_EQ(t.holes(), 0u);
}

TEST(SeqTracker, BatchWithoutHelloStartsTheStream) {
  SeqTracker t;
  t.on_batch(40, 41);
  EXPECT_TRUE(t.started());
  EXPECT_EQ(t.holes(), 0u);
  EXPECT_EQ(t.next(), 42u);
}

}  // namespace
}  // namespace tg::bots
