// seq_tracker.hpp -- checks that one client sees a room's message seqs without holes, or with
// announced ones.
#pragma once

#include <cstdint>

namespace tg::bots {

// Follows one client's position in one room. The protocol promises consecutive message
// seqs across batches, except where a `gap` notice announced the loss first
// (docs/PROTOCOL.md). A hole nobody announced, a duplicate or a step back is a failure
// of the server and is counted here. Pure arithmetic, no I/O.
class SeqTracker {
 public:
  // The stream starts after message `last_seq` (hello's or joined's `seq`).
  void start(uint64_t last_seq);
  bool started() const { return started_; }

  // A batch carrying messages [first, last] arrived (first <= last).
  void on_batch(uint64_t first, uint64_t last);
  // A gap notice: messages [from, to] will never arrive (from <= to).
  void on_gap(uint64_t from, uint64_t to);

  // The next message seq expected.
  uint64_t next() const { return next_; }
  // Holes with no gap notice: how many, and how many messages they swallowed.
  uint64_t holes() const { return holes_; }
  uint64_t hole_msgs() const { return hole_msgs_; }
  // Messages announced lost by gap notices (only those not already received).
  uint64_t announced() const { return announced_; }
  // Batches or gaps that went backwards (duplicates, overlaps).
  uint64_t order_errors() const { return order_errors_; }

 private:
  void skip_to(uint64_t first);

  bool started_ = false;
  uint64_t next_ = 1;
  uint64_t holes_ = 0;
  uint64_t hole_msgs_ = 0;
  uint64_t announced_ = 0;
  uint64_t order_errors_ = 0;
};

}  // namespace tg::bots
