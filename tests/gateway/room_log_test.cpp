// Tests for RoomLog: append, trimming (as the Batcher orders it), lookups by batch and
// message seq, an empty log's seqs, pins.
#include "gateway/room_log.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tg::gateway {
namespace {

using batcher::Batch;

// A batch of `msgs` messages whose zstd frame is `bytes` long.
Batch make_batch(uint64_t seq, uint64_t first_msg, uint64_t msgs, size_t bytes) {
  Batch b;
  b.room = "room";
  b.seq = seq;
  b.first_msg = first_msg;
  b.last_msg = first_msg + msgs - 1;
  b.zstd = pool::SharedFrame::copy_of(std::string(bytes, 'x'));
  return b;
}

}  // namespace

TEST(RoomLog, AppendKeepsSeqsAndBytes) {
  RoomLog log;
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(log.last_msg_seq(), 0u);
  log.append(make_batch(1, 1, 3, 100));
  log.append(make_batch(2, 4, 2, 100));
  EXPECT_EQ(log.first_seq(), 1u);
  EXPECT_EQ(log.next_seq(), 3u);
  EXPECT_EQ(log.last_msg_seq(), 5u);
  EXPECT_EQ(log.bytes(), 200u);
  ASSERT_NE(log.at(2), nullptr);
  EXPECT_EQ(log.at(2)->batch.first_msg, 4u);
  EXPECT_EQ(log.at(3), nullptr);
  EXPECT_EQ(log.at(0), nullptr);
}

TEST(RoomLog, TrimDropsTheOldestBatches) {
  RoomLog log;
  log.append(make_batch(1, 1, 1, 100));
  log.append(make_batch(2, 2, 1, 100));
  log.append(make_batch(3, 3, 1, 100));
  EXPECT_EQ(log.trim_to(2), 1u);
  EXPECT_EQ(log.first_seq(), 2u);
  EXPECT_EQ(log.at(1), nullptr);
  EXPECT_EQ(log.bytes(), 200u);
  EXPECT_TRUE(log.evicted(1));
  EXPECT_FALSE(log.evicted(2));
  EXPECT_FALSE(log.evicted(4));   // not yet built: not evicted either
  EXPECT_EQ(log.trim_to(2), 0u);  // already there
  EXPECT_EQ(log.first_held_msg(), 2u);
}

TEST(RoomLog, TrimmedToEmptyItStillKnowsItsSeqs) {
  RoomLog log;
  log.append(make_batch(1, 1, 2, 100));
  log.append(make_batch(2, 3, 2, 100));
  EXPECT_EQ(log.trim_to(3), 2u);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(log.bytes(), 0u);
  EXPECT_EQ(log.first_seq(), 3u);
  EXPECT_EQ(log.next_seq(), 3u);
  EXPECT_EQ(log.last_msg_seq(), 4u);
  EXPECT_EQ(log.first_held_msg(), 5u);
  EXPECT_TRUE(log.evicted(2));   // a cursor there fell off
  EXPECT_FALSE(log.evicted(3));  // a cursor there is up to date
  EXPECT_EQ(log.batch_after_msg(1), 3u);
  log.append(make_batch(3, 5, 1, 10));  // and goes on from there
  EXPECT_EQ(log.first_held_msg(), 5u);
}

TEST(RoomLog, StartsAtTheSeqsItIsGiven) {
  RoomLog log(7, 39);  // a room created above the seqs issued before it
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(log.last_msg_seq(), 39u);
  EXPECT_EQ(log.first_held_msg(), 40u);
  EXPECT_FALSE(log.evicted(7));
  log.append(make_batch(7, 40, 2, 10));
  EXPECT_EQ(log.first_seq(), 7u);
  EXPECT_EQ(log.next_seq(), 8u);
  EXPECT_EQ(log.origin_msg(), 40u);
  log.reset(20, 99);  // a newer incarnation
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(log.next_seq(), 20u);
  EXPECT_EQ(log.last_msg_seq(), 99u);
  EXPECT_EQ(log.origin_msg(), 100u);
  EXPECT_TRUE(log.evicted(8));
}

TEST(RoomLog, SinceZeroMeansFromTheStartOfTheRoomsLifeAnyOtherSinceIsKept) {
  RoomLog fresh;
  EXPECT_EQ(fresh.resume_after(0), 0u);
  RoomLog late(3, 41);                   // a room whose first message is 42
  EXPECT_EQ(late.resume_after(0), 41u);  // nothing before 42 was ever this room's
  EXPECT_EQ(late.resume_after(7), 7u);   // a seq from an earlier life: its gap is owed
  EXPECT_EQ(late.resume_after(50), 50u);
}

TEST(RoomLog, BatchAfterMsgFindsTheBatchHoldingTheNextMessage) {
  RoomLog log;
  log.append(make_batch(1, 1, 3, 10));  // msgs 1-3
  log.append(make_batch(2, 4, 3, 10));  // msgs 4-6
  log.append(make_batch(3, 7, 1, 10));  // msg 7
  EXPECT_EQ(log.batch_after_msg(0), 1u);
  EXPECT_EQ(log.batch_after_msg(2), 1u);  // msg 3 is in batch 1
  EXPECT_EQ(log.batch_after_msg(3), 2u);
  EXPECT_EQ(log.batch_after_msg(5), 2u);
  EXPECT_EQ(log.batch_after_msg(6), 3u);
  EXPECT_EQ(log.batch_after_msg(7), 4u);   // up to date
  EXPECT_EQ(log.batch_after_msg(99), 4u);  // ahead of the log: nothing to replay
}

