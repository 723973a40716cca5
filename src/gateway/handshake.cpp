// handshake.cpp -- checking upgrade requests and computing Sec-WebSocket-Accept.
#include "gateway/handshake.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <charconv>
#include <vector>

#include "gateway/http_response.hpp"
#include "gateway/names.hpp"

namespace tg::gateway {

namespace {

// RFC 6455 section 1.3: the GUID appended to the client's key.
constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// True when the comma-separated header list contains `token` (case-insensitive).
bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// RFC 6455 4.1: the key is base64 of 16 random bytes, i.e. 24 characters.
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  unsigned char raw[24];
  int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(key.data()), 24);
  return n == 18;  // EVP_DecodeBlock counts the two padding bytes
}

Handshake fail(int status, std::string_view extra = {}) {
  Handshake h;
  h.status = status;
  h.response = http_error(status, extra);
  return h;
}

bool apply_query(const HttpRequest& req, Handshake& h) {
  std::vector<std::pair<std::string, std::string>> params;
  if (!parse_query(req.query, params)) return false;
  for (auto& [k, v] : params) {
    if (k == "room") {
      if (!valid_room(v)) return false;
      h.room = v;
    } else if (k == "since" || k == "epoch") {
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size()) return false;
      (k == "since" ? h.since : h.epoch) = n;
    } else if (k == "name") {
      h.name = v;
    }
  }
  return true;
}

}  // namespace

std::optional<Subprotocol> choose_subprotocol(const HttpRequest& req) {
  for (const auto& [name, value] : req.headers) {
    if (name != "sec-websocket-protocol") continue;
    std::string_view list = value;
    while (!list.empty()) {
      size_t comma = list.find(',');
      std::string_view p = trim(list.substr(0, comma));
      if (p == kProtoZstd) return Subprotocol::kZstd;
      if (p == kProtoJson) return Subprotocol::kJson;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return std::nullopt;
}

std::string websocket_accept(std::string_view key) {
  std::string input(key);
  input += kWsGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
  unsigned char b64[64];
  int n = EVP_EncodeBlock(b64, digest, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(b64), n);
}

bool origin_allowed(const HttpRequest& req, const std::vector<std::string>& allowed) {
  std::string_view origin = trim(req.header("origin"));
  if (origin.empty()) return true;
  for (const std::string& a : allowed)
    if (a == "*" || iequals(a, origin)) return true;
  if (!allowed.empty()) return false;
  // Same host: "http://HOST[:PORT]" or "https://..." against the Host header.
  size_t scheme = origin.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view host = trim(req.header("host"));
  return !host.empty() && iequals(origin.substr(scheme + 3), host);
}

Handshake evaluate_handshake(const HttpRequest& req, const std::vector<std::string>& allowed_origins) {
  if (req.method != "GET") return fail(405, "Allow: GET\r\n");
  if (req.http_major != 1 || req.http_minor < 1) return fail(400);
  if (!has_token(req.header("upgrade"), "websocket") ||
      !has_token(req.header("connection"), "upgrade"))
    return fail(426, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
  if (trim(req.header("sec-websocket-version")) != "13")
    return fail(426, "Sec-WebSocket-Version: 13\r\n");
  std::string_view key = trim(req.header("sec-websocket-key"));
  if (!valid_key(key)) return fail(400);
  // RFC 6455 10.2: a server may refuse an Origin it does not trust; browsers always send
  // one, so this stops other sites' pages from using a visitor's browser to connect.
  if (!origin_allowed(req, allowed_origins)) return fail(403);

  Handshake h;
  if (!apply_query(req, h)) return fail(400);
  auto proto = choose_subprotocol(req);
  h.proto = proto.value_or(Subprotocol::kJson);
  h.status = 101;
  h.response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  h.response += "Sec-WebSocket-Accept: " + websocket_accept(key) + "\r\n";
  if (proto) {
    h.response += "Sec-WebSocket-Protocol: ";
    h.response += *proto == Subprotocol::kZstd ? kProtoZstd : kProtoJson;
    h.response += "\r\n";
  }
  h.response += "\r\n";
  return h;
}

}  // namespace tg::gateway
