// counters_test.cpp -- summing Counters across loops.
#include "bots/counters.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace tg::bots {
namespace {

TEST(Counters, AddSumsEveryField) {
  // Counters is all uint64_t: fill each field with a distinct value through memory and
  // check each sum, so a field forgotten in add() fails here.
  constexpr size_t kFields = sizeof(Counters) / sizeof(uint64_t);
  uint64_t a_raw[kFields], b_raw[kFields];
  for (size_t i = 0; i < kFields; ++i) {
    a_raw[i] = i + 1;
    b_raw[i] = 100 * (i + 1);
  }
  Counters a, b;
  std::memcpy(&a, a_raw, sizeof a);
  std::memcpy(&b, b_raw, sizeof b);
  a.add(b);
  uint64_t sum[kFields];
  std::memcpy(sum, &a, sizeof a);
  for (size_t i = 0; i < kFields; ++i) EXPECT_EQ(sum[i], 101 * (i + 1)) << "field " << i;
}

}  // namespace
}  // namespace tg::bots