TEST(RoomLog, PinnedEntryOutlivesEviction) {
  int64_t before = pool::SharedFrame::live_count();
  RoomLog log;
  log.append(make_batch(1, 1, 1, 100));
  {
    EntryPin pin(log.at(1));
    log.append(make_batch(2, 2, 1, 100));
    log.trim_to(2);  // evicts batch 1 while pinned
    EXPECT_EQ(log.at(1), nullptr);
    EXPECT_FALSE(pin.get()->in_log);
    EXPECT_EQ(pin.get()->batch.zstd.size(), 100u);  // still readable
    EXPECT_EQ(pool::SharedFrame::live_count(), before + 2);
  }
  EXPECT_EQ(pool::SharedFrame::live_count(), before + 1);  // freed with the pin
}

TEST(RoomLog, AttachedJsonCountsInItsBytes) {
  RoomLog log;
  log.append(make_batch(1, 1, 1, 100));
  log.attach_json(*log.at(1), pool::SharedFrame::copy_of(std::string(300, 'j')));
  EXPECT_EQ(log.bytes(), 400u);
  log.trim_to(2);
  EXPECT_EQ(log.bytes(), 0u);
}

TEST(RoomLog, OlderBatchesGoInFrontAndResetCanSetTheOrigin) {
  // Cluster mode: a replica opened at batch 5 (after message 20) gets batches 3 and 4
  // read back for a resuming client.
  RoomLog log;
  log.reset(5, 20, 1);
  EXPECT_EQ(log.origin_msg(), 1u);
  EXPECT_EQ(log.resume_after(0), 0u);  // since=0: from message 1 of the epoch
  log.append(make_batch(5, 21, 2, 10));
  log.prepend(make_batch(4, 18, 3, 10));
  log.prepend(make_batch(3, 15, 3, 10));
  EXPECT_EQ(log.first_seq(), 3u);
  EXPECT_EQ(log.next_seq(), 6u);
  EXPECT_EQ(log.first_held_msg(), 15u);
  EXPECT_EQ(log.last_msg_seq(), 22u);
  EXPECT_EQ(log.bytes(), 30u);
  EXPECT_EQ(log.batch_after_msg(16), 3u);
  EXPECT_EQ(log.batch_after_msg(18), 4u);

  RoomLog empty;
  empty.reset(9, 40, 1);
  empty.prepend(make_batch(8, 38, 3, 10));  // into a log with nothing held
  EXPECT_EQ(empty.first_seq(), 8u);
  EXPECT_EQ(empty.last_msg_seq(), 40u);
}

}  // namespace tg::gateway

namespace tg::gateway {

// tidegate.v2.zstd: the log indexes its keyframe batches; a v2 cursor starts at the
// latest one at or before its position, and none is found once they are all evicted.
TEST(RoomLog, FindsTheLatestKeyframeAtOrBeforeASeq) {
  RoomLog log;
  for (uint64_t s = 1; s <= 10; ++s) {
    Batch b = make_batch(s, s, 1, 10);
    b.keyframe = s == 1 || s == 4 || s == 8;
    log.append(std::move(b));
  }
  EXPECT_EQ(log.keyframe_at_or_before(1), 1u);
  EXPECT_EQ(log.keyframe_at_or_before(3), 1u);
  EXPECT_EQ(log.keyframe_at_or_before(4), 4u);
  EXPECT_EQ(log.keyframe_at_or_before(7), 4u);
  EXPECT_EQ(log.keyframe_at_or_before(11), 8u);  // a live joiner (next_seq)
  log.trim_to(4);
  EXPECT_EQ(log.keyframe_at_or_before(5), 4u);
  log.trim_to(5);
  EXPECT_EQ(log.keyframe_at_or_before(7), log.next_seq());  // keyframe 4 is gone
  EXPECT_EQ(log.keyframe_at_or_before(9), 8u);
  log.trim_to(9);
  EXPECT_EQ(log.keyframe_at_or_before(10), log.next_seq());
  log.reset(20, 30);
  Batch k = make_batch(20, 31, 1, 10);
  k.keyframe = true;
  log.append(std::move(k));
  EXPECT_EQ(log.keyframe_at_or_before(21), 20u);
}

TEST(RoomLog, DeflatedFramesAreCountedUntilEvicted) {
  RoomLog log;
  log.append(make_batch(1, 1, 1, 100));
  log.append(make_batch(2, 2, 1, 100));
  log.attach_deflated(*log.at(1), 15, pool::SharedFrame::copy_of(std::string(40, 'd')));
  log.attach_deflated(*log.at(1), 10, pool::SharedFrame::copy_of(std::string(30, 'd')));
  EXPECT_EQ(log.bytes(), 270u);
  EXPECT_EQ(log.at(1)->deflated[15 - ws::kMinServerWindowBits].size(), 40u);
  EXPECT_EQ(log.at(1)->deflated_bytes(), 70u);
  log.trim_to(2);
  EXPECT_EQ(log.bytes(), 100u);
  // A pinned entry evicted first: what is attached then is not the log's.
  EntryPin pin(log.at(2));
  log.trim_to(3);
  EXPECT_EQ(log.bytes(), 0u);
  log.attach_deflated(*pin.get(), 15, pool::SharedFrame::copy_of("x"));
  EXPECT_EQ(log.bytes(), 0u);
}

}  // namespace tg::gateway
