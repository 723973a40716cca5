// run_totals_test.cpp -- per-client delivery accounting of RunTotals.
#include "bots/run_totals.hpp"

#include <gtest/gtest.h>

namespace tg::bots {
namespace {

RunTotals::Client client(uint32_t room, bool counted, uint64_t received, uint64_t announced = 0,
                         uint64_t holes = 0) {
  RunTotals::Client c;
  c.room = room;
  c.counted = counted;
  c.received = received;
  c.announced = announced;
  c.hole_msgs = holes;
  return c;
}

TEST(RunTotals, CompleteClientLostNothing) {
  EXPECT_EQ(RunTotals::unannounced_loss(client(0, true, 100), 100), 0u);
}

TEST(RunTotals, ShortfallWithoutGapIsUnannounced) {
  EXPECT_EQ(RunTotals::unannounced_loss(client(0, true, 97), 100), 3u);
}

TEST(RunTotals, AnnouncedShortfallIsNotLoss) {
  EXPECT_EQ(RunTotals::unannounced_loss(client(0, true, 60, 40), 100), 0u);
}

TEST(RunTotals, HolesCountEvenWhenTheTotalLooksRight) {
  // A hole swallowed 2 messages although duplicates made the count add up.
  EXPECT_EQ(RunTotals::unannounced_loss(client(0, true, 100, 0, 2), 100), 2u);
}

TEST(RunTotals, UncountedClientsOnlyLoseTheirHoles) {
  EXPECT_EQ(RunTotals::unannounced_loss(client(0, false, 10), 100), 0u);
  EXPECT_EQ(RunTotals::unannounced_loss(client(0, false, 10, 0, 4), 100), 4u);
}

TEST(RunTotals, AddsClientsIntoTheirRooms) {
  RunTotals t({"a", "b"});
  t.add_sent(0, 10);
  t.add_sent(1, 3);
  t.add_sent(0, 5);  // a second loop's share
  t.add_client(client(0, true, 15));
  t.add_client(client(0, true, 14));  // 1 lost
  t.add_client(client(1, true, 4));   // 1 extra
  t.add_client(client(1, false, 2));  // excluded
  RunTotals::Client slow = client(1, false, 1, 2);
  slow.slow = true;
  t.add_client(slow);
  EXPECT_EQ(t.rooms[0].sent, 15u);
  EXPECT_EQ(t.rooms[0].members, 2u);
  EXPECT_EQ(t.rooms[0].received, 29u);
  EXPECT_EQ(t.rooms[1].members, 1u);
  EXPECT_EQ(t.rooms[1].received, 4u);
  EXPECT_EQ(t.unannounced_lost, 1u);
  EXPECT_EQ(t.short_clients, 1u);
  EXPECT_EQ(t.extra_deliveries, 1u);
  EXPECT_EQ(t.excluded_clients, 2u);
  EXPECT_EQ(t.excluded_received, 3u);
  EXPECT_EQ(t.slow_clients, 1u);
  EXPECT_EQ(t.slow_announced, 2u);
}

TEST(RunTotals, RefusedAndInDoubtMessagesAreNotExpected) {
  RunTotals t({"a"});
  t.add_sent(0, 100);
  t.add_unsent(0, 3, 2);  // 3 refused (`unavailable`), 2 lost with their sender's connection
  t.add_unsent(0, 1, 0);  // a second loop's share
  EXPECT_EQ(t.rooms[0].refused, 4u);
  EXPECT_EQ(t.rooms[0].in_doubt, 2u);
  EXPECT_EQ(t.rooms[0].deliverable(), 94u);
  EXPECT_EQ(t.rooms[0].deliverable_max(), 96u);
  t.add_client(client(0, true, 94));  // everything the server took
  t.add_client(client(0, true, 96));  // the two in doubt did reach the server after all
  t.add_client(client(0, true, 93));  // one short
  t.add_client(client(0, true, 97));  // more than the server can have taken
  EXPECT_EQ(t.unannounced_lost, 1u);
  EXPECT_EQ(t.short_clients, 1u);
  EXPECT_EQ(t.extra_deliveries, 1u);
}

TEST(RunTotals, DeliverableNeverGoesBelowZero) {
  RunTotals t({"a"});
  t.add_sent(0, 2);
  t.add_unsent(0, 2, 1);  // a loop's in-doubt count can run ahead of another's sends
  EXPECT_EQ(t.rooms[0].deliverable(), 0u);
  EXPECT_EQ(t.rooms[0].deliverable_max(), 0u);
}

TEST(SeqSpan, CountsTheDistinctSeqsBetweenTheLowestAndHighest) {
  SeqSpan a;
  EXPECT_EQ(a.count(), 0u);
  for (uint64_t seq : {7, 5, 9, 9, 6}) a.add(seq);
  EXPECT_EQ(a.count(), 5u);  // 5..9
  SeqSpan b;                 // another loop saw later batches of the same room
  b.add(12);
  a.merge(b);
  EXPECT_EQ(a.count(), 8u);  // 5..12
  a.merge(SeqSpan{});        // a loop that saw none changes nothing
  EXPECT_EQ(a.count(), 8u);
}

}  // namespace
}  // namespace tg::bots
