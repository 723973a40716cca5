// frame.hpp -- the one frame tidegate-floor writes per window, built before anything runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tg::fanout {

// A complete server-to-client WebSocket binary frame (FIN, unmasked; the header tidegate
// puts on a zstd batch) whose payload is `payload_bytes` pseudo-random bytes drawn from
// `seed`: as incompressible as a zstd frame, and never parsed by the swarm's --sink.
std::string build_binary_frame(size_t payload_bytes, uint64_t seed);

}  // namespace tg::fanout
