// redis_url_test.cpp -- parsing --redis.
#include "cluster/redis_url.hpp"

#include <gtest/gtest.h>

namespace tg::cluster {
namespace {

RedisUrl parse_ok(std::string_view url) {
  std::string error;
  auto r = parse_redis_url(url, error);
  EXPECT_TRUE(r.has_value()) << url << ": " << error;
  return r.value_or(RedisUrl{});
}

std::string parse_error(std::string_view url) {
  std::string error;
  auto r = parse_redis_url(url, error);
  EXPECT_FALSE(r.has_value()) << url;
  return error;
}

TEST(RedisUrl, HostAndPort) {
  RedisUrl u = parse_ok("redis://127.0.0.1:6380");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 6380);
  EXPECT_EQ(u.db, 0);
  EXPECT_TRUE(u.password.empty());
  EXPECT_EQ(parse_ok("redis://redis.internal").port, 6379);
}

TEST(RedisUrl, PasswordUserAndDatabase) {
  RedisUrl u = parse_ok("redis://:s3cr:et@10.0.0.2:7000/3");
  EXPECT_EQ(u.user, "");
  EXPECT_EQ(u.password, "s3cr:et");
  EXPECT_EQ(u.host, "10.0.0.2");
  EXPECT_EQ(u.db, 3);
  RedisUrl acl = parse_ok("redis://tidegate:pw@[::1]:7001");
  EXPECT_EQ(acl.user, "tidegate");
  EXPECT_EQ(acl.password, "pw");
  EXPECT_EQ(acl.host, "::1");
  EXPECT_EQ(acl.port, 7001);
}

TEST(RedisUrl, RedactedHidesThePassword) {
  RedisUrl u = parse_ok("redis://:hunter2@127.0.0.1:6379/2");
  EXPECT_EQ(u.redacted(), "redis://:***@127.0.0.1:6379/2");
  EXPECT_EQ(u.redacted().find("hunter2"), std::string::npos);
}

TEST(RedisUrl, UnixSocket) {
  RedisUrl u = parse_ok("unix:///run/redis/redis.sock?db=1");
  EXPECT_EQ(u.unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(u.db, 1);
  EXPECT_TRUE(u.host.empty());
}

TEST(RedisUrl, MalformedUrlsAreRefusedWithAReason) {
  EXPECT_NE(parse_error("http://127.0.0.1:6379").find("redis://"), std::string::npos);
  EXPECT_NE(parse_error("redis://127.0.0.1:0").find("port"), std::string::npos);
  EXPECT_NE(parse_error("redis://127.0.0.1:99999").find("port"), std::string::npos);
  EXPECT_NE(parse_error("redis://127.0.0.1:6379/x").find("database"), std::string::npos);
  EXPECT_NE(parse_error("redis://").find("no host"), std::string::npos);
  EXPECT_NE(parse_error("unix://relative.sock").find("absolute"), std::string::npos);
  EXPECT_NE(parse_error("redis://[::1").find("["), std::string::npos);
}

}  // namespace
}  // namespace tg::cluster
