// seq_tracker.hpp -- checks that one client sees a room's message seqs without holes, or with
// announced ones, across reconnects and epoch changes.
#pragma once

#include <cstdint>

namespace tg::bots {

// Follows one client's position in one room. The protocol promises consecutive message
// seqs across batches, except where a `gap` notice announced the loss first
// (docs/PROTOCOL.md). A hole nobody announced, a duplicate or a step back is a failure
// of the server and is counted here. Pure arithmetic, no I/O.
//
// The position survives a reconnect: the client resumes with since=resume_since() and
// epoch=epoch(), and the server's hello says where the new stream starts (resume()).
// Seqs only mean something within one epoch (a server run, or in cluster mode one life
// of the room's shared history): when the epoch changes the position starts over, and
// what the client missed in between cannot be known (counted as an epoch reset, never
// as loss).
//
// The tracker keeps a high-water mark, not the set of seqs seen: a seq below it counts
// as a duplicate even if it fills an earlier unannounced hole (the hole stays counted).
// The server never sends either, so the difference only shows when it already failed.
class SeqTracker {
 public:
  // What a hello answering a resume meant.
  enum class Resume {
    kResumed,     // same epoch: the stream continues where the client was
    kEpochReset,  // another epoch: the server started the client live
  };

  // The stream starts after message `last_seq` (hello's or joined's `seq`) of `epoch`
  // (0: the server sent none).
  void start(uint64_t last_seq, uint64_t epoch = 0);
  bool started() const { return started_; }

  // A batch carrying messages [first, last] arrived (first <= last). Returns the lowest
  // seq of the batch received for the first time (last + 1 when all of it had been):
  // messages below it are duplicates the caller must not count as deliveries.
  uint64_t on_batch(uint64_t first, uint64_t last);
  // A gap notice: messages [from, to] will never arrive (from <= to).
  void on_gap(uint64_t from, uint64_t to);
  // The hello of a connection that resumed with since=resume_since(), epoch=epoch():
  // `hello_seq` is where the server starts the stream, `hello_epoch` its epoch (0: none
  // sent). In the same epoch a hello above `since` skipped messages without a gap (a
  // hole); below it, what comes again is counted as duplicates.
  Resume resume(uint64_t hello_seq, uint64_t hello_epoch);
  // A joined notice for this room. One with another epoch (the room's shared history
  // was lost; the server announced the loss with a gap first) restarts the stream after
  // `seq` and returns true; one in the same epoch, or without an epoch, changes nothing.
  bool on_joined(uint64_t seq, uint64_t epoch);

  // tidegate.v2.zstd: the stream (re)starts at a keyframe, so batches at or below the
  // position may come first (PROTOCOL.md); they are dropped, not counted as duplicates,
  // until the first batch that reaches past the position.
  void allow_replay() { replay_ = true; }

  // The next message seq expected.
  uint64_t next() const { return next_; }
  // The `since` to resume with: the last seq received or announced.
  uint64_t resume_since() const { return next_ - 1; }
  // The epoch the position belongs to (0: unknown).
  uint64_t epoch() const { return epoch_; }
  // Holes with no gap notice: how many, and how many messages they swallowed.
  uint64_t holes() const { return holes_; }
  uint64_t hole_msgs() const { return hole_msgs_; }
  // Messages announced lost by gap notices (only those not already received).
  uint64_t announced() const { return announced_; }
  // Batches or gaps that went backwards (duplicates, overlaps).
  uint64_t order_errors() const { return order_errors_; }
  // Message seqs received a second time (or below the high-water mark).
  uint64_t duplicates() const { return duplicates_; }
  // Times the epoch changed under the client (resume() or on_joined()).
  uint64_t epoch_resets() const { return epoch_resets_; }

 private:
  void skip_to(uint64_t first);
  static bool epochs_differ(uint64_t a, uint64_t b) { return a != 0 && b != 0 && a != b; }
  void reset(uint64_t last_seq, uint64_t epoch);

  bool started_ = false;
  bool replay_ = false;
  uint64_t next_ = 1;
  uint64_t epoch_ = 0;
  uint64_t holes_ = 0;
  uint64_t hole_msgs_ = 0;
  uint64_t announced_ = 0;
  uint64_t order_errors_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t epoch_resets_ = 0;
};

}  // namespace tg::bots
