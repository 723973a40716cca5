// Tests for HistoryLedger: the per-room bound, the total budget (least recently active
// rooms first, oldest batches first, never over), the cuts it emits, forgetting a room,
// and the rooms-by-bytes buckets.
#include "batcher/history_ledger.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace tg::batcher {

TEST(HistoryLedger, APerRoomBoundKeepsTheNewestBatchAndIsNotABudgetEviction) {
  HistoryLedger l(250, 1'000'000);
  std::vector<RoomCut> cuts;
  l.add("a", 1, 1, 100, 1);
  l.add("a", 1, 2, 100, 2);
  l.enforce(cuts);
  EXPECT_TRUE(cuts.empty());
  l.add("a", 1, 3, 100, 3);
  l.enforce(cuts);
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].room, "a");
  EXPECT_EQ(cuts[0].incarnation, 1u);
  EXPECT_EQ(cuts[0].first_batch, 2u);
  EXPECT_EQ(l.bytes(), 200u);
  EXPECT_EQ(l.evicted_batches(), 0u);  // the room's own bound, not the process's
  cuts.clear();
  l.add("a", 1, 4, 1000, 4);  // alone over the bound: still kept
  l.enforce(cuts);
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].first_batch, 4u);
  EXPECT_EQ(l.room_bytes_held("a"), 1000u);
}

TEST(HistoryLedger, OverTheBudgetTheLeastRecentlyActiveRoomsLoseTheirOldestBatchesFirst) {
  HistoryLedger l(1'000'000, 500);
  std::vector<RoomCut> cuts;
  l.add("old", 1, 1, 100, 10);
  l.add("old", 1, 2, 100, 11);
  l.add("mid", 2, 5, 100, 20);
  l.add("mid", 2, 6, 100, 21);
  l.add("new", 3, 9, 100, 30);
  l.enforce(cuts);
  EXPECT_TRUE(cuts.empty());  // exactly at the budget
  // "old" talks again: it is now the most recently active; "mid" pays first.
  l.add("old", 1, 3, 100, 40);
  l.add("new", 3, 10, 150, 41);
  l.enforce(cuts);
  EXPECT_LE(l.bytes(), 500u);
  ASSERT_EQ(cuts.size(), 2u);  // mid: both batches; then old: its oldest
  EXPECT_EQ(cuts[0].room, "mid");
  EXPECT_EQ(cuts[0].first_batch, 7u);  // nothing held: the next batch
  EXPECT_EQ(cuts[1].room, "old");
  EXPECT_EQ(cuts[1].first_batch, 2u);
  EXPECT_EQ(l.room_bytes_held("mid"), 0u);
  EXPECT_EQ(l.first_batch("old"), 2u);
  EXPECT_EQ(l.first_batch("new"), 9u);
  EXPECT_EQ(l.evicted_batches(), 3u);
  EXPECT_EQ(l.evicted_bytes(), 300u);
  EXPECT_EQ(l.bytes(), 450u);
}

TEST(HistoryLedger, NeverOverTheBudgetWhateverTheTraffic) {
  HistoryLedger l(5000, 20000);
  std::mt19937 rng(3);
  std::vector<uint64_t> next(40, 1);
  std::vector<RoomCut> cuts;
  uint64_t now = 0;
  for (int i = 0; i < 5000; ++i) {
    size_t room = rng() % next.size();
    std::string name = "r";
    name.append(std::to_string(room));
    l.add(name, room + 1, next[room]++, 1 + rng() % 3000, ++now);
    if (rng() % 4 == 0) {  // several batches per flush, sometimes
      l.enforce(cuts);
      ASSERT_LE(l.bytes(), 20000u) << "after batch " << i;
    }
  }
  l.enforce(cuts);
  EXPECT_LE(l.bytes(), 20000u);
  for (const RoomCut& c : cuts) EXPECT_FALSE(c.forget);
  EXPECT_GT(l.evicted_batches(), 0u);
}

TEST(HistoryLedger, ABatchAloneOverTheBudgetIsDroppedToo) {
  HistoryLedger l(1'000'000, 100);
  std::vector<RoomCut> cuts;
  l.add("big", 1, 1, 150, 1);
  l.enforce(cuts);
  EXPECT_EQ(l.bytes(), 0u);
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].first_batch, 2u);
}

TEST(HistoryLedger, ForgettingARoomReleasesItsBytesWithoutCountingThemEvicted) {
  HistoryLedger l(1'000'000, 1'000'000);
  std::vector<RoomCut> cuts;
  l.add("a", 1, 1, 300, 1);
  l.add("b", 2, 1, 200, 2);
  l.enforce(cuts);
  l.forget("a");
  EXPECT_FALSE(l.knows("a"));
  EXPECT_EQ(l.bytes(), 200u);
  EXPECT_EQ(l.evicted_bytes(), 0u);
  EXPECT_EQ(l.rooms(), 1u);
  // A new incarnation of a known name starts over.
  l.add("b", 7, 40, 50, 3);
  EXPECT_EQ(l.incarnation("b"), 7u);
  EXPECT_EQ(l.bytes(), 50u);
  EXPECT_EQ(l.first_batch("b"), 40u);
}

TEST(HistoryLedger, RoomsByBytesIsCumulative) {
  HistoryLedger l(1'000'000, 1'000'000);
  std::vector<RoomCut> cuts;
  l.add("small", 1, 1, 10, 1);
  l.add("medium", 2, 1, 500, 2);
  l.add("large", 3, 1, 5000, 3);
  const uint64_t bounds[] = {100, 1000};
  std::vector<uint64_t> counts;
  l.rooms_by_bytes(bounds, counts);
  EXPECT_EQ(counts, (std::vector<uint64_t>{1, 2, 3}));
}

TEST(HistoryLedger, OlderBatchesAreCountedInFrontAndTrimmedFirst) {
  HistoryLedger l(250, 1 << 20);
  l.add("a", 1, 5, 100, 1);
  l.add_older("a", 1, 4, 100);
  l.add_older("a", 1, 2, 100);  // not just before the oldest: ignored
  l.add_older("a", 2, 3, 100);  // another life: ignored
  EXPECT_EQ(l.bytes(), 200u);
  EXPECT_EQ(l.first_batch("a"), 4u);
  l.add_older("a", 1, 3, 100);  // over the room's bound: the oldest goes first
  std::vector<RoomCut> cuts;
  l.enforce(cuts);
  ASSERT_EQ(cuts.size(), 1u);
  EXPECT_EQ(cuts[0].first_batch, 4u);
  EXPECT_EQ(l.bytes(), 200u);

  l.add_older("b", 7, 9, 50);  // a room not recorded yet starts with it
  l.add_older("b", 7, 8, 50);
  EXPECT_EQ(l.first_batch("b"), 8u);
  EXPECT_EQ(l.room_bytes_held("b"), 100u);
  l.add("b", 7, 10, 50, 5);  // and goes on after it
  EXPECT_EQ(l.room_bytes_held("b"), 150u);
}

}  // namespace tg::batcher
