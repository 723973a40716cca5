// Tests for the log line formats: text for people, JSON (one object a line) for shippers.
#include "common/log.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace tg {

namespace {
constexpr double kTime = 1764526814.123;  // 2025-11-30T18:20:14.123Z
}

TEST(Log, TextLineIsTimeLevelMessage) {
  std::string line =
      format_log_line(LogFormat::kText, LogLevel::kWarn, kTime, {{"conn", 7}}, "conn 7 closed");
  EXPECT_EQ(line, "2025-11-30T18:20:14.123Z warn  conn 7 closed");
}

TEST(Log, JsonLineIsOneObjectWithTheFields) {
  std::string line = format_log_line(
      LogFormat::kJson, LogLevel::kInfo, kTime,
      {{"conn", uint64_t{17}}, {"peer", "127.0.0.1:4242"}, {"seconds", 1.5}, {"room", "lobby"}},
      "conn 17 \"alice\" closed\n(client)");
  rapidjson::Document d;
  d.Parse(line.c_str());
  ASSERT_FALSE(d.HasParseError()) << line;
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["time"].GetString(), "2025-11-30T18:20:14.123Z");
  EXPECT_STREQ(d["level"].GetString(), "info");
  EXPECT_STREQ(d["msg"].GetString(), "conn 17 \"alice\" closed\n(client)");
  EXPECT_EQ(d["conn"].GetUint64(), 17u);
  EXPECT_STREQ(d["peer"].GetString(), "127.0.0.1:4242");
  EXPECT_DOUBLE_EQ(d["seconds"].GetDouble(), 1.5);
  EXPECT_STREQ(d["room"].GetString(), "lobby");
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
}

TEST(Log, FormatNamesParse) {
  EXPECT_EQ(parse_log_format("json"), LogFormat::kJson);
  EXPECT_EQ(parse_log_format("text"), LogFormat::kText);
  EXPECT_FALSE(parse_log_format("xml").has_value());
}

}  // namespace tg
