// handshake.hpp -- the server side of the WebSocket opening handshake (RFC 6455 4.2): the
// checks any upgrade request must pass, the Origin policy, and the 101 answer. What the
// request asks for beyond that (sub-protocol, room, resume point) is tidegate's protocol:
// protocol/upgrade.hpp.
#pragma once

#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"

namespace tg::ws {

// The verdict of check_upgrade(): `status` 0 when the request is a valid opening
// handshake, else the HTTP status to refuse it with and the header lines that say what
// was expected (whole "Name: value\r\n" lines, possibly empty).
struct UpgradeCheck {
  int status = 0;
  std::string_view extra_headers;
  std::string_view key;  // Sec-WebSocket-Key when status is 0 (points into the request)
};

// RFC 6455 4.2.1: 405 not GET, 400 not HTTP/1.1 or a bad key, 426 no
// Upgrade: websocket / Connection: upgrade, or a version other than 13.
UpgradeCheck check_upgrade(const http::HttpRequest& req);

// Whether a browser page from the request's Origin may open a WebSocket here (RFC 6455
// 10.2). A request without Origin (not a browser) is allowed. With an empty allow-list
// only the page's own host may connect (Origin's host equals Host); otherwise the Origin
// must be listed exactly (case-insensitively), or the list holds "*".
bool origin_allowed(const http::HttpRequest& req, const std::vector<std::string>& allowed);

// Sec-WebSocket-Accept for a client key: base64(SHA-1(key + RFC 6455 GUID)).
std::string websocket_accept(std::string_view key);

// The complete 101 response for `key`, naming `protocol` unless it is empty, and
// accepting `extensions` (a Sec-WebSocket-Extensions value) unless it is empty.
std::string accept_response(std::string_view key, std::string_view protocol,
                            std::string_view extensions = {});

// The HTTP statuses a WebSocket handshake (or a malformed request before it) is refused
// with, as metric label slots; any other status is counted in the last slot, "other".
#define TG_HANDSHAKE_STATUSES(X) X(400) X(401) X(403) X(405) X(426) X(429) X(431) X(503)
#define TG_STATUS_NUMBER(n) n,
#define TG_STATUS_LABEL(n) #n,
inline constexpr int kHandshakeStatuses[] = {TG_HANDSHAKE_STATUSES(TG_STATUS_NUMBER)};
// The slots' metric label values: each status, then "other".
inline constexpr const char* kHandshakeStatusLabels[] = {
    TG_HANDSHAKE_STATUSES(TG_STATUS_LABEL) "other"};
#undef TG_STATUS_NUMBER
#undef TG_STATUS_LABEL
inline constexpr size_t kHandshakeStatusSlots = std::size(kHandshakeStatusLabels);
size_t handshake_status_slot(int status);

}  // namespace tg::ws
