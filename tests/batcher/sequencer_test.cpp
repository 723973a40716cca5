// Tests for LocalSequencer: per-room batch and message seqs, member counts, and the
// high-water mark a new or re-created room starts above.
#include "batcher/sequencer.hpp"

#include <gtest/gtest.h>

namespace tg::batcher {

TEST(LocalSequencer, SeqsAreConsecutivePerRoom) {
  LocalSequencer s;
  auto a1 = s.assign("a", 3, 0);
  auto b1 = s.assign("b", 1, 0);
  auto a2 = s.assign("a", 2, 0);
  EXPECT_EQ(a1.batch_seq, 1u);  // the first room of a process starts at 1
  EXPECT_EQ(a1.first_msg_seq, 1u);
  EXPECT_EQ(a2.batch_seq, 2u);
  EXPECT_EQ(a2.first_msg_seq, 4u);
  // A room that appears later starts above every seq issued so far.
  EXPECT_EQ(b1.batch_seq, 2u);
  EXPECT_EQ(b1.first_msg_seq, 4u);
  auto b2 = s.assign("b", 1, 0);
  EXPECT_EQ(b2.batch_seq, 3u);
  EXPECT_EQ(b2.first_msg_seq, 5u);
}

TEST(LocalSequencer, OnlineFollowsJoinsAndLeavesAndNeverGoesNegative) {
  LocalSequencer s;
  EXPECT_EQ(s.assign("a", 2, 2).online, 2u);
  EXPECT_EQ(s.assign("a", 1, -1).online, 1u);
  EXPECT_EQ(s.assign("a", 3, -3).online, 0u);
}

TEST(LocalSequencer, AForgottenRoomComesBackAboveEverySeqEverIssued) {
  LocalSequencer s;
  s.assign("a", 5, 1);                               // batch 1, msgs 1-5
  s.assign("b", 100, 0);                             // batch 2, msgs 6-105: the high-water mark
  EXPECT_EQ(s.assign("a", 1, 0).first_msg_seq, 6u);  // a's own seqs go on: batch 2, msg 6
  s.forget("a");
  EXPECT_EQ(s.rooms(), 1u);
  auto again = s.assign("a", 1, 1);
  EXPECT_EQ(again.batch_seq, 3u);  // above every batch seq issued (2), not only a's
  EXPECT_EQ(again.first_msg_seq, 106u);
  EXPECT_EQ(again.online, 1u);  // members start over with the room
  EXPECT_EQ(s.high_water().batch, 3u);
  EXPECT_EQ(s.high_water().msg, 106u);
}

TEST(LocalSequencer, OpenSetsANewRoomsStartAndIsIgnoredForAKnownRoom) {
  LocalSequencer s;
  s.open("a", 10, 500);
  auto a = s.assign("a", 2, 0);
  EXPECT_EQ(a.batch_seq, 10u);
  EXPECT_EQ(a.first_msg_seq, 500u);
  s.open("a", 1, 1);  // known: no effect
  EXPECT_EQ(s.assign("a", 1, 0).first_msg_seq, 502u);
  EXPECT_EQ(s.high_water().msg, 502u);
}

}  // namespace tg::batcher
