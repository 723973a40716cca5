// floor_config.hpp -- what tidegate-floor serves: its address, workers and room groups.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::fanout {

// One kind of room: `rooms` rooms named <prefix>0 .. <prefix><rooms-1> (the swarm's
// names with the same --room-prefix), each given `batches_per_s` windows a second; each
// window writes one pre-built binary frame with `frame_bytes` of payload to every member,
// and counts as `msgs_per_batch` deliveries per member written to. With `writes_per_s`
// (0: off) below `batches_per_s`, members are written that often, each write carrying
// every window due since the last (WindowSchedule).
struct RoomGroup {
  std::string prefix = "bots-";
  uint32_t rooms = 1;
  double batches_per_s = 100.0;
  size_t frame_bytes = 512;
  double msgs_per_batch = 10.0;
  double writes_per_s = 0.0;
};

// Parses "PREFIX:ROOMS:BATCHES_PER_S:FRAME_BYTES:MSGS_PER_BATCH[:WRITES_PER_S]", e.g.
// "quiet-:24:0.5:180:1".
// On a malformed spec returns nothing and says why in `*error`.
std::optional<RoomGroup> parse_group(std::string_view text, std::string* error);

// One room as a worker serves it: its name, its group and where in its period its
// windows fall (0..1: room k of a group of n at k/n, so rooms do not all write at once).
struct RoomSpec {
  std::string name;
  uint32_t group = 0;
  double phase = 0.0;
};

// Every room of every group, in order. Throws std::invalid_argument when two groups name
// the same room, or a group has no rooms.
std::vector<RoomSpec> expand_rooms(const std::vector<RoomGroup>& groups);

// "HOST:PORT" with a numeric IPv4 host; port 0 allowed.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
std::optional<ListenAddress> parse_listen(std::string_view text);

struct FloorConfig {
  ListenAddress listen{"127.0.0.1", 8090};
  int workers = 1;
  bool pin = true;        // worker k on core k, as tidegate pins its workers
  int socket_sndbuf = 0;  // SO_SNDBUF of client sockets (0: the kernel's default)
  std::vector<RoomGroup> groups;
};

}  // namespace tg::fanout
