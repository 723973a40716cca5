// ws_url_test.cpp -- parsing of the swarm's --url.
#include "bots/ws_url.hpp"

#include <gtest/gtest.h>

namespace tg::bots {
namespace {

TEST(WsUrl, ParsesHostPortAndPath) {
  const auto url = parse_ws_url("ws://127.0.0.1:8080/ws");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/ws");
  EXPECT_EQ(url->authority(), "127.0.0.1:8080");
  EXPECT_TRUE(url->loopback());
  EXPECT_FALSE(url->tls);
}

TEST(WsUrl, WssIsTlsOnPort443ByDefault) {
  const auto url = parse_ws_url("wss://127.0.0.1/ws");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->path, "/ws");
  const auto other = parse_ws_url("wss://127.0.0.1:8443/ws");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->port, 8443);
  EXPECT_FALSE(parse_ws_url("wss:/127.0.0.1/ws"));
  EXPECT_FALSE(parse_ws_url("wss://localhost/ws"));
}

TEST(WsUrl, DefaultsPortAndPathAndDropsQuery) {
  const auto url = parse_ws_url("ws://10.1.2.3");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->path, "/");
  EXPECT_FALSE(url->loopback());
  EXPECT_EQ(parse_ws_url("ws://127.0.0.2:9/ws?room=x")->path, "/ws");
}

TEST(WsUrl, RejectsWhatItCannotConnectTo) {
  EXPECT_FALSE(parse_ws_url("http://127.0.0.1/"));
  EXPECT_FALSE(parse_ws_url("ws://localhost:8080/ws"));
  EXPECT_FALSE(parse_ws_url("ws://127.0.0.1:0/ws"));
  EXPECT_FALSE(parse_ws_url("ws://127.0.0.1:70000/ws"));
  EXPECT_FALSE(parse_ws_url("ws://127.0.0.1:80x/ws"));
}

}  // namespace
}  // namespace tg::bots
