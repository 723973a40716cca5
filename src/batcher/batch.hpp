// batch.hpp -- Batch: one room's events of one flush window, encoded, compressed and
// framed once; the same bytes go to every client of the room.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pool/shared_frame.hpp"
#include "pool/ws_frame.hpp"

namespace tg::batcher {

struct Batch {
  std::string room;
  uint64_t seq = 0;            // batch seq within the room
  uint64_t first_msg = 0;      // seq of the first event it carries
  uint64_t last_msg = 0;       // seq of the last event it carries
  uint32_t online = 0;         // room members after the batch
  pool::SharedFrame zstd;      // complete binary WebSocket frame: one zstd frame of the JSON
  pool::SharedFrame json;      // complete text WebSocket frame, or empty when no JSON
                               // client existed at build time (a Shard derives it on demand)
  size_t raw_bytes = 0;        // size of the JSON before compression
  uint64_t built_ns = 0;       // monotonic time the batch was built
  uint64_t first_recv_ns = 0;  // monotonic receive time of its earliest event (metrics)
  uint64_t window_us = 0;      // the window its room's events were collected over
  uint64_t incarnation = 0;    // which life of the room it belongs to (RoomDirectory)
  // tidegate.v2.zstd: complete binary WebSocket frame of the room stream's bytes for this
  // batch (room_stream.hpp), and whether a new zstd frame starts in it. Empty for
  // batches outside the stream's order (history read back from the backplane), and for
  // batches of a room without a stream (`no_stream`).
  pool::SharedFrame v2;
  bool keyframe = false;
  // The room had no v2 member on this node (nor one lately) when it was built, so no
  // stream: a Shard that must send it to a v2 client frames it alone as a keyframe
  // (Shard::v2_frame). The room's next batch with a stream frame is a keyframe.
  bool no_stream = false;

  uint64_t msg_count() const { return last_msg - first_msg + 1; }
  // The bytes the history budget counts for it: the binary frames and the JSON text frame,
  // whether or not the JSON frame has been built yet (a Shard may derive it later).
  size_t history_bytes() const { return zstd.size() + v2.size() + pool::ws_frame_size(raw_bytes); }
};

// An instruction to every Shard, delivered in order with the batches: drop the batches
// of `room` (incarnation `incarnation`) before batch `first_batch`, or with `forget`,
// drop the whole room (it expired). The Batcher decides them so that every replica of a
// room's log holds the same batches.
struct RoomCut {
  std::string room;
  uint64_t incarnation = 0;
  uint64_t first_batch = 0;
  bool forget = false;
};

// Cluster mode (a Backplane): what changed about a room's log other than a batch or a
// trim, delivered to every Shard in order with the batches, and applied before the
// batches of the same delivery.
struct RoomChange {
  enum class Kind : uint8_t {
    kOpen,         // the room is open on this node: its log starts here (plus `older`)
    kOlder,        // batches older than the log's first, read back for a resuming client
    kReset,        // the backplane lost the room's log: a new epoch starts at these seqs
    kUnavailable,  // the backplane could not be reached: the answered requests failed
  };
  Kind kind = Kind::kOpen;
  std::string room;
  uint64_t incarnation = 0;  // the life of the room (RoomDirectory) it applies to
  uint64_t epoch = 0;
  uint64_t next_batch = 0;   // kOpen/kReset: the seq of the log's next batch
  uint64_t last_msg = 0;     // kOpen/kReset: the room's last message seq
  std::vector<Batch> older;  // kOpen/kOlder: oldest first, ending just before the log's first
  // The Shards' requests (Inbound kNeed) this answers: (shard, need id), every request
  // of that Shard for the room up to that id.
  std::vector<std::pair<int, uint64_t>> answered;
};

// Cluster mode: the answer to a connection's claim of a name in the whole cluster.
enum class NameResult : uint8_t { kOk, kTaken, kUnavailable };

// A message the Batcher could not sequence (cluster mode, backplane unavailable): its
// sender gets an error notice.
struct Refusal {
  uint64_t conn = 0;
  std::string cid;
  std::string room;
  uint64_t ticket = 0;  // a publish API message (Inbound::ticket), else 0
};

// A publish API message (Inbound::ticket) got its seq: sent to the Shard that received
// it after the delivery of its batch, so the API answers once the message is in the log.
struct Receipt {
  uint64_t ticket = 0;
  uint64_t seq = 0;
  uint64_t epoch = 0;  // cluster mode: the room's log's epoch; 0 on a single node
};

}  // namespace tg::batcher
