// Tests for SharedFrame: reference counting and immutability.
#include "pool/shared_frame.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tg::pool {

TEST(SharedFrame, CopiesShareOneBlockFreedWithTheLastHandle) {
  int64_t before = SharedFrame::live_count();
  {
    SharedFrame a = SharedFrame::copy_of("hello");
    EXPECT_EQ(SharedFrame::live_count(), before + 1);
    SharedFrame b = a;
    EXPECT_EQ(a.data(), b.data());
    EXPECT_FALSE(a.unique());
    EXPECT_EQ(b.view(), "hello");
  }
  EXPECT_EQ(SharedFrame::live_count(), before);
}

TEST(SharedFrame, MoveLeavesSourceEmpty) {
  SharedFrame a = SharedFrame::copy_of("x");
  SharedFrame b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_TRUE(b.unique());
  EXPECT_EQ(b.size(), 1u);
}

TEST(SharedFrame, HandlesDroppedOnManyThreadsFreeExactlyOnce) {
  int64_t before = SharedFrame::live_count();
  {
    SharedFrame f = SharedFrame::copy_of("shared");
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([f] {
        for (int i = 0; i < 10000; ++i) {
          SharedFrame copy = f;
          ASSERT_EQ(copy.view(), "shared");
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(SharedFrame::live_count(), before);
}

}  // namespace tg::pool
