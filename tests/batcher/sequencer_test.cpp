// Tests for LocalSequencer: per-room batch and message seqs, member counts.
#include "batcher/sequencer.hpp"

#include <gtest/gtest.h>

namespace tg::batcher {

TEST(LocalSequencer, SeqsAreConsecutivePerRoom) {
  LocalSequencer s;
  auto a1 = s.assign("a", 3, 0);
  auto b1 = s.assign("b", 1, 0);
  auto a2 = s.assign("a", 2, 0);
  EXPECT_EQ(a1.batch_seq, 1u);
  EXPECT_EQ(a1.first_msg_seq, 1u);
  EXPECT_EQ(b1.batch_seq, 1u);
  EXPECT_EQ(b1.first_msg_seq, 1u);
  EXPECT_EQ(a2.batch_seq, 2u);
  EXPECT_EQ(a2.first_msg_seq, 4u);
}

TEST(LocalSequencer, OnlineFollowsJoinsAndLeavesAndNeverGoesNegative) {
  LocalSequencer s;
  EXPECT_EQ(s.assign("a", 2, 2).online, 2u);
  EXPECT_EQ(s.assign("a", 1, -1).online, 1u);
  EXPECT_EQ(s.assign("a", 3, -3).online, 0u);
}

}  // namespace tg::batcher
