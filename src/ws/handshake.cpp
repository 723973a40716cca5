// handshake.cpp -- checking upgrade requests and computing Sec-WebSocket-Accept.
#include "ws/handshake.hpp"

#include <openssl/evp.h>

namespace tg::ws {

namespace {

UpgradeCheck refuse(int status, std::string_view extra_headers = {}) {
  UpgradeCheck c;
  c.status = status;
  c.extra_headers = extra_headers;
  return c;
}

// RFC 6455 section 1.3: the GUID appended to the client's key.
constexpr std::string_view kWsGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// RFC 6455 4.1: the key is base64 of 16 random bytes, i.e. 24 characters.
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  unsigned char raw[24];
  int n = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(key.data()), 24);
  return n == 18;  // EVP_DecodeBlock counts the two padding bytes
}

}  // namespace

UpgradeCheck check_upgrade(const http::HttpRequest& req) {
  if (req.method != "GET") return refuse(405, "Allow: GET\r\n");
  if (req.http_major != 1 || req.http_minor < 1) return refuse(400);
  if (!http::has_token(req.header("upgrade"), "websocket") ||
      !http::has_token(req.header("connection"), "upgrade"))
    return refuse(426, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
  if (http::trim(req.header("sec-websocket-version")) != "13")
    return refuse(426, "Sec-WebSocket-Version: 13\r\n");
  std::string_view key = http::trim(req.header("sec-websocket-key"));
  if (!valid_key(key)) return refuse(400);
  UpgradeCheck ok;
  ok.key = key;
  return ok;
}

bool origin_allowed(const http::HttpRequest& req, const std::vector<std::string>& allowed) {
  std::string_view origin = http::trim(req.header("origin"));
  if (origin.empty()) return true;
  for (const std::string& a : allowed)
    if (a == "*" || http::iequals(a, origin)) return true;
  if (!allowed.empty()) return false;
  // Same host: "http://HOST[:PORT]" or "https://..." against the Host header.
  size_t scheme = origin.find("://");
  if (scheme == std::string_view::npos) return false;
  std::string_view host = http::trim(req.header("host"));
  return !host.empty() && http::iequals(origin.substr(scheme + 3), host);
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

std::string accept_response(std::string_view key, std::string_view protocol,
                            std::string_view extensions) {
  std::string r =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  r += "Sec-WebSocket-Accept: " + websocket_accept(key) + "\r\n";
  if (!protocol.empty()) {
    r += "Sec-WebSocket-Protocol: ";
    r += protocol;
    r += "\r\n";
  }
  if (!extensions.empty()) {
    r += "Sec-WebSocket-Extensions: ";
    r += extensions;
    r += "\r\n";
  }
  r += "\r\n";
  return r;
}

size_t handshake_status_slot(int status) {
  for (size_t i = 0; i < std::size(kHandshakeStatuses); ++i)
    if (kHandshakeStatuses[i] == status) return i;
  return kHandshakeStatusSlots - 1;
}

}  // namespace tg::ws
