// backplane.hpp -- Backplane: a shared, ordered log of every room's batches that several
// gateways append to and read from (cluster mode, --redis). The single-node gateway has
// none: its Sequencer hands out seqs in memory. With a backplane the Batcher still
// builds each batch once, but its seqs are only a proposal: the append succeeds only if
// the room's log has not moved since (compare-and-append), so every node sees one order
// per room with consecutive seqs. Batches other nodes appended come back through
// follow(), carrying the bytes their node encoded; nothing is encoded twice.
//
// Batcher thread only; every callback is called on that thread (its loop), exactly once.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "batcher/batch.hpp"

namespace tg::batcher {

// A batch as the backplane stores it: the seqs, and the zstd frame's bytes (the binary
// WebSocket frame's payload) as its node compressed them.
struct StoredBatch {
  uint64_t seq = 0;        // batch seq in the room
  uint64_t first_msg = 0;  // seq of its first event
  uint64_t last_msg = 0;   // seq of its last event
  uint32_t online = 0;
  uint64_t window_us = 0;
  size_t raw_bytes = 0;      // JSON bytes before compression
  uint64_t appended_us = 0;  // wall clock of the append (the backplane's), for lag
  bool own = false;          // appended by this node
  std::string zstd;          // the zstd frame
};

// Where a room's log stands: its epoch (which changes only when the backplane lost the
// room's log) and its last batch and message seqs.
struct LogHead {
  uint64_t epoch = 0;
  uint64_t last_batch = 0;
  uint64_t last_msg = 0;
  uint32_t online = 0;
};

class Backplane {
 public:
  enum class Status {
    kOk,        // appended
    kConflict,  // the room's log moved on (another node appended): `head` says where
    kEpoch,     // the room's log is another epoch than the one proposed (or gone)
    kError,     // the backplane is unreachable or answered an error: nothing appended
  };
  struct Append {
    std::string_view room;
    LogHead expect;        // where the proposer thinks the log stands
    uint64_t count = 0;    // events in the batch
    int online_delta = 0;  // joins minus leaves in the batch
    uint64_t window_us = 0;
    size_t raw_bytes = 0;
    std::string_view zstd;  // the zstd frame
  };
  struct AppendResult {
    Status status = Status::kError;
    LogHead head;  // kOk: the log after the append; kConflict/kEpoch: as found
    uint64_t appended_us = 0;
    std::string error;            // kError: why
    bool maybe_appended = false;  // kError: sent, but the answer was lost with the link
  };
  struct OpenResult {
    bool ok = false;
    LogHead head;
    std::vector<StoredBatch> older;  // the batches asked for, oldest first
    std::string error;
  };
  // Told about batches other nodes appended, per room in log order, and about the
  // backplane coming and going.
  class Listener {
   public:
    virtual ~Listener() = default;
    virtual void on_batches(std::string_view room, uint64_t epoch,
                            std::vector<StoredBatch>& batches) = 0;
    virtual void on_read_done() = 0;  // after a read's batches: deliver them
    virtual void on_state(bool up) = 0;
    virtual void on_round_trip(uint64_t ns) = 0;  // each command's, for metrics
  };

  virtual ~Backplane() = default;
  // Starts on `loop` (the Batcher's), reporting to `listener`.
  virtual void start(uv_loop_t* loop, Listener* listener) = 0;
  // Ends every connection; callbacks pending get errors. The loop can then close.
  virtual void stop() = 0;
  virtual bool up() const = 0;

  // Appends one batch if the room's log is still at `expect` (compare-and-append).
  virtual void append(const Append& a, std::function<void(AppendResult)> done) = 0;
  // Where `room`'s log stands, starting a new epoch when the log is gone, or is still
  // `known` (the epoch the caller knows, 0: none) but behind `min_msg` (the backplane
  // lost writes that were seen); plus the stored batches with messages in [from_msg,
  // to_msg] (none when from_msg is 0), the newest kept first within `max_bytes`.
  virtual void open(std::string_view room, LogHead known, uint64_t from_msg, uint64_t to_msg,
                    size_t max_bytes, std::function<void(OpenResult)> done) = 0;
  // Reads the batches appended to `room` after message `after_msg` of epoch `epoch`, and
  // keeps reading them as they come (Listener::on_batches), until unfollow().
  virtual void follow(std::string_view room, uint64_t epoch, uint64_t after_msg) = 0;
  virtual void unfollow(std::string_view room) = 0;
  // True while batches another node appended to `room` are known to exist but are not
  // read yet: a proposal now would only conflict.
  virtual bool behind(std::string_view room) const = 0;
  // Reads `room` now (after a conflict: the batch that won is surely there), not waiting
  // for a wake-up.
  virtual void catch_up(std::string_view room) = 0;
  // Keeps this node's share of `room`'s member count alive (it lapses after a while
  // without an append or a heartbeat, so a node that died stops being counted).
  // `members` is the share to restore if it lapsed already.
  virtual void heartbeat(std::string_view room, int64_t members) = 0;

  // Names, unique in the cluster: claimed for `owner` (node and connection) with an
  // expiry, so a node that died cannot hold them for good; refreshed while held.
  virtual void claim_name(std::string_view name, std::string_view owner,
                          std::function<void(NameResult)> done) = 0;
  virtual void release_name(std::string_view name, std::string_view owner) = 0;
  virtual void refresh_name(std::string_view name, std::string_view owner) = 0;
  // This node's id, unique in the cluster (owners are "<node>:<connection>").
  virtual const std::string& node_id() const = 0;
};

}  // namespace tg::batcher
