// handshake.hpp -- the WebSocket opening handshake (RFC 6455 section 4.2): checks an
// upgrade request and produces the 101 answer, or the HTTP error that explains why not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/http_request.hpp"

namespace tg::gateway {

enum class Subprotocol { kJson, kZstd };

constexpr std::string_view kProtoZstd = "tidegate.v1.zstd";
constexpr std::string_view kProtoJson = "tidegate.v1.json";

// The first sub-protocol in the client's Sec-WebSocket-Protocol header(s) that we
// speak, or nullopt when it offered none we know (then: JSON, and no header in the 101).
std::optional<Subprotocol> choose_subprotocol(const HttpRequest& req);

// Sec-WebSocket-Accept for a client key: base64(SHA-1(key + RFC 6455 GUID)).
std::string websocket_accept(std::string_view key);

struct Handshake {
  int status = 0;          // 101 on success, else the HTTP status to answer with
  std::string response;    // the complete HTTP response head (and body for errors)
  Subprotocol proto = Subprotocol::kJson;
  std::string room = "lobby";
  std::string name;        // ?name=, unchecked (the session validates and may refuse)
  std::optional<uint64_t> since;
  std::optional<uint64_t> epoch;  // ?epoch=: the server run `since` refers to
};

// Whether a browser page from the request's Origin may open a WebSocket here. A request
// without Origin (not a browser) is allowed. With an empty allow-list only the page's
// own host may connect (Origin's host equals Host); otherwise the Origin must be listed
// exactly (case-insensitively), or the list holds "*".
bool origin_allowed(const HttpRequest& req, const std::vector<std::string>& allowed);

// Evaluates an upgrade request for /ws. Never throws; any problem is an error status:
// 405 not GET, 426 no upgrade or wrong version, 400 bad key or bad query, 403 an
// Origin not allowed by `allowed_origins` (see origin_allowed).
Handshake evaluate_handshake(const HttpRequest& req,
                             const std::vector<std::string>& allowed_origins = {});

}  // namespace tg::gateway
