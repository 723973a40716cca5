// Integration: a flooding client is throttled, told so, and closed with 1008, while the
// well-behaved clients in the same room lose nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "gateway_process.hpp"

namespace tg::test {

TEST(Abuse, FlooderIsClosedWith1008WhileOthersLoseNothing) {
  constexpr int kGood = 50;
  // The defaults: 20 messages/s with a burst of 40; 5 s over the limit closes.
  GatewayProcess gw(gateway_binary(), {"--workers", "2"});
  ASSERT_TRUE(gw.ok());
  std::vector<std::unique_ptr<ChatClient>> readers;
  for (int i = 0; i < 3; ++i) {
    readers.push_back(std::make_unique<ChatClient>());
    ASSERT_TRUE(readers.back()->connect(gw.port(), "", i % 2 == 0));
  }
  ChatClient good, flooder;
  ASSERT_TRUE(good.connect(gw.port(), "", true));
  ASSERT_TRUE(flooder.connect(gw.port(), "", true));

  int flooder_close = -1;
  bool told = false;
  std::thread flood([&] {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (int k = 0; std::chrono::steady_clock::now() < end && !flooder.ws().closed(); ++k) {
      flooder.send("spam " + std::to_string(k));  // about 200/s, ten times the limit
      while (flooder.read_one(0)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    flooder_close = flooder.read_until_closed(5000);
    for (const auto& n : flooder.notices()) told |= n.find("\"rate_limited\"") != std::string::npos;
  });
  for (int k = 0; k < kGood; ++k) {  // 10/s: within the limit
    ASSERT_TRUE(good.send(R"({"t":"msg","text":"good","cid":"good-)" + std::to_string(k) + "\"}"));
    while (good.read_one(0)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  flood.join();
  EXPECT_TRUE(told) << "the flooder got no rate_limited notice";
  EXPECT_EQ(flooder_close, 1008);

  for (size_t i = 0; i < readers.size(); ++i) {
    ChatClient& r = *readers[i];
    auto good_count = [&] {
      int n = 0;
      for (const auto& m : r.msgs()) n += m.cid.rfind("good-", 0) == 0;
      return n;
    };
    while (good_count() < kGood) ASSERT_TRUE(r.read_one(10000)) << "reader " << i;
    int next = 0;
    for (const auto& m : r.msgs()) {
      if (m.cid.rfind("good-", 0) == 0) {
        EXPECT_EQ(m.cid, "good-" + std::to_string(next++));
      }
    }
    EXPECT_EQ(r.error(), "") << "reader " << i;
    EXPECT_TRUE(r.gaps().empty()) << "reader " << i;
  }
  EXPECT_EQ(gw.signal_and_wait(SIGTERM, 10000), 0);
}

}  // namespace tg::test
