// redis_url.hpp -- RedisUrl: where the cluster backplane's Redis is, parsed from --redis.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tg::cluster {

struct RedisUrl {
  std::string host;  // TCP host (an IP address or a name the resolver knows)
  uint16_t port = 6379;
  std::string unix_path;  // set instead of host for unix:///path
  std::string user;       // ACL user (AUTH user password); empty: the default user
  std::string password;   // empty: no AUTH
  int db = 0;

  // The URL without its password, for logs and errors.
  std::string redacted() const;
};

// Parses redis://[[user]:password@]host[:port][/db] and unix:///path[?db=N]. Returns
// nullopt and sets `error` when the URL is malformed.
std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& error);

}  // namespace tg::cluster
