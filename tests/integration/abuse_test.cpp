// Integration: a flooding client is throttled, told so, and closed with 1008, while the
// well-behaved clients in the same room lose nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "gateway_process.hpp"
#include "ws_client.hpp"

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

namespace tg::test {

// Bad names and room names: refused with a clear answer (400 on connect for a room,
// an error notice otherwise); the connection stays usable.
TEST(Abuse, BadNamesAndRoomsAreRefusedClearlyAndTheClientStays) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1"});
  ASSERT_TRUE(gw.ok());
  for (const std::string& room :
       std::vector<std::string>{"no%20spaces", "a%2Fb", std::string(65, 'r'), ""}) {
    WsClient c;
    EXPECT_EQ(c.connect(gw.port(), "/ws?room=" + room, "tidegate.v1.json"), 400) << room;
  }

  ChatClient c;
  ASSERT_TRUE(c.connect(gw.port(), "?name=guest-7", false));  // the server's own form
  EXPECT_EQ(c.name().rfind("guest-", 0), 0u);
  EXPECT_NE(c.name(), "guest-7");
  const std::vector<std::string> bad = {
      R"({"t":"name","name":")" + std::string(33, 'n') + "\"}",  // over 32 bytes
      R"({"t":"name","name":" lead"})",
      R"({"t":"name","name":"bell\u0007"})",
      R"({"t":"name","name":"guest-1"})",  // the reserved form
      R"({"t":"join","room":"x/y"})",
      R"({"t":"join","room":")" + std::string(65, 'r') + "\"}",
  };
  for (const auto& cmd : bad) ASSERT_TRUE(c.send(cmd));
  ASSERT_TRUE(c.send(R"({"t":"name","name":"zoë"})"));
  size_t want = 1 + bad.size() + 1;  // the connect's refusal, each bad one, "named"
  while (c.notices().size() < want) ASSERT_TRUE(c.read_one(10000)) << c.notices().size();
  const auto& n = c.notices();
  EXPECT_NE(n[0].find("\"bad_name\""), std::string::npos) << n[0];
  for (size_t i = 1; i <= 4; ++i) EXPECT_NE(n[i].find("\"bad_name\""), std::string::npos) << n[i];
  for (size_t i = 5; i <= 6; ++i) EXPECT_NE(n[i].find("\"bad_room\""), std::string::npos) << n[i];
  EXPECT_NE(n[7].find("\"named\""), std::string::npos) << n[7];
  EXPECT_NE(n[7].find("zoë"), std::string::npos) << n[7];

  ASSERT_TRUE(c.send("still here"));
  while (c.msgs().empty()) ASSERT_TRUE(c.read_one(10000));
  EXPECT_EQ(c.msgs().back().text, "still here");
  EXPECT_EQ(c.msgs().back().from, "zoë");
}

}  // namespace tg::test
