// permissions_test.cpp -- room patterns: exact, prefix.*, *; and the flag's list form.
#include "auth/permissions.hpp"

#include <gtest/gtest.h>

namespace tg::auth {
namespace {

TEST(RoomPattern, PrefixMatchesBelowTheDotOnly) {
  EXPECT_TRUE(pattern_matches("team.*", "team.a"));
  EXPECT_TRUE(pattern_matches("team.*", "team.a.b"));  // every level below
  EXPECT_FALSE(pattern_matches("team.*", "team"));
  EXPECT_FALSE(pattern_matches("team.*", "team."));
  EXPECT_FALSE(pattern_matches("team.*", "teamx"));
  EXPECT_FALSE(pattern_matches("team.*", "xteam.a"));
}

TEST(RoomPattern, ExactAndStar) {
  EXPECT_TRUE(pattern_matches("lobby", "lobby"));
  EXPECT_FALSE(pattern_matches("lobby", "lobby2"));
  EXPECT_FALSE(pattern_matches("lobby", "lobb"));
  EXPECT_TRUE(pattern_matches("*", "anything.at.all"));
}

TEST(RoomPattern, ValidForms) {
  EXPECT_TRUE(valid_pattern("lobby"));
  EXPECT_TRUE(valid_pattern("team.*"));
  EXPECT_TRUE(valid_pattern("*"));
  EXPECT_FALSE(valid_pattern(""));
  EXPECT_FALSE(valid_pattern(".*"));
  EXPECT_FALSE(valid_pattern("team*"));
  EXPECT_FALSE(valid_pattern("te*am"));
  EXPECT_FALSE(valid_pattern("*.team"));
  EXPECT_FALSE(valid_pattern("bad room"));
  EXPECT_FALSE(valid_pattern(std::string(70, 'a')));
}

TEST(RoomPattern, ListFromAFlag) {
  auto l = parse_pattern_list("lobby, public.*");
  ASSERT_TRUE(l);
  EXPECT_EQ(*l, (std::vector<std::string>{"lobby", "public.*"}));
  ASSERT_TRUE(parse_pattern_list(""));
  EXPECT_TRUE(parse_pattern_list("")->empty());
  EXPECT_FALSE(parse_pattern_list("lobby,"));
  EXPECT_FALSE(parse_pattern_list("lobby,bad room"));
}

TEST(Permissions, AllByDefaultElseThePatterns) {
  Permissions all;
  EXPECT_TRUE(all.can_read("x"));
  EXPECT_TRUE(all.can_publish("x"));
  Permissions some({"lobby", "team.*"}, {"team.*"});
  EXPECT_TRUE(some.can_read("lobby"));
  EXPECT_FALSE(some.can_publish("lobby"));
  EXPECT_TRUE(some.can_publish("team.a"));
  EXPECT_FALSE(some.can_read("other"));
  Permissions none({}, {});
  EXPECT_FALSE(none.can_read("lobby"));
}

}  // namespace
}  // namespace tg::auth
