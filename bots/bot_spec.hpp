// bot_spec.hpp -- what one simulated client is told to do.
#pragma once

#include <cstdint>

namespace tg::bots {

// Assigned by Swarm before the loops start; plain data.
struct BotSpec {
  uint32_t id = 0;            // global index, also the sender id in cids
  uint32_t room = 0;          // index into the room names
  bool sender = false;        // sends --rate messages per second
  bool slow = false;          // reads at most --slow-read-bps
  int64_t connect_at_us = 0;  // offset from the loop's start (the --ramp spread)
  uint32_t source_ip = 0;     // 0: kernel's choice; k: bind to 127.0.0.k
};

}  // namespace tg::bots
