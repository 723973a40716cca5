// upgrade_request.hpp -- a valid WebSocket upgrade request (the RFC 6455 example key) as
// the parser would produce it, for the handshake tests to start from and break.
#pragma once

#include <string>
#include <utility>

#include "http/request.hpp"

namespace tg::test {

// Header order, for tests that change one: host, upgrade, connection,
// sec-websocket-key, sec-websocket-version.
inline http::HttpRequest upgrade_request(std::string query = "") {
  http::HttpRequest r;
  r.method = "GET";
  r.path = "/ws";
  r.query = std::move(query);
  r.http_major = 1;
  r.http_minor = 1;
  r.upgrade = true;
  r.headers = {{"host", "x"},
               {"upgrade", "WebSocket"},
               {"connection", "keep-alive, Upgrade"},
               {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
               {"sec-websocket-version", "13"}};
  return r;
}

}  // namespace tg::test
