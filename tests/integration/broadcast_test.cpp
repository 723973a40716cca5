// Integration: the real binary, 2 workers, 50 clients on both sub-protocols, 10 senders
// x 200 messages: every client gets every message exactly once, all in the same order.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "gateway_process.hpp"

namespace tg::test {

TEST(Broadcast, FiftyClientsTenSendersEveryMessageOnceInOneOrder) {
  constexpr int kClients = 50, kSenders = 10, kPerSender = 200;
  // Senders blast their messages: the flood limit is not what this test is about.
  GatewayProcess gw(gateway_binary(), {"--workers", "2", "--rate-limit", "0"});
  ASSERT_TRUE(gw.ok());

  std::vector<std::unique_ptr<ChatClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<ChatClient>());
    ASSERT_TRUE(clients.back()->connect(gw.port(), "?room=lobby", i % 2 == 0))
        << clients.back()->error();
  }

  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<int> reached(kClients, 0);
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      ChatClient& c = *clients[i];
      if (i < kSenders) {
        for (int k = 0; k < kPerSender; ++k) {
          char cid[32];
          snprintf(cid, sizeof cid, "s%d-%d", i, k);
          if (!c.send(std::string(R"({"t":"msg","text":"message )") + cid + R"(","cid":")" + cid +
                      "\"}"))
            return;
        }
      }
      reached[i] = c.read_until_msgs(kSenders * kPerSender, 60000);
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  printf("delivered %d messages x %d clients in %.3f s: %.0f deliveries/s\n", kSenders * kPerSender,
         kClients, secs, kSenders * kPerSender * kClients / secs);

  const auto reference = clients[0]->msgs();
  for (int i = 0; i < kClients; ++i) {
    ChatClient& c = *clients[i];
    ASSERT_TRUE(reached[i]) << "client " << i << " got " << c.msgs().size() << " " << c.error();
    EXPECT_EQ(c.error(), "") << "client " << i;
    EXPECT_TRUE(c.gaps().empty()) << "client " << i;
    auto msgs = c.msgs();
    ASSERT_EQ(msgs.size(), size_t{kSenders * kPerSender}) << "client " << i;
    // Exactly once: every cid seen once; each sender's messages in its own order.
    std::map<std::string, int> seen;
    std::vector<int> last_k(kSenders, -1);
    for (const auto& m : msgs) {
      ++seen[m.cid];
      int s = 0, k = 0;
      ASSERT_EQ(sscanf(m.cid.c_str(), "s%d-%d", &s, &k), 2) << m.cid;
      EXPECT_EQ(k, last_k[s] + 1) << "sender " << s << " out of order at client " << i;
      last_k[s] = k;
    }
    EXPECT_EQ(seen.size(), size_t{kSenders * kPerSender});
    // One order: the same seq carries the same message for every client.
    for (size_t j = 0; j < msgs.size(); ++j) {
      ASSERT_EQ(msgs[j].seq, reference[j].seq) << "client " << i;
      ASSERT_EQ(msgs[j].cid, reference[j].cid) << "client " << i;
    }
  }
  EXPECT_EQ(gw.signal_and_wait(SIGTERM, 10000), 0);
}

TEST(Broadcast, ResumeReplaysWhatTheLogHoldsAndAnnouncesTheRest) {
  // A tiny history, so that early messages are evicted.
  GatewayProcess gw(gateway_binary(),
                    {"--workers", "2", "--history-bytes", "2048", "--rate-limit", "0"});
  ASSERT_TRUE(gw.ok());
  ChatClient sender;
  ASSERT_TRUE(sender.connect(gw.port(), "?room=r", true)) << sender.error();
  for (int k = 0; k < 100; ++k) {
    // Sent one at a time (waiting for each), so each is its own batch.
    std::string text = std::to_string(k);
    text.append(" ").append(60, 'x');
    ASSERT_TRUE(sender.send("m" + text));
    ASSERT_TRUE(sender.read_until_msgs(k + 1, 10000));
  }
  uint64_t last = sender.events().back().seq;

  ChatClient recent;  // resumes from a point the log still holds
  ASSERT_TRUE(recent.connect(gw.port(), "?room=r&since=" + std::to_string(last - 3), false));
  ASSERT_TRUE(recent.read_until_msgs(3, 10000)) << recent.error();
  EXPECT_TRUE(recent.gaps().empty());
  EXPECT_EQ(recent.msgs().front().seq, last - 2);
  EXPECT_EQ(recent.error(), "");

  ChatClient old;  // resumes from the start: most of it is gone
  ASSERT_TRUE(old.connect(gw.port(), "?room=r&since=0", true));
  ASSERT_TRUE(old.read_one(10000));
  ASSERT_EQ(old.gaps().size(), 1u);
  EXPECT_EQ(old.gaps()[0].from, 1u);
  EXPECT_GT(old.gaps()[0].to, 1u);
  ASSERT_TRUE(old.read_until_msgs(1, 10000));
  EXPECT_EQ(old.events().front().seq, old.gaps()[0].to + 1);
  EXPECT_EQ(old.error(), "");

  ChatClient other_run;  // a `since` from another server run is ignored: live from now
  ASSERT_TRUE(other_run.connect(
      gw.port(), "?room=r&since=1&epoch=" + std::to_string(sender.epoch() + 1), true));
  EXPECT_GE(other_run.hello_seq(), last);
  ASSERT_TRUE(sender.send("after"));
  ASSERT_TRUE(other_run.read_until_msgs(1, 10000));
  EXPECT_TRUE(other_run.gaps().empty());
  EXPECT_EQ(other_run.msgs().front().text, "after");
  for (const auto& e : other_run.events()) EXPECT_GT(e.seq, last);
}

}  // namespace tg::test

