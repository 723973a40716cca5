// handshake_test.cpp -- the upgrade request and response checks of client::Handshake.
#include "client/handshake.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace tg::client {
namespace {

// RFC 6455 §1.3's example: key "dGhlIHNhbXBsZSBub25jZQ==" is base64("the sample nonce").
std::array<uint8_t, 16> sample_key() {
  std::array<uint8_t, 16> key{};
  std::memcpy(key.data(), "the sample nonce", 16);
  return key;
}

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const char* kGood =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
    "Sec-WebSocket-Protocol: tidegate.v1.zstd\r\n"
    "\r\n";

TEST(ClientHandshake, AcceptValueMatchesTheRfcExample) {
  EXPECT_EQ(Handshake::accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(ClientHandshake, RequestCarriesKeyVersionAndProtocol) {
  Handshake h("127.0.0.1:8080", "/ws?room=r1", "tidegate.v1.zstd", sample_key());
  EXPECT_EQ(h.request(),
            "GET /ws?room=r1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: tidegate.v1.zstd\r\n\r\n");
}

TEST(ClientHandshake, AcceptsAGoodResponseOneByteAtATime) {
  Handshake h("h", "/ws", "tidegate.v1.zstd", sample_key());
  const std::string response = std::string(kGood) + "\x81\x02hi";
  Handshake::State state = Handshake::State::kNeedMore;
  for (size_t i = 0; i < response.size(); ++i) {
    state = h.feed(bytes(std::string_view(response).substr(i, 1)));
    if (state != Handshake::State::kNeedMore) {
      // Everything after the blank line is WebSocket data.
      EXPECT_EQ(i + 1, std::strlen(kGood));
      break;
    }
  }
  ASSERT_EQ(state, Handshake::State::kDone) << h.error();
  EXPECT_EQ(h.protocol(), "tidegate.v1.zstd");
  EXPECT_TRUE(h.leftover().empty());
}

TEST(ClientHandshake, KeepsBytesAfterTheHeaderBlock) {
  Handshake h("h", "/ws", "tidegate.v1.zstd", sample_key());
  const std::string response = std::string(kGood) + "\x81\x02hi";
  ASSERT_EQ(h.feed(bytes(response)), Handshake::State::kDone);
  ASSERT_EQ(h.leftover().size(), 4u);
  EXPECT_EQ(h.leftover()[0], 0x81);
}

TEST(ClientHandshake, RejectsWrongStatusAcceptOrProtocol) {
  {
    Handshake h("h", "/ws", "", sample_key());
    EXPECT_EQ(h.feed(bytes("HTTP/1.1 400 Bad Request\r\n\r\n")), Handshake::State::kFailed);
    EXPECT_EQ(h.status(), 400);
  }
  {
    Handshake h("h", "/ws", "", sample_key());
    std::string bad = kGood;
    bad.replace(bad.find("s3pP"), 4, "AAAA");
    EXPECT_EQ(h.feed(bytes(bad)), Handshake::State::kFailed);
  }
  {
    Handshake h("h", "/ws", "tidegate.v1.json", sample_key());
    EXPECT_EQ(h.feed(bytes(kGood)), Handshake::State::kFailed);  // zstd was not offered
  }
  {
    Handshake h("h", "/ws", "", sample_key());
    std::string bad = kGood;
    bad.replace(bad.find("websocket"), 9, "h2c");
    EXPECT_EQ(h.feed(bytes(bad)), Handshake::State::kFailed);
  }
}

TEST(ClientHandshake, KeepsTheResponseHeadAcceptedOrRefused) {
  {
    Handshake h("h", "/ws", "tidegate.v1.zstd", sample_key());
    EXPECT_EQ(h.feed(bytes("HTTP/1.1 101 Switching Protocols\r\n")), Handshake::State::kNeedMore);
    EXPECT_EQ(h.response_head(), "");
    EXPECT_EQ(h.feed(bytes(std::string(kGood).substr(34) + "\x81\x02hi")), Handshake::State::kDone);
    EXPECT_EQ(h.response_head(), kGood);
  }
  {
    Handshake h("h", "/ws", "", sample_key());
    const std::string refused = "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n\r\n";
    EXPECT_EQ(h.feed(bytes(refused + "busy")), Handshake::State::kFailed);
    EXPECT_EQ(h.response_head(), refused);
    EXPECT_EQ(h.status(), 503);
  }
}

TEST(ClientHandshake, RejectsAnEndlessHeader) {
  Handshake h("h", "/ws", "", sample_key());
  const std::string chunk = "X-Filler: " + std::string(1000, 'a') + "\r\n";
  Handshake::State state = h.feed(bytes("HTTP/1.1 101 Switching Protocols\r\n"));
  for (int i = 0; i < 20 && state == Handshake::State::kNeedMore; ++i) {
    state = h.feed(bytes(chunk));
  }
  EXPECT_EQ(state, Handshake::State::kFailed);
}

}  // namespace
}  // namespace tg::client
