// history_ledger.hpp -- HistoryLedger: what every room's log holds, in batch seqs and
// bytes, as the Batcher decides it. Pure: no I/O, no clock of its own, Batcher thread
// only. Each batch is counted once (its frames are shared by every Shard's replica), as
// Batch::history_bytes(): the binary frame plus the JSON text frame, built or not.
//
// Two bounds: a room holds at most `room_bytes` (--history-bytes; its newest batch is
// always kept), and all rooms together at most `total_bytes` (--history-total-bytes).
// Over the total, the least recently active room (by its latest batch) gives up its
// oldest batch, then the next, until the total fits; that may empty a room's log, even
// of the batch just added. Every room trimmed gets a RoomCut for the Shards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "batcher/batch.hpp"

namespace tg::batcher {

class HistoryLedger {
 public:
  HistoryLedger(size_t room_bytes, size_t total_bytes);
  HistoryLedger(const HistoryLedger&) = delete;
  HistoryLedger& operator=(const HistoryLedger&) = delete;

  // Records batch `seq` of `room` (incarnation `incarnation`) holding `bytes`, built at
  // `now_ns`. A room not known yet, or known as another incarnation, starts anew here.
  void add(std::string_view room, uint64_t incarnation, uint64_t seq, size_t bytes,
           uint64_t now_ns);
  // Records batch `seq` of `room`, older than every batch held (cluster mode: history
  // read back from the backplane for a client resuming from further back): `seq` must be
  // just before its oldest held batch (a room not known yet starts with it), and the room
  // known as `incarnation`.
  void add_older(std::string_view room, uint64_t incarnation, uint64_t seq, size_t bytes);
  // Trims to both bounds; appends one cut per room trimmed since the last call.
  void enforce(std::vector<RoomCut>& cuts);
  // Forgets `room` (expired); its bytes are released, not counted as evicted.
  void forget(std::string_view room);

  bool knows(std::string_view room) const { return rooms_.find(room) != rooms_.end(); }
  uint64_t incarnation(std::string_view room) const;     // 0 when not known
  uint64_t last_active_ns(std::string_view room) const;  // 0 when not known
  size_t room_bytes_held(std::string_view room) const;
  uint64_t first_batch(std::string_view room) const;  // the oldest held (next when none)

  size_t bytes() const { return total_; }
  size_t budget() const { return total_budget_; }
  size_t rooms() const { return rooms_.size(); }
  uint64_t evicted_batches() const { return evicted_batches_; }  // over the total only
  uint64_t evicted_bytes() const { return evicted_bytes_; }
  // For each bound, how many rooms hold at most that many bytes (cumulative, as the
  // `le` buckets of a histogram); `counts` gets bounds.size() + 1 values, the last one
  // every room.
  void rooms_by_bytes(std::span<const uint64_t> bounds, std::vector<uint64_t>& counts) const;

 private:
  struct Held {
    uint64_t seq;
    size_t bytes;
  };
  struct Room {
    std::string name;
    uint64_t incarnation = 0;
    std::deque<Held> held;
    uint64_t next_seq = 0;  // seq after the newest batch recorded
    size_t bytes = 0;
    uint64_t last_active_ns = 0;
    bool touched = false;  // got a batch since the last enforce()
    bool trimmed = false;  // lost batches since the last enforce()
    bool in_lru = false;
    std::list<Room*>::iterator lru;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void drop_front(Room& r);
  void erase(std::unordered_map<std::string, Room, Hash, std::equal_to<>>::iterator it);

  size_t room_budget_;
  size_t total_budget_;
  size_t total_ = 0;
  uint64_t evicted_batches_ = 0;
  uint64_t evicted_bytes_ = 0;
  std::unordered_map<std::string, Room, Hash, std::equal_to<>> rooms_;
  std::list<Room*> lru_;  // rooms holding batches, least recently active first
  std::vector<Room*> touched_;
  std::vector<Room*> trimmed_;
};

}  // namespace tg::batcher
