// Tests for name and room validation, UTF-8 checking and the name registry.
#include "gateway/names.hpp"

#include <gtest/gtest.h>

namespace tg::gateway {

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

TEST(Names, Utf8Validation) {
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));           // overlong '/'
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));       // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xE2\x82"));           // truncated
  EXPECT_FALSE(valid_utf8("\x80"));               // lone continuation byte
}

TEST(NameRegistry, ClaimsAreUniqueAndRenameMovesTheClaim) {
  NameRegistry r;
  EXPECT_TRUE(r.claim("alice"));
  EXPECT_FALSE(r.claim("alice"));
  EXPECT_TRUE(r.claim("bob"));
  EXPECT_FALSE(r.rename("bob", "alice"));
  EXPECT_TRUE(r.rename("bob", "robert"));
  EXPECT_TRUE(r.claim("bob"));  // released by the rename
  r.release("alice");
  EXPECT_TRUE(r.claim("alice"));
  EXPECT_EQ(r.size(), 3u);
}

}  // namespace tg::gateway
