// inbound.hpp -- Inbound: one event a client caused (message, join, leave, rename), on
// its way from a Shard to the Batcher.
#pragma once

#include <cstdint>
#include <string>

namespace tg::batcher {

// kNeed is not an event of the room but a Shard's request (cluster mode): a client wants
// to join or resume in `room` and this node's replicas cannot serve it yet (the room is
// not open here, or the client resumes from before the oldest batch held). The Batcher
// answers it with a RoomChange that names `need`.
//
// kClaim and kRelease are requests too (cluster mode): claim name `from` for connection
// `conn` in the whole cluster, or give it back. The answer goes to the Shard
// (BatchSink::name_answer).
enum class InboundKind : uint8_t { kMsg, kJoin, kLeave, kRename, kNeed, kClaim, kRelease };

struct Inbound {
  InboundKind kind = InboundKind::kMsg;
  std::string room;
  std::string from;      // the sender's name when the event happened
  std::string text;      // kMsg: the text; kRename: the old name
  std::string cid;       // kMsg: the client's own id for it, may be empty
  int64_t ts_ms = 0;     // wall clock at receive, ms since the Unix epoch (the wire `ts`)
  uint64_t recv_ns = 0;  // monotonic clock at receive; orders events across Shards
  int shard = -1;        // the Shard that received it
  uint64_t conn = 0;     // the connection that sent it (for an error notice), 0: none
  // kNeed: messages from `from_msg` (0: none, live only) up to `to_msg` (0: the newest)
  // are wanted; `need` is the Shard's id of the request.
  uint64_t from_msg = 0;
  uint64_t to_msg = 0;
  uint64_t need = 0;
  // kMsg from the publish API (not a client): its id there, nonzero. The Batcher answers
  // it with a Receipt (its seq) or a Refusal to Shard `shard`.
  uint64_t ticket = 0;
  // kJoin, kLeave: the client speaks tidegate.v2.zstd (the Batcher keeps the room's
  // stream while it has such members).
  bool v2 = false;
};

const char* inbound_kind_name(InboundKind kind);

}  // namespace tg::batcher
