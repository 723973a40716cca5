// handshake_test.cpp -- the RFC 6455 checks of an upgrade request, the accept key, the
// 101 answer and the status slots refusals are counted in.
#include "ws/handshake.hpp"

#include <gtest/gtest.h>

#include "common/upgrade_request.hpp"

namespace tg::ws {
namespace {

using test::upgrade_request;

TEST(WsHandshake, AcceptKeyMatchesRfc6455Example) {
  // RFC 6455 section 1.3.
  EXPECT_EQ(websocket_accept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, AValidRequestPassesWithItsKey) {
  http::HttpRequest r = upgrade_request();  // the key points into the request
  UpgradeCheck c = check_upgrade(r);
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.key, "dGhlIHNhbXBsZSBub25jZQ==");
}

TEST(WsHandshake, EachViolationHasItsStatusAndTheHeadersThatSayWhy) {
  http::HttpRequest post = upgrade_request();
  post.method = "POST";
  EXPECT_EQ(check_upgrade(post).status, 405);
  EXPECT_EQ(check_upgrade(post).extra_headers, "Allow: GET\r\n");

  http::HttpRequest old = upgrade_request();
  old.http_minor = 0;
  EXPECT_EQ(check_upgrade(old).status, 400);

  http::HttpRequest no_upgrade = upgrade_request();
  no_upgrade.headers[2].second = "keep-alive";
  EXPECT_EQ(check_upgrade(no_upgrade).status, 426);
  EXPECT_EQ(check_upgrade(no_upgrade).extra_headers,
            "Upgrade: websocket\r\nConnection: Upgrade\r\n");

  http::HttpRequest version = upgrade_request();
  version.headers[4].second = "12";
  EXPECT_EQ(check_upgrade(version).status, 426);
  EXPECT_EQ(check_upgrade(version).extra_headers, "Sec-WebSocket-Version: 13\r\n");

  http::HttpRequest key = upgrade_request();
  key.headers[3].second = "AAAAAAAAAAAAAAAAAAAAAA";  // 22 characters: not 16 bytes
  EXPECT_EQ(check_upgrade(key).status, 400);
}

TEST(WsHandshake, TheAcceptResponseNamesTheProtocolOnlyWhenChosen) {
  std::string with = accept_response("dGhlIHNhbXBsZSBub25jZQ==", "tidegate.v1.zstd");
  EXPECT_EQ(with.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  EXPECT_NE(with.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
  EXPECT_NE(with.find("Sec-WebSocket-Protocol: tidegate.v1.zstd\r\n"), std::string::npos);
  EXPECT_EQ(with.substr(with.size() - 4), "\r\n\r\n");
  std::string without = accept_response("dGhlIHNhbXBsZSBub25jZQ==", "");
  EXPECT_EQ(without.find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(WsHandshake, StatusSlotsAreDistinctAndUnknownStatusesShareTheLast) {
  for (size_t i = 0; i < std::size(kHandshakeStatuses); ++i)
    EXPECT_EQ(handshake_status_slot(kHandshakeStatuses[i]), i);
  EXPECT_EQ(handshake_status_slot(418), kHandshakeStatusSlots - 1);
  EXPECT_EQ(handshake_status_slot(200), kHandshakeStatusSlots - 1);
}

}  // namespace
}  // namespace tg::ws
