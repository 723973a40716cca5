// http_request.hpp -- HttpRequestParser: sans-I/O parsing of one HTTP/1.1 request head
// (http-parser), fed any split of bytes, for the upgrade and the small GET routes.
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tg::http {

struct HttpRequest {
  std::string method;
  std::string path;   // decoded only of the query: "/ws"
  std::string query;  // raw, without '?': "room=lobby&since=3"
  int http_major = 0;
  int http_minor = 0;
  bool upgrade = false;  // http-parser saw Upgrade with Connection: upgrade
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // The first header with this (lower-case) name, or empty.
  std::string_view header(std::string_view name) const;
};

class HttpRequestParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  // `max_header_bytes` bounds the request head; past it the request fails with 431.
  explicit HttpRequestParser(size_t max_header_bytes);
  HttpRequestParser(const HttpRequestParser&) = delete;
  HttpRequestParser& operator=(const HttpRequestParser&) = delete;

  // Feeds the next bytes. Returns kComplete once the head is parsed; `*consumed` then
  // says how many of these bytes belonged to the request (the rest are the next
  // protocol's, e.g. early WebSocket frames). After kComplete or kError, do not feed.
  State feed(const char* data, size_t len, size_t* consumed);

  // With kError: 400 (malformed) or 431 (head too large).
  int error_status() const { return error_status_; }
  const HttpRequest& request() const { return req_; }

 private:
  static int on_url(http_parser* p, const char* at, size_t len);
  static int on_header_field(http_parser* p, const char* at, size_t len);
  static int on_header_value(http_parser* p, const char* at, size_t len);
  static int on_headers_complete(http_parser* p);

  http_parser parser_{};
  http_parser_settings settings_{};
  HttpRequest req_;
  std::string url_;
  bool in_value_ = false;
  bool done_ = false;
  size_t seen_ = 0;
  size_t max_header_bytes_;
  int error_status_ = 400;
};

// Header value helpers (RFC 9110 5.6): optional white space trimmed from both ends; ASCII
// case-insensitive equality; whether a comma-separated list holds `token` (any case).
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool has_token(std::string_view list, std::string_view token);

// Splits a query string into decoded key/value pairs ("a=1&b=x%20y"). Returns false
// on a malformed percent escape.
bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>& out);

}  // namespace tg::http
