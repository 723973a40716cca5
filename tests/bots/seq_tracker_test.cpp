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

TEST(SeqTracker, OnBatchReturnsTheFirstFreshSeq) {
  SeqTracker t;
  t.start(0);
  EXPECT_EQ(t.on_batch(1, 10), 1u);
  EXPECT_EQ(t.on_batch(8, 12), 11u);  // 8..10 again
  EXPECT_EQ(t.on_batch(5, 6), 7u);    // all old: last + 1
  EXPECT_EQ(t.duplicates(), 3u + 2u);
  EXPECT_EQ(t.order_errors(), 2u);
  EXPECT_EQ(t.next(), 13u);
}

TEST(SeqTracker, ResumeWithoutOverlapContinuesSeamlessly) {
  SeqTracker t;
  t.start(100, 7);
  t.on_batch(101, 110);
  EXPECT_EQ(t.resume_since(), 110u);
  EXPECT_EQ(t.resume(110, 7), SeqTracker::Resume::kResumed);
  EXPECT_EQ(t.on_batch(111, 130), 111u);  // the replay, then live
  EXPECT_EQ(t.holes(), 0u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.epoch_resets(), 0u);
  EXPECT_EQ(t.next(), 131u);
}

TEST(SeqTracker, ResumeReplayingWhatWasSeenCountsDuplicates) {
  SeqTracker t;
  t.start(0, 7);
  t.on_batch(1, 20);
  // A server whose room is behind what the client saw starts at 15: 16..20 come again.
  EXPECT_EQ(t.resume(15, 7), SeqTracker::Resume::kResumed);
  EXPECT_EQ(t.on_batch(16, 25), 21u);
  EXPECT_EQ(t.duplicates(), 5u);
  EXPECT_EQ(t.order_errors(), 1u);
  EXPECT_EQ(t.holes(), 0u);
  EXPECT_EQ(t.next(), 26u);
}

TEST(SeqTracker, ResumeStartingAfterSinceIsAnUnannouncedHole) {
  SeqTracker t;
  t.start(0, 7);
  t.on_batch(1, 20);
  EXPECT_EQ(t.resume(23, 7), SeqTracker::Resume::kResumed);  // 21..23 skipped, no gap
  t.on_batch(24, 24);
  EXPECT_EQ(t.holes(), 1u);
  EXPECT_EQ(t.hole_msgs(), 3u);
  EXPECT_EQ(t.announced(), 0u);
}

TEST(SeqTracker, ResumeHoleInTheReplayIsUnannounced) {
  SeqTracker t;
  t.start(0, 7);
  t.on_batch(1, 20);
  t.resume(20, 7);
  t.on_batch(21, 24);
  t.on_batch(26, 30);  // the replay skipped 25
  EXPECT_EQ(t.holes(), 1u);
  EXPECT_EQ(t.hole_msgs(), 1u);
}

TEST(SeqTracker, ResumeBeyondTheLogIsAnnouncedByAGap) {
  SeqTracker t;
  t.start(0, 7);
  t.on_batch(1, 20);
  t.resume(20, 7);
  t.on_gap(21, 40);  // the log no longer holds them
  t.on_batch(41, 45);
  EXPECT_EQ(t.announced(), 20u);
  EXPECT_EQ(t.holes(), 0u);
  EXPECT_EQ(t.next(), 46u);
}

TEST(SeqTracker, ResumeIntoAnotherEpochStartsOverWithoutLoss) {
  SeqTracker t;
  t.start(0, 7);
  t.on_batch(1, 500);
  // The server started the client live in epoch 8, whose room is at seq 3.
  EXPECT_EQ(t.resume(3, 8), SeqTracker::Resume::kEpochReset);
  EXPECT_EQ(t.epoch(), 8u);
  EXPECT_EQ(t.on_batch(4, 6), 4u);
  EXPECT_EQ(t.epoch_resets(), 1u);
  EXPECT_EQ(t.holes(), 0u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.order_errors(), 0u);
}

TEST(SeqTracker, UnknownEpochIsLearntNotReset) {
  SeqTracker t;
  t.start(10);  // a server that sends no epoch
  EXPECT_EQ(t.resume(10, 0), SeqTracker::Resume::kResumed);
  EXPECT_EQ(t.resume(10, 9), SeqTracker::Resume::kResumed);
  EXPECT_EQ(t.epoch(), 9u);
  EXPECT_EQ(t.epoch_resets(), 0u);
}

TEST(SeqTracker, JoinedWithANewEpochRestartsAfterTheAnnouncedGap) {
  SeqTracker t;
  t.start(0, 7);
  t.on_batch(1, 10);
  // The backplane lost the room's history: gap for what the client will never get,
  // then joined in the new epoch, whose seqs restart after 2.
  t.on_gap(11, 15);
  EXPECT_TRUE(t.on_joined(2, 8));
  EXPECT_EQ(t.on_batch(3, 5), 3u);
  EXPECT_EQ(t.announced(), 5u);
  EXPECT_EQ(t.epoch_resets(), 1u);
  EXPECT_EQ(t.holes(), 0u);
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.order_errors(), 0u);
  EXPECT_EQ(t.resume_since(), 5u);
  EXPECT_EQ(t.epoch(), 8u);
}

TEST(SeqTracker, JoinedInTheSameEpochChangesNothing) {
  SeqTracker t;
  t.start(0, 7);
  t.on_batch(1, 10);
  EXPECT_FALSE(t.on_joined(10, 7));
  EXPECT_FALSE(t.on_joined(10, 0));  // no epoch: nothing to compare
  t.on_batch(11, 11);
  EXPECT_EQ(t.next(), 12u);
  EXPECT_EQ(t.epoch_resets(), 0u);
  EXPECT_EQ(t.holes(), 0u);
}

}  // namespace
}  // namespace tg::bots

namespace tg::bots {

// tidegate.v2.zstd starts a stream at a keyframe: what comes again before the position
// is dropped silently, once; later duplicates still count.
TEST(SeqTracker, AV2ReplayBeforeThePositionIsNotADuplicate) {
  SeqTracker t;
  t.start(10);
  t.allow_replay();
  EXPECT_EQ(t.on_batch(5, 7), 8u);    // all old: dropped
  EXPECT_EQ(t.on_batch(8, 12), 11u);  // reaches past the position: 11 and 12 are new
  EXPECT_EQ(t.duplicates(), 0u);
  EXPECT_EQ(t.order_errors(), 0u);
  EXPECT_EQ(t.on_batch(12, 12), 13u);  // the replay is over: a real duplicate
  EXPECT_EQ(t.duplicates(), 1u);
}

}  // namespace tg::bots