namespace tg::test {

// The window a client is told of (hello, pong) is its own room's, as the room's latest
// batch carried it from the Batcher.
TEST(Broadcast, PongAndHelloTellTheWindowOfTheClientsRoom) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1", "--window-ms", "20"});
  ASSERT_TRUE(gw.ok());
  ChatClient a;
  ASSERT_TRUE(a.connect(gw.port(), "?room=w", false)) << a.error();
  ASSERT_TRUE(a.send("hello"));
  ASSERT_TRUE(a.read_until_msgs(1, 10000));
  ASSERT_TRUE(a.send(R"({"t":"ping","id":1})"));
  std::string pong;
  for (int i = 0; i < 50 && pong.empty(); ++i) {
    a.read_one(200);
    for (const std::string& n : a.notices())
      if (n.find(R"("t":"pong")") != std::string::npos) pong = n;
  }
  EXPECT_NE(pong.find(R"("window_ms":20)"), std::string::npos) << pong;
  // A newcomer to the room is told the same window in its hello.
  WsClient b;
  ASSERT_EQ(b.connect(gw.port(), "/ws?room=w", ""), 101);
  auto hello = b.recv(10000);
  ASSERT_TRUE(hello.has_value());
  EXPECT_NE(hello->data.find(R"("window_ms":20)"), std::string::npos) << hello->data;
}

}  // namespace tg::test

namespace tg::test {

// A room larger than a Shard's fan-out slice (256 connections a loop turn): every member
// still gets every message once, in order, while another room keeps being served.
TEST(Broadcast, AFanOutLargerThanASliceReachesEveryMemberInOrder) {
  constexpr int kMembers = 600, kMessages = 20;
  GatewayProcess gw(gateway_binary(), {"--workers", "1", "--rate-limit", "0"});
  ASSERT_TRUE(gw.ok());
  std::vector<std::unique_ptr<ChatClient>> members;
  for (int i = 0; i < kMembers; ++i) {
    members.push_back(std::make_unique<ChatClient>());
    ASSERT_TRUE(members.back()->connect(gw.port(), "?room=big", true)) << i;
  }
  ChatClient quiet;
  ASSERT_TRUE(quiet.connect(gw.port(), "?room=small", true)) << quiet.error();
  // Texts built by appending (see window_controller_test.cpp on GCC 12's -Wrestrict).
  auto text = [](const char* what, int k) { return std::string(what).append(std::to_string(k)); };
  for (int k = 0; k < kMessages; ++k) {
    ASSERT_TRUE(members[0]->send(text("big ", k)));
    ASSERT_TRUE(quiet.send(text("small ", k)));
  }
  ASSERT_TRUE(quiet.read_until_msgs(kMessages, 10000)) << quiet.error();
  for (int i = 0; i < kMembers; ++i) {
    ChatClient& c = *members[i];
    ASSERT_TRUE(c.read_until_msgs(kMessages, 10000)) << "member " << i << ": " << c.error();
    auto msgs = c.msgs();
    ASSERT_EQ(msgs.size(), size_t{kMessages}) << "member " << i;
    for (int k = 0; k < kMessages; ++k) EXPECT_EQ(msgs[k].text, text("big ", k));
    EXPECT_TRUE(c.gaps().empty()) << "member " << i;
  }
  EXPECT_EQ(gw.signal_and_wait(SIGTERM, 10000), 0);
}

}  // namespace tg::test
