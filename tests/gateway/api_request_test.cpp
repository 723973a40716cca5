// Tests for the publish API's request parsing and validation (api_request.hpp): publish
// bodies, the history query, routes, the bearer key and the key file.
#include "gateway/api_request.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace tg::gateway::api {
namespace {

using metrics::ApiRoute;

std::optional<Error> parse(std::string_view body, std::vector<PublishItem>& items, bool& array,
                           size_t max_text = 64, size_t max_items = 3) {
  PublishLimits limits;
  limits.max_text_bytes = max_text;
  limits.max_items = max_items;
  return parse_publish(body, limits, items, array);
}

TEST(ApiPublishBody, OneMessageWithAndWithoutCid) {
  std::vector<PublishItem> items;
  bool array = true;
  ASSERT_FALSE(parse(R"({"room":"lobby","text":"hi","from":"system"})", items, array));
  EXPECT_FALSE(array);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].room, "lobby");
  EXPECT_EQ(items[0].text, "hi");
  EXPECT_EQ(items[0].from, "system");
  EXPECT_EQ(items[0].cid, "");
  ASSERT_FALSE(parse(R"({"room":"r","text":"é","from":"bot:x","cid":"c-1"})", items, array));
  EXPECT_EQ(items[0].cid, "c-1");
  EXPECT_EQ(items[0].from, "bot:x");
}

TEST(ApiPublishBody, AnArrayInOrder) {
  std::vector<PublishItem> items;
  bool array = false;
  ASSERT_FALSE(parse(R"([{"room":"a","text":"1","from":"s"},{"room":"b","text":"2","from":"s"}])",
                     items, array));
  EXPECT_TRUE(array);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].room, "a");
  EXPECT_EQ(items[1].text, "2");
}

TEST(ApiPublishBody, RefusalsSayWhat) {
  std::vector<PublishItem> items;
  bool array = false;
  struct Case {
    const char* body;
    const char* code;
  } cases[] = {
      {"{", "bad_json"},
      {"", "bad_json"},
      {R"({"room":"lobby","text":"hi"})", "missing_field"},
      {R"({"text":"hi","from":"s"})", "missing_field"},
      {R"({"room":"lobby","text":5,"from":"s"})", "bad_type"},
      {R"({"room":"lobby","text":"hi","from":"s","cid":7})", "bad_type"},
      {R"({"room":"no spaces","text":"hi","from":"s"})", "bad_room"},
      {R"({"room":"","text":"hi","from":"s"})", "bad_room"},
      {R"({"room":"lobby","text":"hi","from":"guest-1"})", "bad_name"},
      {R"({"room":"lobby","text":"hi","from":" x"})", "bad_name"},
      {R"({"room":"lobby","text":"hi","from":""})", "bad_name"},
      {"\"just a string\"", "bad_request"},
      {"[]", "bad_request"},
      {"[1]", "bad_request"},
      {R"([{"room":"a","text":"1","from":"s"},{"room":"a","text":"1"}])", "missing_field"},
      {R"([{"room":"a","text":"1","from":"s"},{"room":"a","text":"1","from":"s"},
           {"room":"a","text":"1","from":"s"},{"room":"a","text":"1","from":"s"}])",
       "too_many"},
  };
  for (const Case& c : cases) {
    auto e = parse(c.body, items, array);
    ASSERT_TRUE(e) << c.body;
    EXPECT_EQ(e->status, 400) << c.body;
    EXPECT_EQ(e->code, c.code) << c.body;
    EXPECT_FALSE(e->message.empty());
  }
  // A message in an array is named in the message.
  auto e = parse(R"([{"room":"a","text":"1","from":"s"},{"room":"a b","text":"1","from":"s"}])",
                 items, array);
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("message 1"), std::string::npos) << e->message;
}

TEST(ApiPublishBody, TextOverMaxMessageBytesIsTooBig) {
  std::vector<PublishItem> items;
  bool array = false;
  std::string text(65, 'x');
  std::string body = R"({"room":"r","from":"s","text":")" + text + "\"}";
  auto e = parse(body, items, array, 64);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "too_big");
  EXPECT_FALSE(parse(body, items, array, 65));
}

