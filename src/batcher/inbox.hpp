// inbox.hpp -- Inbox: the queue a Shard fills and the Batcher empties at each flush.
#pragma once

#include <atomic>
#include <mutex>
#include <vector>

#include "batcher/inbound.hpp"

namespace tg::batcher {

// One per Shard, so Shards never contend with each other; the lock is held only to
// push one event or to swap the whole vector.
class Inbox {
 public:
  // Appends an event. Returns true when the inbox was empty before, i.e. when the
  // caller must wake the Batcher (later pushes are covered by that wake-up).
  bool push(Inbound&& event);

  // Moves every queued event to the end of `out`, leaving the inbox empty.
  void drain_into(std::vector<Inbound>& out);

  // True while events wait for the Batcher (any thread; a hint, read without the lock).
  bool waiting() const { return waiting_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::atomic<bool> waiting_{false};
  std::vector<Inbound> events_;
  std::vector<Inbound> spare_;  // swapped in at drain so capacity is reused
};

}  // namespace tg::batcher
