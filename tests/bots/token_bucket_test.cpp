// token_bucket_test.cpp -- refill, burst cap and waiting of TokenBucket on a fake clock.
#include "bots/token_bucket.hpp"

#include <gtest/gtest.h>

namespace tg::bots {
namespace {

TEST(TokenBucket, StartsFullAndCapsAtBurst) {
  TokenBucket b(1000.0, 500.0, 0);
  EXPECT_EQ(b.available(0), 500u);
  EXPECT_EQ(b.available(10'000'000), 500u);  // ten seconds later: still the burst
}

TEST(TokenBucket, RefillsAtTheRate) {
  TokenBucket b(20480.0, 2048.0, 0);
  b.consume(2048);
  EXPECT_EQ(b.available(0), 0u);
  EXPECT_EQ(b.available(50'000), 1024u);  // 50 ms of 20 KiB/s
  EXPECT_EQ(b.available(100'000), 2048u);
}

TEST(TokenBucket, OverdraftIsPaidBack) {
  TokenBucket b(1000.0, 100.0, 0);
  b.consume(600);  // 500 in debt
  EXPECT_EQ(b.available(0), 0u);
  EXPECT_EQ(b.available(400'000), 0u);
  EXPECT_EQ(b.available(600'000), 100u);
}

TEST(TokenBucket, WaitUntilEnough) {
  TokenBucket b(1000.0, 1000.0, 0);
  b.consume(1000);
  EXPECT_EQ(b.wait_us(250, 0), 250'000);
  EXPECT_EQ(b.wait_us(250, 250'000), 0);
}

}  // namespace
}  // namespace tg::bots
