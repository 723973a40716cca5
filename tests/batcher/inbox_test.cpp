// Tests for Inbox: wake-ups only for the first event, and the waiting() hint a Shard
// reads to give the Batcher its turn on the CPU.
#include "batcher/inbox.hpp"

#include <gtest/gtest.h>

namespace tg::batcher {

namespace {
Inbound event(const char* room) {
  Inbound e;
  e.room = room;
  return e;
}
}  // namespace

TEST(Inbox, OnlyThePushIntoAnEmptyInboxAsksForAWakeUp) {
  Inbox inbox;
  EXPECT_TRUE(inbox.push(event("a")));
  EXPECT_FALSE(inbox.push(event("b")));
  std::vector<Inbound> out;
  inbox.drain_into(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].room, "a");
  EXPECT_EQ(out[1].room, "b");
  EXPECT_TRUE(inbox.push(event("c")));
}

TEST(Inbox, WaitingWhileEventsAreQueuedAndNotAfterTheDrain) {
  Inbox inbox;
  EXPECT_FALSE(inbox.waiting());
  inbox.push(event("a"));
  EXPECT_TRUE(inbox.waiting());
  std::vector<Inbound> out;
  inbox.drain_into(out);
  EXPECT_FALSE(inbox.waiting());
}

}  // namespace tg::batcher
