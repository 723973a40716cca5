// Tests for name and room validation.
#include "protocol/names.hpp"

#include <gtest/gtest.h>

namespace tg::protocol {

TEST(Names, ValidNames) {
  EXPECT_TRUE(valid_name("alice"));
  EXPECT_TRUE(valid_name("Zoë the 2nd"));
  EXPECT_FALSE(valid_name(""));
  EXPECT_FALSE(valid_name(std::string(33, 'a')));
  EXPECT_FALSE(valid_name(" alice"));
  EXPECT_FALSE(valid_name("al\nice"));
  EXPECT_FALSE(valid_name("guest-12"));  // reserved for server-given names
  EXPECT_FALSE(valid_name("\xFF\xFE"));
}

TEST(Names, ValidRooms) {
  EXPECT_TRUE(valid_room("lobby"));
  EXPECT_TRUE(valid_room("dev_team-2.0"));
  EXPECT_FALSE(valid_room(""));
  EXPECT_FALSE(valid_room("has space"));
  EXPECT_FALSE(valid_room("<script>"));
  EXPECT_FALSE(valid_room(std::string(65, 'r')));
}

}  // namespace tg::protocol
