// report_test.cpp -- the arithmetic, exit codes and JSON of Report.
#include "bots/report.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace tg::bots {
namespace {

// Two rooms: 3 counted clients × 10 messages, and 2 × 4; one client in room 0 missed one.
RunTotals sample_totals() {
  RunTotals t({"bots-0", "bots-1"});
  t.add_sent(0, 10);
  t.add_sent(1, 4);
  RunTotals::Client c;
  c.counted = true;
  for (uint64_t got : {10, 10, 9}) {
    c.room = 0;
    c.received = got;
    t.add_client(c);
  }
  for (int i = 0; i < 2; ++i) {
    c.room = 1;
    c.received = 4;
    t.add_client(c);
  }
  t.counters.connects = 5;
  t.counters.messages_sent = 14;
  t.counters.deliveries = 37;
  t.counters.bytes = 3700;
  t.counters.batch_bytes = 1850;
  t.send_seconds = 2.0;
  for (uint64_t us : {1000, 2000, 3000}) t.latency_us.record(us);
  return t;
}

TEST(Report, ExpectedIsMembersTimesSentPerRoom) {
  SwarmConfig config;
  const RunTotals t = sample_totals();
  const Report r(config, t);
  EXPECT_EQ(r.messages_sent(), 14u);
  EXPECT_EQ(r.deliveries_expected(), 3u * 10 + 2u * 4);
  EXPECT_EQ(r.deliveries_received(), 37u);
  EXPECT_EQ(r.lost(), 1);
  EXPECT_DOUBLE_EQ(r.bytes_per_delivery(), 100.0);
  EXPECT_DOUBLE_EQ(r.batch_bytes_per_delivery(), 50.0);
  EXPECT_DOUBLE_EQ(r.deliveries_per_second(), 18.5);
  EXPECT_DOUBLE_EQ(r.messages_per_second(), 7.0);
}

TEST(Report, UnannouncedLossFailsTheRun) {
  SwarmConfig config;
  const RunTotals t = sample_totals();
  const Report r(config, t);
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_NE(r.summary().find("FAIL"), std::string::npos);
}

TEST(Report, AnnouncedLossDoesNotFailTheRun) {
  SwarmConfig config;
  RunTotals t({"r"});
  t.add_sent(0, 10);
  RunTotals::Client c;
  c.counted = true;
  c.received = 6;
  c.announced = 4;
  t.add_client(c);
  t.counters.connects = 1;
  const Report r(config, t);
  EXPECT_EQ(r.lost(), 4);
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.exit_code(), 0);
}

TEST(Report, HolesOrDuplicatesFailTheRun) {
  SwarmConfig config;
  RunTotals t({"r"});
  t.counters.connects = 1;
  t.counters.order_errors = 1;
  EXPECT_EQ(Report(config, t).exit_code(), 1);
  t.counters.order_errors = 0;
  t.counters.holes = 1;
  EXPECT_EQ(Report(config, t).exit_code(), 1);
}

TEST(Report, DroppedConnectionsAreExitThree) {
  SwarmConfig config;
  RunTotals t({"r"});
  t.counters.connects = 10;
  EXPECT_EQ(Report(config, t).exit_code(), 0);
  t.counters.disconnects = 2;
  t.counters.policy_closes = 2;  // slow consumers shed with 1008: announced
  EXPECT_EQ(Report(config, t).exit_code(), 0);
  t.counters.disconnects = 3;
  EXPECT_TRUE(Report(config, t).connection_problems());
  EXPECT_EQ(Report(config, t).exit_code(), 3);
  t.counters.disconnects = 0;
  t.counters.connect_failures = 1;
  EXPECT_EQ(Report(config, t).exit_code(), 3);
  t.counters.order_errors = 1;  // loss-like failures take precedence
  EXPECT_EQ(Report(config, t).exit_code(), 1);
}

TEST(Report, NothingConnectedIsExitTwo) {
  SwarmConfig config;
  RunTotals t({"r"});
  EXPECT_EQ(Report(config, t).exit_code(), 2);
}

TEST(Report, ZeroDivisionsAreZero) {
  SwarmConfig config;
  RunTotals t({"r"});
  const Report r(config, t);
  EXPECT_EQ(r.bytes_per_delivery(), 0.0);
  EXPECT_EQ(r.batch_bytes_per_delivery(), 0.0);
  EXPECT_EQ(r.deliveries_per_second(), 0.0);
}

