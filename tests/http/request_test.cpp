// Tests for HttpRequestParser: fed whole, one byte at a time and in random chunks.
#include "http/request.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tg::http {
namespace {

const std::string kUpgrade =
    "GET /ws?room=lobby&since=42&name=al%20ice HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: tidegate.v1.zstd\r\n"
    "\r\n";

// Feeds `input` in chunks chosen by `next_len`; returns the final state and how many
// bytes of the last chunk were the request's.
template <typename NextLen>
HttpRequestParser::State feed_chunks(HttpRequestParser& p, const std::string& input,
                                     NextLen next_len, size_t* total_used) {
  size_t off = 0;
  *total_used = 0;
  while (off < input.size()) {
    size_t n = std::min(next_len(), input.size() - off);
    size_t used = 0;
    auto st = p.feed(input.data() + off, n, &used);
    *total_used += used;
    off += n;
    if (st != HttpRequestParser::State::kIncomplete) return st;
  }
  return HttpRequestParser::State::kIncomplete;
}

void expect_upgrade_parsed(const HttpRequest& r) {
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.path, "/ws");
  EXPECT_EQ(r.query, "room=lobby&since=42&name=al%20ice");
  EXPECT_EQ(r.http_major, 1);
  EXPECT_EQ(r.http_minor, 1);
  EXPECT_TRUE(r.upgrade);
  EXPECT_EQ(r.header("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(r.header("upgrade"), "websocket");
  EXPECT_EQ(r.header("sec-websocket-protocol"), "tidegate.v1.zstd");
  EXPECT_EQ(r.header("missing"), "");
}

}  // namespace

TEST(HttpRequestParser, ParsesAWholeUpgradeRequest) {
  HttpRequestParser p(8192);
  size_t used = 0;
  ASSERT_EQ(p.feed(kUpgrade.data(), kUpgrade.size(), &used), HttpRequestParser::State::kComplete);
  EXPECT_EQ(used, kUpgrade.size());
  expect_upgrade_parsed(p.request());
}

TEST(HttpRequestParser, ParsesOneByteAtATime) {
  HttpRequestParser p(8192);
  size_t used = 0;
  ASSERT_EQ(feed_chunks(
                p, kUpgrade, [] { return size_t{1}; }, &used),
            HttpRequestParser::State::kComplete);
  EXPECT_EQ(used, kUpgrade.size());
  expect_upgrade_parsed(p.request());
}

TEST(HttpRequestParser, ParsesRandomChunks) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    HttpRequestParser p(8192);
    size_t used = 0;
    std::uniform_int_distribution<size_t> len(1, 40);
    ASSERT_EQ(feed_chunks(
                  p, kUpgrade, [&] { return len(rng); }, &used),
              HttpRequestParser::State::kComplete);
    expect_upgrade_parsed(p.request());
  }
}

TEST(HttpRequestParser, LeavesBytesAfterTheHeadUnconsumed) {
  std::string input = kUpgrade + "\x81\x85XXXX";  // an early WebSocket frame
  HttpRequestParser p(8192);
  size_t used = 0;
  ASSERT_EQ(p.feed(input.data(), input.size(), &used), HttpRequestParser::State::kComplete);
  EXPECT_EQ(used, kUpgrade.size());
}

TEST(HttpRequestParser, MalformedRequestIs400) {
  HttpRequestParser p(8192);
  std::string bad = "GET /ws HTTP/1.1\r\nHost example\r\n\r\n";
  size_t used = 0;
  EXPECT_EQ(p.feed(bad.data(), bad.size(), &used), HttpRequestParser::State::kError);
  EXPECT_EQ(p.error_status(), 400);
}

TEST(HttpRequestParser, OversizedHeadIs431EvenWhenFedInPieces) {
  HttpRequestParser p(512);
  std::string big = "GET / HTTP/1.1\r\nX-Filler: " + std::string(1000, 'a') + "\r\n\r\n";
  size_t used = 0;
  EXPECT_EQ(feed_chunks(
                p, big, [] { return size_t{100}; }, &used),
            HttpRequestParser::State::kError);
  EXPECT_EQ(p.error_status(), 431);
}

TEST(ParseQuery, DecodesPercentAndPlus) {
  std::vector<std::pair<std::string, std::string>> q;
  ASSERT_TRUE(parse_query("a=1&b=x%20y+z&&flag", q));
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[1].second, "x y z");
  EXPECT_EQ(q[2].first, "flag");
  std::vector<std::pair<std::string, std::string>> bad;
  EXPECT_FALSE(parse_query("a=%4", bad));
  EXPECT_FALSE(parse_query("a=%zz", bad));
}

}  // namespace tg::http
