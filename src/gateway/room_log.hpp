// room_log.hpp -- RoomLog: one room's ring of recent batches, bounded in bytes, from
// which every client is served through its Cursor. Each Shard keeps its own replica
// (same batches, same eviction), holding the batches' SharedFrames by reference, so
// reading it needs no lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "batcher/batch.hpp"

namespace tg::gateway {

// A batch as a Shard holds it. `pins` counts the Shard's in-flight writes that use the
// entry: Shard-local, so not atomic. An entry leaves the log when evicted but is freed
// only when unpinned.
struct LogEntry {
  batcher::Batch batch;
  uint32_t pins = 0;
  bool in_log = true;
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
  explicit RoomLog(size_t budget_bytes) : budget_(budget_bytes) {}
  ~RoomLog();
  RoomLog(const RoomLog&) = delete;
  RoomLog& operator=(const RoomLog&) = delete;

  // Appends the room's next batch (its seq must follow the last one) and evicts the
  // oldest batches while the log holds more than its budget; the newest batch is
  // always kept, so the room's latest seqs stay known. Returns how many were evicted.
  size_t append(batcher::Batch&& batch);

  // batcher::Batch seqs held are [first_seq(), next_seq()); empty when equal.
  uint64_t first_seq() const { return first_seq_; }
  uint64_t next_seq() const { return first_seq_ + entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Seq of the room's last message (0 before any batch).
  uint64_t last_msg_seq() const { return last_msg_; }

  // True when batch `seq` existed but has been evicted: a cursor at it fell off the log.
  bool evicted(uint64_t seq) const { return !entries_.empty() && seq < first_seq_; }

  // The entry with batch seq `seq`, or nullptr when it is not held.
  LogEntry* at(uint64_t seq) const;

  // The seq of the first held batch that carries a message with seq > `msg_seq`, or
  // next_seq() when there is none (the caller is up to date).
  uint64_t batch_after_msg(uint64_t msg_seq) const;

  // Frame bytes held (both encodings), and the budget they are kept under.
  size_t bytes() const { return bytes_; }
  void set_budget(size_t bytes) { budget_ = bytes; }

  // Attaches a JSON frame derived on demand, accounting its bytes to the log.
  void attach_json(LogEntry& e, pool::SharedFrame json);

 private:
  static size_t entry_bytes(const batcher::Batch& b) { return b.zstd.size() + b.json.size(); }
  void evict_front();

  std::deque<LogEntry*> entries_;
  uint64_t first_seq_ = 1;
  uint64_t last_msg_ = 0;
  size_t bytes_ = 0;
  size_t budget_;
};

}  // namespace tg::gateway