TEST(Report, JsonParsesAndItsCountsAddUp) {
  SwarmConfig config;
  const RunTotals t = sample_totals();
  const Report r(config, t);
  rapidjson::Document doc;
  const std::string json = r.json();
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_EQ(doc["messages_sent"].GetUint64(), 14u);
  EXPECT_EQ(doc["deliveries_expected"].GetUint64(), 38u);
  EXPECT_EQ(doc["deliveries_received"].GetUint64(), 37u);
  EXPECT_EQ(doc["lost"].GetInt64(), 1);
  EXPECT_EQ(doc["unannounced_lost"].GetUint64(), 1u);
  EXPECT_EQ(doc["exit_code"].GetInt(), 1);
  uint64_t expected = 0, sent = 0;
  for (const auto& room : doc["rooms"].GetArray()) {
    expected += room["members"].GetUint64() * room["sent"].GetUint64();
    sent += room["sent"].GetUint64();
  }
  EXPECT_EQ(expected, doc["deliveries_expected"].GetUint64());
  EXPECT_EQ(sent, doc["messages_sent"].GetUint64());
  EXPECT_EQ(doc["latency_ms"]["count"].GetUint64(), 3u);
  EXPECT_DOUBLE_EQ(doc["latency_ms"]["max"].GetDouble(), 3.0);
  EXPECT_FALSE(doc["config"]["sink"].GetBool());
}

TEST(Report, ReconnectsAndRefusalsAreReportedNotFailed) {
  SwarmConfig config;
  config.urls = {"ws://127.0.0.1:1/ws", "ws://127.0.0.1:2/ws"};
  RunTotals t({"r"});
  t.add_sent(0, 10);
  t.add_unsent(0, 2, 1);  // 2 refused, 1 in doubt: 7 deliverable
  RunTotals::Client c;
  c.counted = true;
  c.received = 7;
  t.add_client(c);
  t.add_client(c);
  t.counters.connects = 2;
  t.counters.reconnects = 5;
  t.counters.reconnect_failures = 3;
  t.counters.resumed_msgs = 40;
  t.counters.epoch_resets = 1;
  t.counters.unavailable = 4;
  t.counters.refused_msgs = 2;
  const Report r(config, t);
  EXPECT_EQ(r.deliveries_expected(), 14u);
  EXPECT_EQ(r.lost(), 0);
  EXPECT_EQ(r.in_doubt(), 1u);
  EXPECT_EQ(r.exit_code(), 0);  // came back every time: no connection problem
  rapidjson::Document doc;
  const std::string json = r.json();
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_EQ(doc["reconnects"].GetUint64(), 5u);
  EXPECT_EQ(doc["reconnect_failures"].GetUint64(), 3u);
  EXPECT_EQ(doc["resumed_msgs"].GetUint64(), 40u);
  EXPECT_EQ(doc["epoch_resets"].GetUint64(), 1u);
  EXPECT_EQ(doc["unavailable"].GetUint64(), 4u);
  EXPECT_EQ(doc["refused_msgs"].GetUint64(), 2u);
  EXPECT_EQ(doc["duplicates"].GetUint64(), 0u);
  EXPECT_EQ(doc["in_doubt_msgs"].GetUint64(), 1u);
  EXPECT_EQ(doc["rooms"][0]["refused"].GetUint64(), 2u);
  EXPECT_EQ(doc["rooms"][0]["in_doubt"].GetUint64(), 1u);
  EXPECT_STREQ(doc["config"]["url"].GetString(), "ws://127.0.0.1:1/ws");
  ASSERT_EQ(doc["config"]["urls"].Size(), 2u);
  EXPECT_STREQ(doc["config"]["urls"][1].GetString(), "ws://127.0.0.1:2/ws");
  EXPECT_TRUE(doc["config"]["reconnect"].GetBool());
  EXPECT_NE(r.summary().find("reconnects 5 (failures 3)  resumed msgs 40"), std::string::npos)
      << r.summary();
}

TEST(Report, DuplicatesFailTheRun) {
  SwarmConfig config;
  RunTotals t({"r"});
  t.counters.connects = 1;
  t.counters.duplicates = 3;
  EXPECT_TRUE(Report(config, t).failed());
}

TEST(Report, CountsDistinctBatchesPerRoomAndSinkFrames) {
  SwarmConfig config;
  config.sink = true;
  RunTotals t = sample_totals();
  t.rooms[0].batches.add(3);
  t.rooms[0].batches.add(10);  // 3..10
  t.rooms[1].batches.add(4);
  t.counters.frames = 50;
  t.counters.frames_measured = 40;
  t.counters.batch_frames = 30;
  const Report r(config, t);
  EXPECT_EQ(r.batches_measured(), 9u);
  rapidjson::Document doc;
  doc.Parse(r.json().c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_TRUE(doc["config"]["sink"].GetBool());
  EXPECT_EQ(doc["batches_measured"].GetUint64(), 9u);
  EXPECT_EQ(doc["rooms"][0]["batches"].GetUint64(), 8u);
  EXPECT_EQ(doc["frames_measured"].GetUint64(), 40u);
  EXPECT_EQ(doc["batch_frames_measured"].GetUint64(), 30u);
  EXPECT_NE(r.summary().find("sink: frames received 50 (40 "), std::string::npos);
}

}  // namespace
}  // namespace tg::bots
