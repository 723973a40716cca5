// http_request.cpp -- request-head parsing on top of http-parser's callbacks.
#include "http/request.hpp"

#include <algorithm>
#include <cctype>

namespace tg::http {

namespace {
HttpRequestParser* self_of(http_parser* p) {
  return static_cast<HttpRequestParser*>(p->data);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return true;
}
}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

HttpRequestParser::HttpRequestParser(size_t max_header_bytes)
    : max_header_bytes_(max_header_bytes) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_value = on_header_value;
  settings_.on_headers_complete = on_headers_complete;
}

int HttpRequestParser::on_url(http_parser* p, const char* at, size_t len) {
  self_of(p)->url_.append(at, len);
  return 0;
}

int HttpRequestParser::on_header_field(http_parser* p, const char* at, size_t len) {
  auto* self = self_of(p);
  if (self->in_value_ || self->req_.headers.empty()) {
    self->req_.headers.emplace_back();
    self->in_value_ = false;
  }
  std::string& name = self->req_.headers.back().first;
  for (size_t i = 0; i < len; ++i)
    name.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(at[i]))));
  return 0;
}

int HttpRequestParser::on_header_value(http_parser* p, const char* at, size_t len) {
  auto* self = self_of(p);
  self->in_value_ = true;
  self->req_.headers.back().second.append(at, len);
  return 0;
}

int HttpRequestParser::on_headers_complete(http_parser* p) {
  auto* self = self_of(p);
  HttpRequest& r = self->req_;
  r.method = http_method_str(static_cast<http_method>(p->method));
  r.http_major = p->http_major;
  r.http_minor = p->http_minor;
  r.upgrade = p->upgrade;
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(self->url_.data(), self->url_.size(), 0, &u) != 0) return 1;
  if (u.field_set & (1 << UF_PATH))
    r.path = self->url_.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  if (u.field_set & (1 << UF_QUERY))
    r.query = self->url_.substr(u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
  self->done_ = true;
  // Returning 2 tells http-parser there is no body to expect: we answer the head.
  return 2;
}

HttpRequestParser::State HttpRequestParser::feed(const char* data, size_t len, size_t* consumed) {
  size_t n = http_parser_execute(&parser_, &settings_, data, len);
  *consumed = n;
  seen_ += n;
  if (seen_ > max_header_bytes_) {
    error_status_ = 431;
    return State::kError;
  }
  if (done_) return State::kComplete;
  if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK) {
    error_status_ = HTTP_PARSER_ERRNO(&parser_) == HPE_HEADER_OVERFLOW ? 431 : 400;
    return State::kError;
  }
  return State::kIncomplete;
}

bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>& out) {
  std::string key, value;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view k = part.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    if (!percent_decode(k, key) || !percent_decode(v, value)) return false;
    out.emplace_back(key, value);
  }
  return true;
}

}  // namespace tg::http