TEST(ApiPublishBody, InvalidUtf8IsMalformed) {
  std::vector<PublishItem> items;
  bool array = false;
  auto e = parse("{\"room\":\"r\",\"from\":\"s\",\"text\":\"\xff\"}", items, array);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "bad_json");
}

TEST(ApiHistoryQuery, DefaultsAndValues) {
  HistoryQuery q;
  ASSERT_FALSE(parse_history_query("", q));
  EXPECT_EQ(q.since, 0u);
  EXPECT_EQ(q.limit, 100u);
  EXPECT_FALSE(q.epoch);
  ASSERT_FALSE(parse_history_query("since=42&limit=7&epoch=99", q));
  EXPECT_EQ(q.since, 42u);
  EXPECT_EQ(q.limit, 7u);
  EXPECT_EQ(q.epoch, 99u);
  for (const char* bad : {"since=-1", "since=x", "limit=0", "limit=1001", "epoch=", "since=%zz"}) {
    HistoryQuery b;
    auto e = parse_history_query(bad, b);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(e->status, 400);
  }
}

TEST(ApiRoutes, KnownUnknownAndBadRooms) {
  Target t;
  EXPECT_FALSE(match_route("/api/publish", t));
  EXPECT_EQ(t.route, ApiRoute::kPublish);
  EXPECT_FALSE(match_route("/api/rooms", t));
  EXPECT_EQ(t.route, ApiRoute::kRooms);
  EXPECT_FALSE(match_route("/api/rooms/lobby.1/history", t));
  EXPECT_EQ(t.route, ApiRoute::kHistory);
  EXPECT_EQ(t.room, "lobby.1");
  auto e = match_route("/api/rooms/bad%20room/history", t);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->status, 400);
  EXPECT_EQ(e->code, "bad_room");
  for (const char* p : {"/", "/api", "/api/publish/x", "/api/rooms//history",
                        "/api/rooms/a/b/history", "/api/rooms/a/log"}) {
    auto n = match_route(p, t);
    ASSERT_TRUE(n) << p;
    EXPECT_EQ(n->status, 404) << p;
    EXPECT_EQ(t.route, ApiRoute::kOther) << p;
  }
}

TEST(ApiKey, BearerComparison) {
  const std::string key = "0123456789abcdef";
  EXPECT_TRUE(bearer_matches("Bearer 0123456789abcdef", key));
  EXPECT_TRUE(bearer_matches("bearer  0123456789abcdef ", key));
  EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdeF", key));
  EXPECT_FALSE(bearer_matches("Bearer 0123456789abcde", key));
  EXPECT_FALSE(bearer_matches("Bearer 0123456789abcdef0", key));
  EXPECT_FALSE(bearer_matches("Basic 0123456789abcdef", key));
  EXPECT_FALSE(bearer_matches("0123456789abcdef", key));
  EXPECT_FALSE(bearer_matches("", key));
  EXPECT_FALSE(bearer_matches("Bearer ", ""));
}

class ApiKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tg-api-key-XXXXXX";
    int fd = mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  void write(const std::string& s) { std::ofstream(path_) << s; }
  std::string path_;
};

TEST_F(ApiKeyFile, TrimmedFirstLine) {
  write("  0123456789abcdefXYZ \t\nsecond line\n");
  std::string error;
  auto key = read_key_file(path_, error);
  ASSERT_TRUE(key) << error;
  EXPECT_EQ(*key, "0123456789abcdefXYZ");
}

TEST_F(ApiKeyFile, EmptyShortOrMissingIsRefused) {
  std::string error;
  write("\n");
  EXPECT_FALSE(read_key_file(path_, error));
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  write("short\n");
  EXPECT_FALSE(read_key_file(path_, error));
  EXPECT_NE(error.find("too short"), std::string::npos) << error;
  EXPECT_FALSE(read_key_file(path_ + ".missing", error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
}

TEST(ApiErrors, JsonBody) {
  EXPECT_EQ(error_json("bad_room", "a \"quoted\" room"),
            R"({"error":"bad_room","message":"a \"quoted\" room"})");
}

}  // namespace
}  // namespace tg::gateway::api
