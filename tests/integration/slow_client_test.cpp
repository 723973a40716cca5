// Integration: a client that stops reading falls off the log and is told exactly what
// it lost (or is closed under --slow-policy close), while the others get everything.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "gateway_process.hpp"

namespace tg::test {
namespace {

constexpr int kMessages = 1500;
constexpr int kReaders = 5;

// Small logs, windows and socket buffers, so a stalled reader falls off quickly.
std::vector<std::string> slow_args(const char* policy) {
  return {"--workers",       "2",    "--history-bytes", "65536", "--client-inflight",     "4096",
          "--socket-sndbuf", "4096", "--slow-policy",   policy,  "--slow-close-grace-ms", "120000",
          "--rate-limit",    "0"};
}

// Sends kMessages from one client while kReaders others read them all; returns the
// readers for checking. The sender stays within kLead messages of the slowest reader,
// so the readers are well-behaved by construction (the log holds far more than that),
// while a client that stopped reading falls behind by all of it.
void run_traffic(uint16_t port, std::vector<std::unique_ptr<ChatClient>>& readers) {
  constexpr int kLead = 25;
  for (int i = 0; i < kReaders; ++i) {
    readers.push_back(std::make_unique<ChatClient>());
    ASSERT_TRUE(readers.back()->connect(port, "", i % 2 == 0)) << readers.back()->error();
  }
  ChatClient sender;
  ASSERT_TRUE(sender.connect(port, "", true));
  std::vector<std::thread> threads;
  std::vector<int> ok(kReaders, 0);
  std::vector<std::atomic<size_t>> progress(kReaders);
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&, i] {
      for (size_t n = 1; n <= kMessages; ++n) {
        if (!readers[i]->read_until_msgs(n, 30000)) break;
        progress[i] = n;
      }
      ok[i] = progress[i] == kMessages;
    });
  }
  auto slowest = [&] {
    size_t m = kMessages;
    for (auto& p : progress) m = std::min<size_t>(m, p.load());
    return m;
  };
  std::mt19937 rng(7);
  for (int k = 0; k < kMessages; ++k) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (slowest() + kLead < static_cast<size_t>(k) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // The sender reads its own room too; a sender that never read would itself be a
    // stalled reader (and be closed under --slow-policy close).
    while (sender.read_one(0)) {
    }
    if (!sender.send(noise(rng, 200))) {
      ADD_FAILURE() << "sender lost its connection at message " << k;
      break;
    }
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kReaders; ++i) {
    EXPECT_TRUE(ok[i]) << "reader " << i << " got " << readers[i]->msgs().size();
    EXPECT_EQ(readers[i]->error(), "");
    EXPECT_TRUE(readers[i]->gaps().empty());
  }
}

}  // namespace

TEST(SlowClient, StalledReaderGetsAGapWhileOthersGetEverything) {
  GatewayProcess gw(gateway_binary(), slow_args("skip"));
  ASSERT_TRUE(gw.ok());
  ChatClient slow;  // json: the biggest frames, and a tiny receive buffer
  ASSERT_TRUE(slow.connect(gw.port(), "", false, 4096));
  std::vector<std::unique_ptr<ChatClient>> readers;
  run_traffic(gw.port(), readers);

  // Now it reads again: what it missed is announced, the rest arrives in order.
  uint64_t last = readers[0]->events().back().seq;
  while (slow.events().empty() || slow.events().back().seq < last) {
    ASSERT_TRUE(slow.read_one(20000))
        << "slow client stuck at " << (slow.events().empty() ? 0 : slow.events().back().seq);
  }
  EXPECT_EQ(slow.error(), "");  // no hole without a gap notice
  ASSERT_GE(slow.gaps().size(), 1u);
  uint64_t received = slow.events().size(), lost = 0;
  for (const auto& g : slow.gaps()) lost += g.to - g.from + 1;
  // Every seq after hello is accounted for: received or announced lost.
  EXPECT_EQ(received + lost, last - slow.hello_seq());
  EXPECT_EQ(gw.signal_and_wait(SIGTERM, 10000), 0);
}

TEST(SlowClient, StalledReaderIsClosedUnderClosePolicy) {
  GatewayProcess gw(gateway_binary(), slow_args("close"));
  ASSERT_TRUE(gw.ok());
  ChatClient slow;
  ASSERT_TRUE(slow.connect(gw.port(), "", false, 4096));
  std::vector<std::unique_ptr<ChatClient>> readers;
  run_traffic(gw.port(), readers);

  // Reading again (within the grace period), it gets whole frames, then close 1008:
  // never a hole and never a gap.
  int code = slow.read_until_closed(20000);
  EXPECT_EQ(code, 1008) << "0: the connection ended without a close frame";
  EXPECT_TRUE(slow.gaps().empty());
  EXPECT_EQ(slow.error(), "");
  EXPECT_LT(slow.msgs().size(), size_t{kMessages});
  EXPECT_EQ(gw.signal_and_wait(SIGTERM, 10000), 0);
}

}  // namespace tg::test
