// gateway_stats_test.cpp -- the GET /stats document (src/metrics/gateway_stats.cpp).
#include "metrics/gateway_stats.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace tg::metrics {
namespace {

StatsSnapshot two_workers() {
  StatsSnapshot s;
  s.workers.resize(2);
  s.workers[0].open = 3;
  s.workers[1].open = 4;
  s.workers[0].messages_in = 10;
  s.workers[1].messages_in = 5;
  s.workers[0].deliveries = 70;
  s.workers[1].deliveries = 35;
  s.rooms = 2;
  s.history_bytes = 123456;
  s.window_ms = 12.5;
  return s;
}

TEST(StatsJson, IsOneJsonObjectWithTheTotalsOfEveryWorker) {
  std::string body = stats_json(two_workers(), 42.5);
  ASSERT_FALSE(body.empty());
  EXPECT_EQ(body.back(), '\n');
  rapidjson::Document d;
  d.Parse(body.c_str());
  ASSERT_FALSE(d.HasParseError()) << body;
  ASSERT_TRUE(d.IsObject());
  EXPECT_EQ(d["clients"].GetInt64(), 7);
  EXPECT_EQ(d["rooms"].GetUint64(), 2u);
  EXPECT_EQ(d["history_bytes"].GetUint64(), 123456u);
  EXPECT_DOUBLE_EQ(d["window_ms"].GetDouble(), 12.5);
  EXPECT_DOUBLE_EQ(d["messages_per_s"].GetDouble(), 42.5);
  EXPECT_EQ(d["messages_total"].GetUint64(), 15u);
  EXPECT_EQ(d["deliveries_total"].GetUint64(), 105u);
  EXPECT_EQ(d["workers"].GetUint64(), 2u);
}

TEST(StatsJson, AnIdleServerHasZerosNotMissingFields) {
  StatsSnapshot s;
  rapidjson::Document d;
  d.Parse(stats_json(s, 0).c_str());
  ASSERT_TRUE(d.IsObject());
  for (const char* key : {"clients", "rooms", "history_bytes", "window_ms", "messages_per_s",
                          "messages_total", "deliveries_total", "workers"}) {
    ASSERT_TRUE(d.HasMember(key)) << key;
    EXPECT_EQ(d[key].GetDouble(), 0) << key;
  }
}

}  // namespace
}  // namespace tg::metrics
