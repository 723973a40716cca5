// reconnect.hpp -- which gateway a bot talks to, when it reconnects, how long it waits, and the
// /ws target that resumes its room.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tg::bots {

// Pure functions, no I/O and no clock: Bot applies them, tests check them.

// The --url a client starts on: clients are dealt round-robin over the URLs, so every
// gateway of a cluster gets its share (client i on urls[i % n]).
size_t first_url(uint32_t client, size_t url_count);
// The URL after `current`, wrapping: where a bot goes when its gateway went away.
size_t next_url(size_t current, size_t url_count);

// True for the close codes that say "this gateway, not you": 1001 (going away: shutdown,
// or idle), 1006 (abnormal), 1011 (internal error), 1012 (service restart), 1013 (try
// again later). Any other close is an answer about this client (1008 slow consumer,
// 1002/1003/1007/1009 a protocol fault, 1000 a goodbye) and stays final.
bool reconnect_after_close(uint16_t code);

// Exponential backoff between connection attempts: attempt 0 waits at most 100 ms, each
// failure doubles it, up to 2 s.
inline constexpr int64_t kBackoffFirstMs = 100;
inline constexpr int64_t kBackoffMaxMs = 2000;
int64_t backoff_cap_ms(uint32_t attempt);
// The wait before attempt `attempt`: somewhere in the upper half of the cap, placed by
// `unit` (uniform in [0, 1)). Half the cap is fixed so the wait really grows; the other
// half is jitter, so thousands of bots dropped by one gateway do not come back in step.
int64_t backoff_delay_ms(uint32_t attempt, double unit);

// Where a client resumes a room: the last seq it received or had announced, and the
// epoch that seq belongs to (0: the server sent none, so none is sent back).
struct ResumePoint {
  uint64_t since = 0;
  uint64_t epoch = 0;
};

// The request target of a /ws upgrade: `path?room=R`, plus `&since=S&epoch=E` when
// resuming and `&name=N` when the client has a name (room and name are sent as given:
// the swarm only uses characters that need no escaping).
std::string ws_target(std::string_view path, std::string_view room, const ResumePoint* resume,
                      std::string_view name = {});

}  // namespace tg::bots
