// room_log.hpp -- RoomLog: one room's ring of recent batches, from which every client is
// served through its Cursor. Each Shard keeps its own replica, holding the batches'
// SharedFrames by reference, so reading it needs no lock. What a log keeps is decided
// by the Batcher (batcher/history_ledger.hpp) and applied with trim_to() on every
// replica alike, so every replica holds the same batches.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>

#include "batcher/batch.hpp"
#include "ws/deflate.hpp"

namespace tg::gateway {

// A batch as a Shard holds it. `pins` counts the Shard's in-flight writes that use the
// entry: Shard-local, so not atomic. An entry leaves the log when evicted but is freed
// only when unpinned.
struct LogEntry {
  batcher::Batch batch;
  uint32_t pins = 0;
  bool in_log = true;
  // permessage-deflate: the batch's text frame deflated for each server window size
  // (ws::kMinServerWindowBits..15), built on demand by Shard::deflate_frame.
  std::array<pool::SharedFrame, ws::kMaxWindowBits - ws::kMinServerWindowBits + 1> deflated{};
  size_t deflated_bytes() const {
    size_t n = 0;
    for (const pool::SharedFrame& f : deflated) n += f.size();
    return n;
  }
};

// A pin on a LogEntry held by a write in flight; frees the entry when it is the last
// pin and the log has already evicted it. Only for use on the owning Shard's thread.
class EntryPin {
 public:
  explicit EntryPin(LogEntry* e) : e_(e) { ++e_->pins; }
  EntryPin(EntryPin&& o) noexcept : e_(o.e_) { o.e_ = nullptr; }
  EntryPin(const EntryPin&) = delete;
  EntryPin& operator=(const EntryPin&) = delete;
  EntryPin& operator=(EntryPin&&) = delete;
  ~EntryPin();
  LogEntry* get() const { return e_; }

 private:
  LogEntry* e_;
};

class RoomLog {
 public:
  // An empty log whose first batch will be `first_batch`, after message `last_msg`: the
  // room's life (incarnation) starts with message `last_msg` + 1.
  explicit RoomLog(uint64_t first_batch = 1, uint64_t last_msg = 0)
      : first_seq_(first_batch), last_msg_(last_msg), origin_msg_(last_msg + 1) {}
  ~RoomLog();
  RoomLog(const RoomLog&) = delete;
  RoomLog& operator=(const RoomLog&) = delete;

  // Appends the room's next batch (its seq must be next_seq()).
  void append(batcher::Batch&& batch);
  // Evicts the batches before `first_batch` (all of them when it is next_seq() or more).
  // The seqs stay known when the log is empty. Returns how many were evicted.
  size_t trim_to(uint64_t first_batch);
  // Empties the log and starts it over at `first_batch`, after message `last_msg`. The
  // room's life starts at `origin_msg` (0: just after `last_msg`).
  void reset(uint64_t first_batch, uint64_t last_msg, uint64_t origin_msg = 0);
  // Puts a batch in front of the oldest one (its seq must be first_seq() - 1): history
  // read back for a resuming client (cluster mode).
  void prepend(batcher::Batch&& batch);

  // batcher::Batch seqs held are [first_seq(), next_seq()); empty when equal.
  uint64_t first_seq() const { return first_seq_; }
  uint64_t next_seq() const { return first_seq_ + entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Seq of the room's last message (the seq before its first one while it has none).
  uint64_t last_msg_seq() const { return last_msg_; }
  // Seq of the first message of the room's current life: the seqs below it were never
  // this life's (other rooms', or an expired life's).
  uint64_t origin_msg() const { return origin_msg_; }
  // Where a client that asks for the messages after `since` starts: `since`, except
  // that 0 (nothing seen yet) means from the start of the room's current life.
  uint64_t resume_after(uint64_t since) const { return since == 0 ? origin_msg_ - 1 : since; }
  // Seq of the oldest message still held (last_msg_seq() + 1 when none is).
  uint64_t first_held_msg() const {
    return entries_.empty() ? last_msg_ + 1 : entries_.front()->batch.first_msg;
  }

  // True when batch `seq` existed but has been evicted: a cursor at it fell off the log.
  bool evicted(uint64_t seq) const { return seq < first_seq_; }

  // The entry with batch seq `seq`, or nullptr when it is not held.
  LogEntry* at(uint64_t seq) const;

  // The seq of the first held batch that carries a message with seq > `msg_seq`, or
  // next_seq() when there is none (the caller is up to date).
  uint64_t batch_after_msg(uint64_t msg_seq) const;

  // tidegate.v2.zstd: the seq of the latest held keyframe batch at or before `seq` (a
  // v2 client may only start decoding at one), or next_seq() when none is held.
  uint64_t keyframe_at_or_before(uint64_t seq) const;

  // Frame bytes this replica holds (the binary frames, and the JSON frames built so far).
  size_t bytes() const { return bytes_; }

  // Attaches a JSON frame derived on demand, accounting its bytes to the log.
  void attach_json(LogEntry& e, pool::SharedFrame json);
  // Attaches the frame deflated for `window_bits`, accounting its bytes to the log.
  void attach_deflated(LogEntry& e, int window_bits, pool::SharedFrame frame);
  // tidegate.v2.zstd: attaches the v2 frame a Shard made for a batch built without a
  // room stream (Shard::v2_frame), accounting its bytes. It is not indexed as a
  // keyframe: joins still start at the room stream's keyframes.
  void attach_v2(LogEntry& e, pool::SharedFrame frame);

 private:
  static size_t entry_bytes(const batcher::Batch& b) {
    return b.zstd.size() + b.v2.size() + b.json.size();
  }
  void evict_front();

  std::deque<LogEntry*> entries_;
  std::deque<uint64_t> keyframes_;  // seqs of the held keyframe batches, ascending
  uint64_t first_seq_;
  uint64_t last_msg_;
  uint64_t origin_msg_;
  size_t bytes_ = 0;
};

}  // namespace tg::gateway
