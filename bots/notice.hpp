// notice.hpp -- a direct (never batched) server notice: hello, pong, gap, error and the like.
#pragma once

#include <cstdint>
#include <string>

namespace tg::bots {

// The fields of a notice the swarm uses; see docs/PROTOCOL.md "Direct notices".
struct Notice {
  enum class Type { kHello, kPong, kJoined, kLeft, kNamed, kError, kGap, kOther };
  Type type = Type::kOther;
  uint64_t seq = 0;      // hello, joined: last message seq before the stream starts
  uint64_t id = 0;       // pong: the ping's id
  uint64_t from = 0;     // gap: first lost message seq
  uint64_t to = 0;       // gap: last lost message seq (inclusive)
  uint64_t epoch = 0;    // hello, joined: the epoch `seq` belongs to (0: none sent)
  double window_ms = 0;  // hello, pong
  std::string room;      // hello, joined, gap
  std::string code;      // error
  std::string cid;       // error: the refused message's cid, if the error is about one
};

}  // namespace tg::bots
