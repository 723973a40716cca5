// Integration: WebSocket protocol violations against the real binary each get their
// RFC 6455 close code, and cost the well-behaved clients nothing.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "chat_client.hpp"
#include "client/frame_builder.hpp"
#include "gateway_process.hpp"

namespace tg::test {

using client::client_frame;
using client::close_payload;

TEST(WsErrors, EachViolationGetsItsCloseCodeAndOthersAreUnaffected) {
  GatewayProcess gw(gateway_binary(), {"--workers", "2", "--max-message-bytes", "1024"});
  ASSERT_TRUE(gw.ok());
  ChatClient bystander;  // in the same room throughout
  ASSERT_TRUE(bystander.connect(gw.port(), "", true));

  struct Case {
    const char* what;
    std::string bytes;
    int close_code;
  };
  const std::vector<Case> cases = {
      {"unmasked frame", client_frame(0x1, "hi", true, false), 1002},
      {"reserved bits", client_frame(0x1, "hi", true, true, 0x4), 1002},
      {"unknown opcode", client_frame(0x3, "?"), 1002},
      {"ping over 125 bytes", client_frame(0x9, std::string(200, 'p')), 1002},
      {"fragmented ping", client_frame(0x9, "p", false) + client_frame(0x0, "q"), 1002},
      {"close with a one-byte body", client_frame(0x8, "x"), 1002},
      {"close code 1005 (reserved)", client_frame(0x8, close_payload(1005)), 1002},
      {"close code 5000 (unassigned)", client_frame(0x8, close_payload(5000)), 1002},
      {"invalid utf-8", client_frame(0x1, "bad \x80"), 1007},
      {"invalid utf-8 across fragments",
       client_frame(0x1, "ok \xC3", false) + client_frame(0x0, "("), 1007},
      {"message over --max-message-bytes", client_frame(0x1, std::string(2000, 'x')), 1009},
      {"binary message", client_frame(0x2, "bin"), 1003},
  };
  for (const Case& c : cases) {
    ChatClient bad;
    ASSERT_TRUE(bad.connect(gw.port(), "", false)) << c.what;
    ASSERT_TRUE(bad.ws().send_raw(c.bytes)) << c.what;
    EXPECT_EQ(bad.read_until_closed(10000), c.close_code) << c.what;
  }

  ChatClient sender;
  ASSERT_TRUE(sender.connect(gw.port(), "", true));
  ASSERT_TRUE(sender.send("still here"));
  while (bystander.msgs().empty()) ASSERT_TRUE(bystander.read_one(10000));
  EXPECT_EQ(bystander.msgs().front().text, "still here");
  EXPECT_EQ(bystander.error(), "");
  EXPECT_TRUE(bystander.gaps().empty());
}

TEST(WsErrors, FragmentedMessageWithInterleavedPingsIsReassembled) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1"});
  ASSERT_TRUE(gw.ok());
  ChatClient c;
  ASSERT_TRUE(c.connect(gw.port(), "", true));
  ASSERT_TRUE(c.ws().send_raw(client_frame(0x1, "hel", false) + client_frame(0x9, "p1") +
                              client_frame(0x0, "lo ", false) + client_frame(0x9, "p2") +
                              client_frame(0x0, "world")));
  while (c.msgs().empty()) ASSERT_TRUE(c.read_one(10000));
  EXPECT_EQ(c.msgs().front().text, "hello world");
}

TEST(WsErrors, ARequestSentTooSlowlyIsCutAfterTheHandshakeTimeout) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1", "--handshake-timeout-ms", "300"});
  ASSERT_TRUE(gw.ok());
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(gw.port());
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string partial = "GET /ws HTTP/1.1\r\nHost: x\r\n";  // and then nothing
  ASSERT_EQ(send(fd, partial.data(), partial.size(), MSG_NOSIGNAL), ssize_t(partial.size()));
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 10000), 1) << "the server never cut the slow request";
  char buf[64];
  EXPECT_LE(recv(fd, buf, sizeof buf, 0), 0);  // closed, with nothing said
  close(fd);
}

}  // namespace tg::test

namespace tg::test {

TEST(WsErrors, ASilentClientIsPingedThenClosedOneThatAnswersStays) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1", "--idle-timeout-s", "1"});
  ASSERT_TRUE(gw.ok());
  ChatClient silent, alive;
  ASSERT_TRUE(silent.connect(gw.port(), "", true));
  ASSERT_TRUE(alive.connect(gw.port(), "", true));
  // `alive` reads for 3.5 s; its wslay answers each ping with a pong.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(3500);
  while (std::chrono::steady_clock::now() < until) alive.read_one(100);
  EXPECT_FALSE(alive.ws().closed());
  // `silent` never read, so never answered: it was closed with 1001.
  EXPECT_EQ(silent.read_until_closed(10000), 1001);
  // `alive` still works.
  ASSERT_TRUE(alive.send("still here"));
  while (alive.msgs().empty()) ASSERT_TRUE(alive.read_one(10000));
  EXPECT_EQ(alive.msgs().back().text, "still here");
}

}  // namespace tg::test
