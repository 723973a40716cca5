// cid_test.cpp -- formatting and strict parsing of bot message ids.
#include "bots/cid.hpp"

#include <gtest/gtest.h>

namespace tg::bots {
namespace {

TEST(Cid, RoundTrips) {
  std::string text;
  Cid{4711, 1234567890123}.format("a1b2c3d4", text);
  EXPECT_EQ(text, "a1b2c3d4.4711.1234567890123");
  const auto cid = Cid::parse(text, "a1b2c3d4");
  ASSERT_TRUE(cid);
  EXPECT_EQ(cid->bot, 4711u);
  EXPECT_EQ(cid->sent_us, 1234567890123);
}

TEST(Cid, RejectsOtherRunsAndGarbage) {
  EXPECT_FALSE(Cid::parse("ffffffff.1.2", "a1b2c3d4"));
  EXPECT_FALSE(Cid::parse("a1b2c3d4", "a1b2c3d4"));
  EXPECT_FALSE(Cid::parse("a1b2c3d4.", "a1b2c3d4"));
  EXPECT_FALSE(Cid::parse("a1b2c3d4.1", "a1b2c3d4"));
  EXPECT_FALSE(Cid::parse("a1b2c3d4.1.", "a1b2c3d4"));
  EXPECT_FALSE(Cid::parse("a1b2c3d4.x.2", "a1b2c3d4"));
  EXPECT_FALSE(Cid::parse("a1b2c3d4.1.2x", "a1b2c3d4"));
  EXPECT_FALSE(Cid::parse("a1b2c3d4x1.2", "a1b2c3d4"));
  EXPECT_FALSE(Cid::parse("c-17", "a1b2c3d4"));
}

}  // namespace
}  // namespace tg::bots
