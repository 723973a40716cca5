// progress_test.cpp -- per-second rates, status line and CSV rows of Progress.
#include "bots/progress.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace tg::bots {
namespace {

TEST(Progress, LineShowsRatesOfTheInterval) {
  Progress p("", true);
  Counters c;
  c.connected = 900;
  c.messages_sent = 100;
  c.deliveries = 90000;
  Histogram none;
  p.tick(1.0, "send", c, none, none, true);
  c.messages_sent = 1000;  // +900 in 1 s
  c.deliveries = 900000;   // +810000 in 1 s
  c.gap_notices = 2;
  c.errors = 1;
  c.disconnects = 1;
  Histogram latency, ping;
  for (uint64_t us : {1000, 2000, 3000, 4000}) latency.record(us);
  ping.record(500);
  const std::string line = p.line(2.0, "send", c, latency, ping);
  EXPECT_NE(line.find("connected 900"), std::string::npos) << line;
  EXPECT_NE(line.find("sent/s 900 "), std::string::npos) << line;
  EXPECT_NE(line.find("delivered/s 810000 "), std::string::npos) << line;
  // 2000 µs is reported as its bucket's highest value, 2015 µs (see Histogram).
  EXPECT_NE(line.find("p50 2.02ms"), std::string::npos) << line;
  EXPECT_NE(line.find("p99 4.00ms"), std::string::npos) << line;
  EXPECT_NE(line.find("gaps 2"), std::string::npos) << line;
  EXPECT_NE(line.find("errors 2"), std::string::npos) << line;
  EXPECT_NE(line.find("ping p99 0.50ms"), std::string::npos) << line;
  EXPECT_EQ(line.find("reconnects"), std::string::npos) << line;  // none yet
  c.reconnects = 7;
  c.reconnect_failures = 2;
  const std::string after = p.line(2.0, "send", c, latency, ping);
  EXPECT_NE(after.find("ping p99 0.50ms  reconnects 7 (failed 2)"), std::string::npos) << after;
}

TEST(Progress, WritesOneCsvRowPerTick) {
  const std::string path = ::testing::TempDir() + "progress_test.csv";
  {
    Progress p(path, false);
    Counters c;
    Histogram h;
    c.messages_sent = 5;
    c.deliveries = 50;
    c.connected = 10;
    p.tick(1.0, "send", c, h, h, true);
    c.messages_sent = 12;
    c.deliveries = 120;
    c.pongs = 4;                  // four pongs this second...
    c.pong_window_us = 4 * 2500;  // ...each saying the window is 2.5 ms
    p.tick(2.0, "send", c, h, h, true);
  }
  std::ifstream in(path);
  std::string header, first, second, extra;
  std::getline(in, header);
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_FALSE(std::getline(in, extra));
  EXPECT_EQ(header.rfind("second,phase,sent,received,p50_ms,p99_ms,connected", 0), 0u);
  EXPECT_EQ(first.rfind("1.0,send,5,50,", 0), 0u) << first;
  EXPECT_EQ(second.rfind("2.0,send,7,70,", 0), 0u) << second;
  EXPECT_NE(header.find(",window_ms"), std::string::npos);
  EXPECT_EQ(first.substr(first.rfind(',') + 1), "0.000") << first;  // no pongs: 0
  EXPECT_EQ(second.substr(second.rfind(',') + 1), "2.500") << second;
  std::remove(path.c_str());
}

TEST(Progress, UnwritableCsvThrows) {
  EXPECT_THROW(Progress("/nonexistent-dir/x.csv", false), std::runtime_error);
}

}  // namespace
}  // namespace tg::bots
