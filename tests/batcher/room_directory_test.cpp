// Tests for RoomDirectory: members, the room limit, expiry timing (times are passed in),
// incarnations and the high-water mark a re-created room starts above.
#include "batcher/room_directory.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace tg::batcher {
namespace {
constexpr uint64_t kSec = 1'000'000'000;
}  // namespace

TEST(RoomDirectory, TheFirstRoomStartsAtOneAndJoiningALiveRoomGivesItsIncarnation) {
  RoomDirectory d(0);
  auto a = d.join("a", 0);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->first_batch, 1u);
  EXPECT_EQ(a->first_msg, 1u);
  auto again = d.join("a", 5);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, a->id);
  EXPECT_EQ(d.size(), 1u);
  ASSERT_TRUE(d.find("a").has_value());
  EXPECT_FALSE(d.find("b").has_value());
}

TEST(RoomDirectory, MaxRoomsRefusesANewRoomButNeverAnExistingOne) {
  RoomDirectory d(2);
  EXPECT_TRUE(d.join("a", 0).has_value());
  EXPECT_TRUE(d.join("b", 0).has_value());
  EXPECT_FALSE(d.join("c", 0).has_value());
  EXPECT_EQ(d.size(), 2u);
  EXPECT_TRUE(d.join("a", 0).has_value());  // existing: always
  // Once a room expires there is a place again.
  d.leave("b", 1 * kSec);
  EXPECT_TRUE(d.expire("b", d.find("b")->id, 3 * kSec, 2 * kSec));
  EXPECT_TRUE(d.join("c", 3 * kSec).has_value());
}

TEST(RoomDirectory, ARoomExpiresOnlyAfterItsTtlWithoutMembers) {
  RoomDirectory d(0);
  uint64_t id = d.join("r", 0)->id;
  d.join("r", 0);
  d.leave("r", 1 * kSec);  // one member left
  std::vector<std::pair<std::string, uint64_t>> idle;
  d.idle_rooms(100 * kSec, 2 * kSec, idle);
  EXPECT_TRUE(idle.empty());  // a member is in it, however long
  EXPECT_FALSE(d.expire("r", id, 100 * kSec, 2 * kSec));
  d.leave("r", 10 * kSec);  // empty from t = 10 s
  d.idle_rooms(11 * kSec, 2 * kSec, idle);
  EXPECT_TRUE(idle.empty());
  EXPECT_FALSE(d.expire("r", id, 11 * kSec, 2 * kSec));  // 1 s of a 2 s TTL
  d.idle_rooms(12 * kSec, 2 * kSec, idle);
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0].first, "r");
  EXPECT_EQ(idle[0].second, id);
  EXPECT_FALSE(d.expire("r", id + 1, 12 * kSec, 2 * kSec));  // another incarnation's id
  EXPECT_TRUE(d.expire("r", id, 12 * kSec, 2 * kSec));
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.expire("r", id, 12 * kSec, 2 * kSec));  // gone already
}

TEST(RoomDirectory, AJoinBeforeTheExpiryKeepsTheRoomAndAJoinAfterMakesANewIncarnation) {
  RoomDirectory d(0);
  uint64_t id = d.join("r", 0)->id;
  d.leave("r", 0);
  std::vector<std::pair<std::string, uint64_t>> idle;
  d.idle_rooms(5 * kSec, 1 * kSec, idle);
  ASSERT_EQ(idle.size(), 1u);
  // A Shard joins between the Batcher's look and its decision: the room stays.
  EXPECT_EQ(d.join("r", 5 * kSec)->id, id);
  EXPECT_FALSE(d.expire("r", id, 5 * kSec, 1 * kSec));
  // Left again: it takes a whole TTL from the leave.
  d.leave("r", 6 * kSec);
  EXPECT_FALSE(d.expire("r", id, 6 * kSec, 1 * kSec));
  EXPECT_TRUE(d.expire("r", id, 7 * kSec, 1 * kSec));
  auto next = d.join("r", 8 * kSec);
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(next->id, id);
}

TEST(RoomDirectory, ARoomCreatedAgainStartsAboveEverySeqIssuedBeforeIt) {
  RoomDirectory d(0);
  uint64_t id = d.join("r", 0)->id;
  d.raise_high_water(7, 120);  // seqs the Batcher issued to any room
  d.raise_high_water(3, 50);   // never lowers it
  d.leave("r", 0);
  ASSERT_TRUE(d.expire("r", id, 10 * kSec, 1 * kSec));
  auto again = d.join("r", 10 * kSec);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->first_batch, 8u);
  EXPECT_EQ(again->first_msg, 121u);
  auto other = d.join("s", 10 * kSec);  // any new room
  EXPECT_EQ(other->first_msg, 121u);
}

TEST(RoomDirectory, TheRoomCountIsExactUnderConcurrentJoins) {
  // Four threads race to create 50 rooms each against a limit of 100: exactly 100 exist.
  RoomDirectory d(100);
  std::vector<std::thread> threads;
  std::vector<int> created(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string room = "t";
        room.append(std::to_string(t)).append("-").append(std::to_string(i));
        if (d.join(room, 0)) ++created[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(d.size(), 100u);
  EXPECT_EQ(created[0] + created[1] + created[2] + created[3], 100);
}

}  // namespace tg::batcher
