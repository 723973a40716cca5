// api_request.hpp -- the publish API's requests without I/O: which route a path is, the
// POST /api/publish body and the history query parsed and validated, the bearer key
// compared, and the JSON error body. Unit-tested on its own (tests/gateway).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/api_counters.hpp"

namespace tg::gateway::api {

// A refusal: the HTTP status and the JSON body's `error` code and `message`.
struct Error {
  int status = 400;
  std::string code;
  std::string message;
};

// One message of a publish body.
struct PublishItem {
  std::string room;
  std::string from;
  std::string text;
  std::string cid;  // may be empty
};

struct PublishLimits {
  size_t max_text_bytes = 64u << 10;  // --max-message-bytes
  size_t max_items = 1000;            // messages in one array body
};

// Parses a publish body: one object {"room","text","from","cid"?} or an array of 1 to
// `max_items` of them. `array` tells which form it was. Returns the first thing wrong.
std::optional<Error> parse_publish(std::string_view body, const PublishLimits& limits,
                                   std::vector<PublishItem>& items, bool& array);

// GET /api/rooms/{room}/history?since=N&limit=M[&epoch=E]
struct HistoryQuery {
  uint64_t since = 0;
  size_t limit = 100;
  std::optional<uint64_t> epoch;
};
inline constexpr size_t kMaxHistoryLimit = 1000;
std::optional<Error> parse_history_query(std::string_view query, HistoryQuery& out);

// The route of a request path; `room` is set for history (validated: an invalid room is
// an error 400 bad_room).
struct Target {
  metrics::ApiRoute route = metrics::ApiRoute::kOther;
  std::string room;
};
std::optional<Error> match_route(std::string_view path, Target& out);

// Whether an Authorization header value is "Bearer <key>" with this key, compared in
// constant time (digests of both, so the key's length does not leak either).
bool bearer_matches(std::string_view authorization, std::string_view key);

// Reads the API key: the file's first line, trimmed of white space. Fails (with why) if
// the file cannot be read or the key is shorter than kMinKeyBytes.
inline constexpr size_t kMinKeyBytes = 16;
std::optional<std::string> read_key_file(const std::string& path, std::string& error);

// {"error":"<code>","message":"<message>"}
std::string error_json(std::string_view code, std::string_view message);

}  // namespace tg::gateway::api
