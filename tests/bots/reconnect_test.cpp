// reconnect_test.cpp -- URL round-robin, reconnectable close codes, the backoff schedule and
// resume targets.
#include "bots/reconnect.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace tg::bots {
namespace {

TEST(Reconnect, ClientsAreDealtRoundRobinOverTheUrls) {
  std::vector<size_t> got;
  for (uint32_t i = 0; i < 7; ++i) got.push_back(first_url(i, 3));
  EXPECT_EQ(got, (std::vector<size_t>{0, 1, 2, 0, 1, 2, 0}));
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(first_url(i, 1), 0u);  // one URL: as before
}

TEST(Reconnect, NextUrlWrapsAndVisitsEveryUrl) {
  EXPECT_EQ(next_url(0, 3), 1u);
  EXPECT_EQ(next_url(2, 3), 0u);
  EXPECT_EQ(next_url(0, 1), 0u);
  // From any start, n steps visit each URL once before coming back.
  for (size_t start = 0; start < 4; ++start) {
    std::vector<int> seen(4, 0);
    size_t u = start;
    for (int step = 0; step < 4; ++step) {
      u = next_url(u, 4);
      ++seen[u];
    }
    EXPECT_EQ(u, start);
    EXPECT_EQ(seen, (std::vector<int>{1, 1, 1, 1}));
  }
}

TEST(Reconnect, OnlyTheGatewaysOwnTroublesAreReconnected) {
  for (uint16_t code : {1001, 1006, 1011, 1012, 1013}) EXPECT_TRUE(reconnect_after_close(code));
  for (uint16_t code : {0, 1000, 1002, 1003, 1005, 1007, 1008, 1009, 1010, 4000}) {
    EXPECT_FALSE(reconnect_after_close(code)) << code;
  }
}

TEST(Reconnect, BackoffDoublesFromOneHundredMsToTwoSeconds) {
  std::vector<int64_t> caps;
  for (uint32_t a = 0; a < 8; ++a) caps.push_back(backoff_cap_ms(a));
  EXPECT_EQ(caps, (std::vector<int64_t>{100, 200, 400, 800, 1600, 2000, 2000, 2000}));
  EXPECT_EQ(backoff_cap_ms(1000000), 2000);
}

TEST(Reconnect, BackoffJitterStaysInTheUpperHalfOfTheCap) {
  for (uint32_t a = 0; a < 10; ++a) {
    const int64_t cap = backoff_cap_ms(a);
    EXPECT_EQ(backoff_delay_ms(a, 0.0), cap / 2);
    EXPECT_LE(backoff_delay_ms(a, 0.999999), cap);
    EXPECT_GE(backoff_delay_ms(a, 0.999999), cap - 1);
    const int64_t mid = backoff_delay_ms(a, 0.5);
    EXPECT_GT(mid, cap / 2);
    EXPECT_LT(mid, cap);
  }
  // Out-of-range jitter is clamped rather than trusted.
  EXPECT_EQ(backoff_delay_ms(0, -1.0), 50);
  EXPECT_EQ(backoff_delay_ms(0, 7.0), 100);
}

TEST(Reconnect, TargetCarriesTheResumePoint) {
  EXPECT_EQ(ws_target("/ws", "bots-3", nullptr), "/ws?room=bots-3");
  const ResumePoint p{41, 1795380203401};
  EXPECT_EQ(ws_target("/ws", "bots-3", &p), "/ws?room=bots-3&since=41&epoch=1795380203401");
  const ResumePoint no_epoch{41, 0};
  EXPECT_EQ(ws_target("/chat/ws", "r", &no_epoch), "/chat/ws?room=r&since=41");
  EXPECT_EQ(ws_target("/ws", "r", &p, "alice"),
            "/ws?room=r&since=41&epoch=1795380203401&name=alice");
}

}  // namespace
}  // namespace tg::bots
