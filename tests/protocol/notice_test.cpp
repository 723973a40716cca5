// Tests for direct notices: valid JSON in one text frame each.
#include "protocol/notice.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace tg::protocol {
namespace {
rapidjson::Document parse_frame(const std::string& frame) {
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x81);
  rapidjson::Document d;
  d.Parse(frame.data() + 2, frame.size() - 2);  // all notices here are < 126 bytes
  EXPECT_FALSE(d.HasParseError());
  return d;
}
}  // namespace

TEST(Notice, GapAndPongAndErrorAreWellFormed) {
  std::string out;
  append_gap(out, "lobby", 5, 9);
  auto g = parse_frame(out);
  EXPECT_STREQ(g["t"].GetString(), "gap");
  EXPECT_EQ(g["from"].GetUint64(), 5u);
  EXPECT_EQ(g["to"].GetUint64(), 9u);

  out.clear();
  append_pong(out, "\"abc\"", 2.5);
  auto p = parse_frame(out);
  EXPECT_STREQ(p["id"].GetString(), "abc");
  EXPECT_DOUBLE_EQ(p["window_ms"].GetDouble(), 2.5);

  out.clear();
  append_error(out, "name_taken", "quote \" and <tag>");
  auto e = parse_frame(out);
  EXPECT_STREQ(e["code"].GetString(), "name_taken");
  EXPECT_STREQ(e["reason"].GetString(), "quote \" and <tag>");
}

TEST(Notice, JoinedCarriesTheEpochAndAnErrorTheMessagesCid) {
  std::string out;
  append_joined(out, "lobby", 41, 1796075178881577);
  auto j = parse_frame(out);
  EXPECT_STREQ(j["t"].GetString(), "joined");
  EXPECT_EQ(j["seq"].GetUint64(), 41u);
  EXPECT_EQ(j["epoch"].GetUint64(), 1796075178881577u);

  out.clear();
  append_joined(out, "lobby", 41);  // no epoch given: none written
  EXPECT_FALSE(parse_frame(out).HasMember("epoch"));

  out.clear();
  append_error(out, "unavailable", "Redis is unreachable", "c-\"17");
  auto e = parse_frame(out);
  EXPECT_STREQ(e["code"].GetString(), "unavailable");
  EXPECT_STREQ(e["cid"].GetString(), "c-\"17");

  out.clear();
  append_error(out, "unavailable", "no cid", "");
  EXPECT_FALSE(parse_frame(out).HasMember("cid"));
}

}  // namespace tg::protocol

namespace tg::protocol {

TEST(Notice, RefreshedCarriesTheExpiryWhenThereIsOne) {
  std::string out;
  append_refreshed(out, 1800000000);
  auto r = parse_frame(out);
  EXPECT_STREQ(r["t"].GetString(), "refreshed");
  EXPECT_EQ(r["exp"].GetInt64(), 1800000000);
  out.clear();
  append_refreshed(out, 0);
  EXPECT_FALSE(parse_frame(out).HasMember("exp"));
}

}  // namespace tg::protocol
