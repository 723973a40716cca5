// floor_config_test.cpp -- tidegate-floor's room groups, room names and listen address.
#include "bots/floor/floor_config.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tg::fanout {
namespace {

TEST(FloorConfig, ParsesAGroup) {
  std::string error;
  const auto g = parse_group("quiet-:24:0.5:180:1.25", &error);
  ASSERT_TRUE(g.has_value()) << error;
  EXPECT_EQ(g->prefix, "quiet-");
  EXPECT_EQ(g->rooms, 24u);
  EXPECT_DOUBLE_EQ(g->batches_per_s, 0.5);
  EXPECT_EQ(g->frame_bytes, 180u);
  EXPECT_DOUBLE_EQ(g->msgs_per_batch, 1.25);
  EXPECT_DOUBLE_EQ(g->writes_per_s, 0.0);
  EXPECT_DOUBLE_EQ(parse_group("hot-:1:270:500:6:40", &error)->writes_per_s, 40.0);
}

TEST(FloorConfig, AnEmptyPrefixIsAllowed) {
  const auto g = parse_group(":2:10:64:1", nullptr);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->prefix, "");
}

TEST(FloorConfig, RefusesMalformedGroups) {
  for (const char* text :
       {"", "hot-", "hot-:1:10:64", "hot-:1:10:64:1:9:9", "hot-:0:10:64:1", "hot-:x:10:64:1",
        "hot-:1:-1:64:1", "hot-:1:10:-64:1", "hot-:1:10:64:nan", "hot-:1:10 :64:1",
        "hot-:1:inf:64:1", "hot-:1:10:64:1:-5"}) {
    std::string error;
    EXPECT_FALSE(parse_group(text, &error).has_value()) << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(FloorConfig, NamesRoomsAsTheSwarmDoesWithPhasesSpreadOverAPeriod) {
  std::vector<RoomGroup> groups(2);
  groups[0].prefix = "hot-";
  groups[0].rooms = 1;
  groups[1].prefix = "quiet-";
  groups[1].rooms = 4;
  const std::vector<RoomSpec> rooms = expand_rooms(groups);
  ASSERT_EQ(rooms.size(), 5u);
  EXPECT_EQ(rooms[0].name, "hot-0");
  EXPECT_EQ(rooms[0].group, 0u);
  EXPECT_EQ(rooms[1].name, "quiet-0");
  EXPECT_EQ(rooms[4].name, "quiet-3");
  EXPECT_EQ(rooms[4].group, 1u);
  EXPECT_DOUBLE_EQ(rooms[1].phase, 0.0);
  EXPECT_DOUBLE_EQ(rooms[3].phase, 0.5);
  EXPECT_DOUBLE_EQ(rooms[4].phase, 0.75);
}

TEST(FloorConfig, TwoGroupsMayNotNameTheSameRoom) {
  std::vector<RoomGroup> groups(2);  // both "bots-": bots-0 twice
  EXPECT_THROW(expand_rooms(groups), std::invalid_argument);
}

TEST(FloorConfig, ParsesListenAddresses) {
  const auto a = parse_listen("127.0.0.1:0");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  EXPECT_EQ(parse_listen("0.0.0.0:65535")->port, 65535);
  for (const char* text : {"", "127.0.0.1", "127.0.0.1:", ":80", "localhost:80", "127.0.0.1:65536",
                           "127.0.0.1:8x", "[::1]:80"}) {
    EXPECT_FALSE(parse_listen(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace tg::fanout
