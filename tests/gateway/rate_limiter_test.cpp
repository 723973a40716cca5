// Tests for RateLimiter: bucket refill, burst, notice throttling and flood detection.
#include "gateway/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace tg::gateway {

using V = RateLimiter::Verdict;

TEST(RateLimiter, AllowsTheBurstThenTheRate) {
  RateLimiter r(10, 5, 5000);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(r.on_frame(1000), V::kAllow);
  EXPECT_EQ(r.on_frame(1000), V::kRefuseAndNotify);
  EXPECT_EQ(r.on_frame(1050), V::kRefuse);  // half a token: still refused, no new notice
  EXPECT_EQ(r.on_frame(1100), V::kAllow);   // 100 ms at 10/s = one token
  EXPECT_EQ(r.on_frame(1100), V::kRefuse);
}

TEST(RateLimiter, ANewLimitTakesEffectAtOnceAndKeepsNoMoreThanItsBurst) {
  RateLimiter r(100, 50, 5000);
  r.on_frame(1000);   // 49 tokens left
  r.set_limit(2, 3);  // a reload: 2/s, burst 3
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.on_frame(1000), V::kAllow) << i;
  EXPECT_EQ(r.on_frame(1000), V::kRefuseAndNotify);
  EXPECT_EQ(r.on_frame(1500), V::kAllow);  // 500 ms at 2/s = one token
  r.set_limit(0, 1);                       // and off
  for (int i = 0; i < 100; ++i) EXPECT_EQ(r.on_frame(1500), V::kAllow) << i;
}

TEST(RateLimiter, ASenderAtTheRateIsNeverRefused) {
  RateLimiter r(10, 2, 5000);
  for (uint64_t t = 0; t < 20000; t += 100) ASSERT_EQ(r.on_frame(1000 + t), V::kAllow) << t;
}

TEST(RateLimiter, PersistentExcessIsClosedOccasionalExcessIsNot) {
  RateLimiter flood(10, 10, 5000);
  V last = V::kAllow;
  uint64_t t = 1000;
  for (; t < 20000 && last != V::kClose; t += 50) last = flood.on_frame(t);  // 20/s: 2x
  EXPECT_EQ(last, V::kClose);
  EXPECT_GE(t, 1000 + 5000u);  // not before five seconds of refusals

  RateLimiter bursty(10, 10, 5000);
  for (int round = 0; round < 10; ++round) {  // 15 at once every 2 s: over, then quiet
    uint64_t base = 1000 + round * 2000;
    for (int i = 0; i < 15; ++i) ASSERT_NE(bursty.on_frame(base), V::kClose);
  }
}

TEST(RateLimiter, NoticesAreAtMostOneASecond) {
  RateLimiter r(1, 1, 60000);
  r.on_frame(1000);
  int notices = 0;
  for (uint64_t t = 1000; t < 4000; t += 10)
    if (r.on_frame(t) == V::kRefuseAndNotify) ++notices;
  EXPECT_LE(notices, 3);
  EXPECT_GE(notices, 2);
}

TEST(RateLimiter, ZeroRateDisablesTheLimit) {
  RateLimiter r(0, 1, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(r.on_frame(5), V::kAllow);
}

}  // namespace tg::gateway
