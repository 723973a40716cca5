// redis_url.cpp -- parsing --redis.
#include "cluster/redis_url.hpp"

#include <charconv>

namespace tg::cluster {

namespace {
bool parse_int(std::string_view s, int lo, int hi, int& out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}
}  // namespace

std::string RedisUrl::redacted() const {
  std::string out;
  if (!unix_path.empty()) {
    out = "unix://";
    out += unix_path;
  } else {
    out = "redis://";
    if (!password.empty()) {
      out += user;
      out += ":***@";
    }
    out += host;
    out += ':';
    out += std::to_string(port);
  }
  if (db != 0) {
    out += unix_path.empty() ? "/" : "?db=";
    out += std::to_string(db);
  }
  return out;
}

std::optional<RedisUrl> parse_redis_url(std::string_view url, std::string& error) {
  RedisUrl r;
  constexpr std::string_view kTcp = "redis://", kUnix = "unix://";
  if (url.starts_with(kUnix)) {
    std::string_view rest = url.substr(kUnix.size());
    size_t q = rest.find('?');
    if (q != std::string_view::npos) {
      std::string_view query = rest.substr(q + 1);
      rest = rest.substr(0, q);
      if (!query.starts_with("db=") || !parse_int(query.substr(3), 0, 1 << 20, r.db)) {
        error = "the only query a unix:// Redis URL takes is ?db=N";
        return std::nullopt;
      }
    }
    if (!rest.starts_with('/')) {
      error = "a unix:// Redis URL needs an absolute path: unix:///run/redis/redis.sock";
      return std::nullopt;
    }
    r.unix_path = std::string(rest);
    return r;
  }
  if (!url.starts_with(kTcp)) {
    error = "a Redis URL starts with redis:// or unix://";
    return std::nullopt;
  }
  std::string_view rest = url.substr(kTcp.size());
  size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      r.password = std::string(cred);  // redis://secret@host: the password alone
    } else {
      r.user = std::string(cred.substr(0, colon));
      r.password = std::string(cred.substr(colon + 1));
    }
  }
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty() && !parse_int(db, 0, 1 << 20, r.db)) {
      error = "the database in a Redis URL is a number: redis://host:6379/0";
      return std::nullopt;
    }
  }
  std::string_view host = rest;
  if (rest.starts_with('[')) {  // [IPv6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated [ in the Redis URL's host";
      return std::nullopt;
    }
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      error = "expected :port after ] in the Redis URL";
      return std::nullopt;
    }
  } else {
    size_t colon = rest.rfind(':');
    host = colon == std::string_view::npos ? rest : rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon);
  }
  if (rest.starts_with(':')) {
    int port = 0;
    if (!parse_int(rest.substr(1), 1, 65535, port)) {
      error = "the port in a Redis URL is 1-65535";
      return std::nullopt;
    }
    r.port = static_cast<uint16_t>(port);
  }
  if (host.empty()) {
    error = "the Redis URL has no host: redis://127.0.0.1:6379";
    return std::nullopt;
  }
  r.host = std::string(host);
  return r;
}

}  // namespace tg::cluster
