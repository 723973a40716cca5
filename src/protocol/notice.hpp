// notice.hpp -- the direct (never batched) server-to-client notices of protocol v1,
// each appended to a buffer as one complete text WebSocket frame.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::protocol {

struct HelloInfo {
  uint64_t id;
  std::string_view name;
  std::string_view room;
  uint64_t seq;
  double window_ms;
  std::string_view proto;  // "zstd" or "json"
  uint64_t epoch;          // identifies this run of the server; seqs restart with it
};

void append_hello(std::string& out, const HelloInfo& hello);
// `id_json` is the ping id as JSON text, or empty for no id.
void append_pong(std::string& out, std::string_view id_json, double window_ms);
// `epoch`: the room's (cluster mode) or the server run's; 0 leaves it out.
void append_joined(std::string& out, std::string_view room, uint64_t seq, uint64_t epoch = 0);
void append_left(std::string& out, std::string_view room);
void append_named(std::string& out, std::string_view name);
// A refresh's new token was taken; `exp` its expiry (seconds since the Unix epoch), 0:
// none.
void append_refreshed(std::string& out, int64_t exp);
void append_error(std::string& out, std::string_view code, std::string_view reason);
// An error about one message: `cid` is the client's id of it (left out when empty).
void append_error(std::string& out, std::string_view code, std::string_view reason,
                  std::string_view cid);
// Messages `from`..`to` (inclusive) of `room` are lost to this client.
void append_gap(std::string& out, std::string_view room, uint64_t from, uint64_t to);

}  // namespace tg::protocol
