// Integration: the plain HTTP routes and handshake refusals of the real binary.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "gateway_process.hpp"
#include "ws_client.hpp"

namespace tg::test {
namespace {

// Sends `request` and returns everything the server answers until it closes (or, for
// a 101, the response head).
std::string exchange(uint16_t port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  std::string got;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) >= 0) {
    char buf[8192];
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 10000) > 0) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, n);
      // An upgraded connection stays open: its head is all there is to read.
      if (got.rfind("HTTP/1.1 101", 0) == 0 && got.find("\r\n\r\n") != std::string::npos) break;
    }
  }
  close(fd);
  return got;
}

std::string status_line(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

}  // namespace

TEST(Http, HealthReadyPageAndNotFound) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1"});
  ASSERT_TRUE(gw.ok());
  EXPECT_EQ(status_line(exchange(gw.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 200 OK");
  EXPECT_EQ(status_line(exchange(gw.port(), "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 200 OK");
  std::string page = exchange(gw.port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_line(page), "HTTP/1.1 200 OK");
  EXPECT_NE(page.find("Content-Type: text/html"), std::string::npos);
  EXPECT_NE(page.find("<html"), std::string::npos);
  EXPECT_EQ(status_line(exchange(gw.port(), "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 404 Not Found");
}

TEST(Http, BadRequestsGetClearStatuses) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1", "--max-header-bytes", "1024"});
  ASSERT_TRUE(gw.ok());
  EXPECT_EQ(status_line(exchange(gw.port(), "BLAH\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  std::string not_upgrade = exchange(gw.port(), "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_line(not_upgrade), "HTTP/1.1 426 Upgrade Required");
  EXPECT_NE(not_upgrade.find("\r\nUpgrade: websocket\r\n"), std::string::npos) << not_upgrade;
  std::string post = exchange(gw.port(), "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(status_line(post), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(post.find("\r\nAllow: GET, HEAD\r\n"), std::string::npos) << post;
  std::string wrong_version =
      exchange(gw.port(),
               "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
  EXPECT_EQ(status_line(wrong_version), "HTTP/1.1 426 Upgrade Required");
  EXPECT_NE(wrong_version.find("Sec-WebSocket-Version: 13"), std::string::npos);
  std::string huge = "GET / HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n";
  EXPECT_EQ(status_line(exchange(gw.port(), huge)), "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST(Http, CrossSiteOriginIsRefusedWith403) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1"});
  ASSERT_TRUE(gw.ok());
  auto upgrade = [&](const std::string& origin) {
    std::string host = "127.0.0.1:" + std::to_string(gw.port());
    return status_line(
        exchange(gw.port(),
                 "GET /ws HTTP/1.1\r\nHost: " + host +
                     "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     "Origin: " +
                     origin + "\r\n\r\n"));
  };
  EXPECT_EQ(upgrade("https://evil.example"), "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(upgrade("http://127.0.0.1:" + std::to_string(gw.port())),
            "HTTP/1.1 101 Switching Protocols");
}

TEST(Http, ClientSubprotocolIsEchoedAndJsonIsTheDefault) {
  GatewayProcess gw(gateway_binary(), {"--workers", "1"});
  ASSERT_TRUE(gw.ok());
  WsClient zstd;
  ASSERT_EQ(zstd.connect(gw.port(), "/ws", "tidegate.v1.zstd"), 101);
  EXPECT_NE(zstd.response_head().find("Sec-WebSocket-Protocol: tidegate.v1.zstd"),
            std::string::npos);
  WsClient plain;
  ASSERT_EQ(plain.connect(gw.port(), "/ws", ""), 101);
  EXPECT_EQ(plain.response_head().find("Sec-WebSocket-Protocol"), std::string::npos);
  auto hello = plain.recv(10000);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->opcode, 1);
  EXPECT_NE(hello->data.find("\"proto\":\"json\""), std::string::npos);
}

}  // namespace tg::test
