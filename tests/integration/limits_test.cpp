// Integration: connection limits (overall, per source address) and the open-file limit,
// against the real binary. Over a limit a client gets a clear HTTP answer; at the fd
// limit the gateway sheds the newest connections and keeps serving everyone else.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chat_client.hpp"
#include "gateway_process.hpp"
#include "ws_client.hpp"

namespace tg::test {
namespace {

// Upgrade status of one attempt on /ws, from `source` if given.
int try_upgrade(uint16_t port, const std::string& source = "", std::string* head = nullptr) {
  WsClient c;
  if (!source.empty()) c.set_source(source);
  int status = c.connect(port, "/ws", "tidegate.v1.json");
  if (head) *head = c.response_head();
  return status;
}

// A place given back by a closed client is seen by the gateway a moment later: try
// (bounded) until a client gets in.
std::unique_ptr<ChatClient> connect_when_room(uint16_t port) {
  for (int i = 0; i < 100; ++i) {
    auto c = std::make_unique<ChatClient>();
    if (c->connect(port, "", false)) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return nullptr;
}

// Adds `n` connected JSON clients to `into`.
void connect_n(uint16_t port, int n, std::vector<std::unique_ptr<ChatClient>>& into) {
  for (int i = 0; i < n; ++i) {
    into.push_back(std::make_unique<ChatClient>());
    ASSERT_TRUE(into.back()->connect(port, "", false)) << into.back()->error();
  }
}

// Everyone in `clients` gets the message `from` sends.
void expect_all_receive(std::vector<std::unique_ptr<ChatClient>>& clients, ChatClient& from,
                        const std::string& text) {
  ASSERT_TRUE(from.send(text));
  for (auto& c : clients) {
    bool got = false;
    while (!got && c->read_one(10000)) {
      auto msgs = c->msgs();
      got = !msgs.empty() && msgs.back().text == text;
    }
    EXPECT_TRUE(got) << "a client did not receive '" << text << "'";
    EXPECT_TRUE(c->gaps().empty());
  }
}

}  // namespace

TEST(Limits, OverMaxConnectionsIs503AndAPlaceFreesUp) {
  GatewayProcess gw(gateway_binary(), {"--workers", "2", "--max-connections", "3"});
  ASSERT_TRUE(gw.ok());
  std::vector<std::unique_ptr<ChatClient>> in;
  ASSERT_NO_FATAL_FAILURE(connect_n(gw.port(), 3, in));
  std::string head;
  EXPECT_EQ(try_upgrade(gw.port(), "", &head), 503);
  EXPECT_NE(head.find("Retry-After:"), std::string::npos) << head;
  // The process is alive, only full: /healthz still answers.
  WsClient probe;
  EXPECT_EQ(probe.connect(gw.port(), "/healthz", ""), 200);

  // The clients inside are unaffected; when one leaves, a newcomer gets its place.
  expect_all_receive(in, *in[0], "full house");
  in.pop_back();
  auto newcomer = connect_when_room(gw.port());
  ASSERT_NE(newcomer, nullptr);
  in.push_back(std::move(newcomer));
  EXPECT_EQ(try_upgrade(gw.port()), 503);
  expect_all_receive(in, *in.back(), "welcome");
}

TEST(Limits, OverMaxConnectionsPerIpIs429OtherAddressesAreServed) {
  // 127.0.0.2 is a loopback address too (all of 127/8 is).
  GatewayProcess gw(gateway_binary(), {"--workers", "2", "--max-connections-per-ip", "2"});
  ASSERT_TRUE(gw.ok());
  std::vector<std::unique_ptr<ChatClient>> in;
  ASSERT_NO_FATAL_FAILURE(connect_n(gw.port(), 2, in));
  std::string head;
  EXPECT_EQ(try_upgrade(gw.port(), "127.0.0.1", &head), 429);
  EXPECT_NE(head.find("Retry-After:"), std::string::npos) << head;

  auto other = std::make_unique<ChatClient>();
  other->ws().set_source("127.0.0.2");
  ASSERT_TRUE(other->connect(gw.port(), "", false)) << other->error();
  in.push_back(std::move(other));
  expect_all_receive(in, *in.back(), "from another address");
}

TEST(Limits, AtTheOpenFileLimitAcceptShedsNewcomersAndKeepsServing) {
  // 64 descriptors, and a connection limit the gateway cannot reach with them: accept
  // meets EMFILE. It must neither crash nor spin (a spinning loop would serve nobody),
  // and must serve the clients it has, and new ones once descriptors are free again.
  GatewayProcess gw(gateway_binary(), {"--workers", "1", "--max-connections", "1000"}, 64);
  ASSERT_TRUE(gw.ok());
  std::vector<std::unique_ptr<ChatClient>> in;
  int shed = 0;
  for (int i = 0; i < 120 && shed < 5; ++i) {
    auto c = std::make_unique<ChatClient>();
    if (c->connect(gw.port(), "", false)) {
      in.push_back(std::move(c));
    } else {
      ++shed;  // accepted and closed at once by the gateway: the fd limit
    }
  }
  ASSERT_GE(shed, 5) << "the open-file limit was never reached";
  std::printf("fd limit 64: %zu clients in, %d shed\n", in.size(), shed);
  ASSERT_GE(in.size(), 10u);
  expect_all_receive(in, *in.front(), "still serving at the fd limit");

  for (int i = 0; i < 5; ++i) in.pop_back();  // frees descriptors in the gateway
  auto newcomer = connect_when_room(gw.port());
  ASSERT_NE(newcomer, nullptr) << "no client got in after descriptors were freed";
  in.push_back(std::move(newcomer));
  expect_all_receive(in, *in.back(), "and accepting again");

  EXPECT_EQ(gw.signal_and_wait(SIGTERM, 20000), 0);  // exits cleanly, status 0
}

}  // namespace tg::test
