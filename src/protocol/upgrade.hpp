// upgrade.hpp -- what a client's upgrade request to /ws asks of tidegate (docs/PROTOCOL.md):
// the sub-protocol, the room, a name and a resume point, on top of the WebSocket checks of
// ws/handshake.hpp; and the 101 answer or the HTTP error that explains why not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"
#include "ws/deflate.hpp"

namespace tg::protocol {

enum class Subprotocol { kJson, kZstd, kV2Zstd };

constexpr std::string_view kProtoZstd = "tidegate.v1.zstd";
constexpr std::string_view kProtoJson = "tidegate.v1.json";
// Room-stream zstd (docs/PROTOCOL.md, tidegate.v2.zstd).
constexpr std::string_view kProtoV2Zstd = "tidegate.v2.zstd";

// The name a sub-protocol has in `hello` and in logs: "zstd", "json" or "v2.zstd".
std::string_view proto_label(Subprotocol p);

// The first sub-protocol in the client's Sec-WebSocket-Protocol header(s) that we
// speak, or nullopt when it offered none we know (then: JSON, and no header in the 101).
std::optional<Subprotocol> choose_subprotocol(const http::HttpRequest& req);

struct Handshake {
  int status = 0;        // 101 on success, else the HTTP status to answer with
  std::string response;  // the complete HTTP response head (and body for errors)
  Subprotocol proto = Subprotocol::kJson;
  std::string room = "lobby";
  std::string name;  // ?name=, unchecked (the session validates and may refuse)
  std::optional<uint64_t> since;
  std::optional<uint64_t> epoch;  // ?epoch=: the server run `since` refers to
  std::string token;              // ?token= or Authorization: Bearer, unverified
  // permessage-deflate, when offered by a client that named no tidegate sub-protocol.
  std::optional<ws::DeflateParams> deflate;
};

// The token of an `Authorization: Bearer <token>` header (RFC 6750 2.1; the scheme is
// case-insensitive), or empty. Other schemes are not ours (a proxy's, say): ignored.
std::string_view bearer_token(const http::HttpRequest& req);

// Evaluates an upgrade request for /ws. Never throws; any problem is an error status:
// those of ws::check_upgrade, 403 for an Origin not allowed by `allowed_origins` (see
// ws::origin_allowed), 400 for a bad query (room name, since, epoch) or a token given
// both in the query and in an Authorization header (RFC 6750 2: one method only).
// permessage-deflate is accepted only for a client that named no tidegate sub-protocol
// (a browser's own WebSocket, a generic library): tidegate's sub-protocols compress
// already.
// `deflate` false: permessage-deflate is never agreed (--permessage-deflate off).
Handshake evaluate_handshake(const http::HttpRequest& req,
                             const std::vector<std::string>& allowed_origins = {},
                             bool deflate = true);

}  // namespace tg::protocol
