// window_schedule_test.cpp -- when tidegate-floor's rooms write: periods, phases, catch-up.
#include "bots/floor/window_schedule.hpp"

#include <gtest/gtest.h>

namespace tg::fanout {
namespace {

constexpr int64_t kMs = 1000000;

TEST(WindowSchedule, WindowsFallDueOncePerPeriodFromThePhase) {
  WindowSchedule s;
  const size_t r = s.add(100.0, 0.5, 1000 * kMs);  // every 10 ms, the first at +5 ms
  EXPECT_EQ(s.next_due_ns(), 1005 * kMs);
  EXPECT_EQ(s.take(r, 1004 * kMs), 0u);
  EXPECT_EQ(s.take(r, 1005 * kMs), 1u);
  EXPECT_EQ(s.take(r, 1005 * kMs), 0u);  // each window once
  EXPECT_EQ(s.next_due_ns(), 1015 * kMs);
  EXPECT_EQ(s.take(r, 1014 * kMs), 0u);
  EXPECT_EQ(s.take(r, 1036 * kMs), 3u);  // 1015, 1025 and 1035
  EXPECT_EQ(s.next_due_ns(), 1045 * kMs);
  EXPECT_EQ(s.late(), 0u);
}

TEST(WindowSchedule, OverManyWindowsTheRateIsExact) {
  WindowSchedule s;
  const size_t r = s.add(3.0, 0.0, 0);  // 333,333,333.3 ns: rounded, it must not drift
  uint64_t taken = 0;
  for (int64_t t = 0; t < 1000LL * 1000 * kMs; t += 7 * kMs) taken += s.take(r, t);
  EXPECT_EQ(taken, 3000u);
}

TEST(WindowSchedule, RoomsKeepTheirOwnTimelines) {
  WindowSchedule s;
  const size_t fast = s.add(1000.0, 0.0, 0);  // every 1 ms
  const size_t slow = s.add(0.5, 0.25, 0);    // every 2 s, the first at 0.5 s
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.next_due_ns(), 0);
  EXPECT_EQ(s.take(fast, 3 * kMs), 4u);
  EXPECT_EQ(s.take(slow, 3 * kMs), 0u);
  EXPECT_EQ(s.next_due_ns(), 4 * kMs);
  EXPECT_EQ(s.take(slow, 500 * kMs), 1u);
  EXPECT_EQ(s.take(slow, 2499 * kMs), 0u);
  EXPECT_EQ(s.take(slow, 2500 * kMs), 1u);
}

TEST(WindowSchedule, AWritePeriodHandsOutTheWindowsDueSinceTheLastWrite) {
  WindowSchedule s;
  const size_t r = s.add(100.0, 0.0, 0, 20.0);  // windows every 10 ms, writes every 50 ms
  EXPECT_EQ(s.take(r, 0), 1u);
  EXPECT_EQ(s.next_due_ns(), 50 * kMs);
  EXPECT_EQ(s.take(r, 49 * kMs), 0u);  // windows are due, a write is not
  EXPECT_EQ(s.take(r, 50 * kMs), 5u);  // 10, 20, 30, 40 and 50 ms in one write
  EXPECT_EQ(s.next_due_ns(), 100 * kMs);
  EXPECT_EQ(s.take(r, 100 * kMs), 5u);
  EXPECT_EQ(s.late(), 0u);
}

TEST(WindowSchedule, AWritePeriodNoShorterThanTheWindowChangesNothing) {
  WindowSchedule s;
  const size_t r = s.add(100.0, 0.0, 0, 100.0);
  EXPECT_EQ(s.take(r, 0), 1u);
  EXPECT_EQ(s.next_due_ns(), 10 * kMs);
  EXPECT_EQ(s.take(r, 10 * kMs), 1u);
}

TEST(WindowSchedule, ARoomWithoutWindowsIsNeverDue) {
  WindowSchedule s;
  const size_t r = s.add(0.0, 0.5, 0);
  EXPECT_EQ(s.next_due_ns(), WindowSchedule::kNever);
  EXPECT_EQ(s.take(r, 1000000 * kMs), 0u);
}

TEST(WindowSchedule, ALateLoopCatchesUpABoundedNumberAndCountsTheRest) {
  WindowSchedule s;
  const size_t r = s.add(1000.0, 0.0, 0);
  EXPECT_EQ(s.take(r, 99 * kMs + 1), WindowSchedule::kMaxCatchUp);  // 100 were due
  EXPECT_EQ(s.late(), 100u - WindowSchedule::kMaxCatchUp);
  EXPECT_EQ(s.next_due_ns(), 100 * kMs);  // back on the timeline, not behind it
  EXPECT_EQ(s.take(r, 100 * kMs), 1u);
}

}  // namespace
}  // namespace tg::fanout
