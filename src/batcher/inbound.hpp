// inbound.hpp -- Inbound: one event a client caused (message, join, leave, rename), on
// its way from a Shard to the Batcher.
#pragma once

#include <cstdint>
#include <string>

namespace tg::batcher {

enum class InboundKind : uint8_t { kMsg, kJoin, kLeave, kRename };

struct Inbound {
  InboundKind kind = InboundKind::kMsg;
  std::string room;
  std::string from;      // the sender's name when the event happened
  std::string text;      // kMsg: the text; kRename: the old name
  std::string cid;       // kMsg: the client's own id for it, may be empty
  int64_t ts_ms = 0;     // wall clock at receive, ms since the Unix epoch (the wire `ts`)
  uint64_t recv_ns = 0;  // monotonic clock at receive; orders events across Shards
};

const char* inbound_kind_name(InboundKind kind);

}  // namespace tg::batcher
