// Tests for the upgrade to /ws: sub-protocol choice, the query, and the error statuses of the
// WebSocket checks beneath it as the client sees them.
#include "protocol/upgrade.hpp"

#include <gtest/gtest.h>

#include "common/upgrade_request.hpp"

namespace tg::protocol {

using http::HttpRequest;
using test::upgrade_request;

TEST(Handshake, ValidRequestGets101WithAccept) {
  Handshake h = evaluate_handshake(upgrade_request());
  EXPECT_EQ(h.status, 101);
  EXPECT_NE(h.response.find("HTTP/1.1 101 Switching Protocols\r\n"), std::string::npos);
  EXPECT_NE(h.response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_EQ(h.response.find("Sec-WebSocket-Protocol"), std::string::npos);
  EXPECT_EQ(h.proto, Subprotocol::kJson);
  EXPECT_EQ(h.room, "lobby");
  EXPECT_FALSE(h.since.has_value());
}

TEST(Handshake, ChoosesV2ZstdWhenOfferedFirst) {
  HttpRequest r = upgrade_request();
  r.headers.emplace_back("sec-websocket-protocol", "tidegate.v2.zstd, tidegate.v1.zstd");
  Handshake h = evaluate_handshake(r);
  EXPECT_EQ(h.proto, Subprotocol::kV2Zstd);
  EXPECT_NE(h.response.find("Sec-WebSocket-Protocol: tidegate.v2.zstd\r\n"), std::string::npos);
  EXPECT_EQ(proto_label(h.proto), "v2.zstd");
  EXPECT_EQ(proto_label(Subprotocol::kZstd), "zstd");
  EXPECT_EQ(proto_label(Subprotocol::kJson), "json");
}

TEST(Handshake, ChoosesTheFirstKnownSubprotocol) {
  HttpRequest r = upgrade_request();
  r.headers.emplace_back("sec-websocket-protocol", "chat, tidegate.v1.zstd, tidegate.v1.json");
  EXPECT_EQ(choose_subprotocol(r), Subprotocol::kZstd);
  Handshake h = evaluate_handshake(r);
  EXPECT_EQ(h.proto, Subprotocol::kZstd);
  EXPECT_NE(h.response.find("Sec-WebSocket-Protocol: tidegate.v1.zstd\r\n"), std::string::npos);

  HttpRequest j = upgrade_request();
  j.headers.emplace_back("sec-websocket-protocol", "tidegate.v1.json");
  j.headers.emplace_back("sec-websocket-protocol", "tidegate.v1.zstd");
  EXPECT_EQ(choose_subprotocol(j), Subprotocol::kJson);

  HttpRequest none = upgrade_request();
  none.headers.emplace_back("sec-websocket-protocol", "mqtt");
  EXPECT_EQ(choose_subprotocol(none), std::nullopt);
  EXPECT_EQ(evaluate_handshake(none).status, 101);
}

TEST(Handshake, ReadsRoomSinceNameAndEpochFromTheQuery) {
  Handshake h = evaluate_handshake(upgrade_request("room=dev-1&since=77&name=bob&epoch=5"));
  EXPECT_EQ(h.status, 101);
  EXPECT_EQ(h.room, "dev-1");
  EXPECT_EQ(h.since, 77u);
  EXPECT_EQ(h.name, "bob");
  EXPECT_EQ(h.epoch, 5u);
}

TEST(Handshake, OriginMustBeTheSameHostUnlessAllowed) {
  HttpRequest none = upgrade_request();  // no Origin: not a browser
  EXPECT_EQ(evaluate_handshake(none).status, 101);

  HttpRequest same = upgrade_request();
  same.headers[0].second = "127.0.0.1:8080";
  same.headers.emplace_back("origin", "http://127.0.0.1:8080");
  EXPECT_EQ(evaluate_handshake(same).status, 101);

  HttpRequest other = same;
  other.headers.back().second = "https://evil.example";
  Handshake refused = evaluate_handshake(other);
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.response.find("403 Forbidden"), std::string::npos);
  EXPECT_EQ(evaluate_handshake(other, {"https://Evil.Example"}).status, 101);
  EXPECT_EQ(evaluate_handshake(other, {"*"}).status, 101);
  // An allow-list replaces the same-host default.
  EXPECT_EQ(evaluate_handshake(same, {"https://chat.example"}).status, 403);

  HttpRequest port = same;  // same host name, another port: another origin
  port.headers.back().second = "http://127.0.0.1:9999";
  EXPECT_EQ(evaluate_handshake(port).status, 403);
}

TEST(Handshake, BadQueryIs400) {
  EXPECT_EQ(evaluate_handshake(upgrade_request("room=no spaces")).status, 400);
  EXPECT_EQ(evaluate_handshake(upgrade_request("since=-1")).status, 400);
  EXPECT_EQ(evaluate_handshake(upgrade_request("since=12abc")).status, 400);
}

TEST(Handshake, WrongVersionIs426WithTheVersionWeSpeak) {
  HttpRequest r = upgrade_request();
  r.headers[4].second = "12";
  Handshake h = evaluate_handshake(r);
  EXPECT_EQ(h.status, 426);
  EXPECT_NE(h.response.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
}

TEST(Handshake, NoUpgradeIs426AndBadKeyIs400AndPostIs405) {
  HttpRequest r = upgrade_request();
  r.headers[1].second = "h2c";
  Handshake h = evaluate_handshake(r);
  EXPECT_EQ(h.status, 426);
  EXPECT_NE(h.response.find("Upgrade: websocket\r\n"), std::string::npos);

  HttpRequest k = upgrade_request();
  k.headers[3].second = "short";
  EXPECT_EQ(evaluate_handshake(k).status, 400);

  HttpRequest p = upgrade_request();
  p.method = "POST";
  EXPECT_EQ(evaluate_handshake(p).status, 405);
}

}  // namespace tg::protocol

namespace tg::protocol {

TEST(Handshake, TokenFromTheQueryOrABearerHeaderButNotBoth) {
  EXPECT_EQ(evaluate_handshake(test::upgrade_request("room=a&token=abc.def.ghi")).token,
            "abc.def.ghi");
  HttpRequest bearer = test::upgrade_request();
  bearer.headers.emplace_back("authorization", "bearer  xyz.uvw.rst ");
  Handshake h = evaluate_handshake(bearer);
  EXPECT_EQ(h.status, 101);
  EXPECT_EQ(h.token, "xyz.uvw.rst");
  HttpRequest basic = test::upgrade_request();
  basic.headers.emplace_back("authorization", "Basic dXNlcjpwdw==");  // not ours: ignored
  EXPECT_EQ(evaluate_handshake(basic).token, "");
  HttpRequest both = test::upgrade_request("token=abc");
  both.headers.emplace_back("authorization", "Bearer xyz");
  EXPECT_EQ(evaluate_handshake(both).status, 400);
  EXPECT_EQ(evaluate_handshake(test::upgrade_request()).token, "");
}

}  // namespace tg::protocol

namespace tg::protocol {

TEST(Handshake, PermessageDeflateOnlyWithoutATidegateSubprotocol) {
  HttpRequest plain = test::upgrade_request();
  plain.headers.emplace_back("sec-websocket-extensions",
                             "permessage-deflate; client_max_window_bits");
  Handshake h = evaluate_handshake(plain);
  ASSERT_EQ(h.status, 101);
  ASSERT_TRUE(h.deflate);
  EXPECT_EQ(h.deflate->server_window_bits, 15);
  EXPECT_NE(h.response.find("Sec-WebSocket-Extensions: permessage-deflate; "
                            "server_no_context_takeover; client_no_context_takeover\r\n"),
            std::string::npos);

  for (const char* proto : {"tidegate.v1.zstd", "tidegate.v1.json"}) {
    HttpRequest named = plain;
    named.headers.emplace_back("sec-websocket-protocol", proto);
    Handshake n = evaluate_handshake(named);
    EXPECT_EQ(n.status, 101);
    EXPECT_FALSE(n.deflate) << proto;
    EXPECT_EQ(n.response.find("Sec-WebSocket-Extensions"), std::string::npos) << proto;
  }

  Handshake none = evaluate_handshake(test::upgrade_request());
  EXPECT_FALSE(none.deflate);
  EXPECT_EQ(none.response.find("Sec-WebSocket-Extensions"), std::string::npos);
}

}  // namespace tg::protocol

namespace tg::protocol {

TEST(Handshake, PermessageDeflateOffIsNeverAgreed) {
  HttpRequest r = test::upgrade_request();
  r.headers.emplace_back("sec-websocket-extensions", "permessage-deflate");
  Handshake h = evaluate_handshake(r, {}, false);
  EXPECT_EQ(h.status, 101);
  EXPECT_FALSE(h.deflate);
  EXPECT_EQ(h.response.find("Sec-WebSocket-Extensions"), std::string::npos);
}

}  // namespace tg::protocol
