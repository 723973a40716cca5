// seq_tracker.cpp -- hole, gap, duplicate and epoch accounting of one client's message stream.
#include "bots/seq_tracker.hpp"

#include <algorithm>

namespace tg::bots {

void SeqTracker::start(uint64_t last_seq, uint64_t epoch) {
  started_ = true;
  next_ = last_seq + 1;
  epoch_ = epoch;
}

void SeqTracker::reset(uint64_t last_seq, uint64_t epoch) {
  ++epoch_resets_;
  next_ = last_seq + 1;
  epoch_ = epoch;
}

void SeqTracker::skip_to(uint64_t first) {
  if (first > next_) {
    ++holes_;
    hole_msgs_ += first - next_;
  }
}

uint64_t SeqTracker::on_batch(uint64_t first, uint64_t last) {
  if (!started_) start(first - 1);               // no hello seen: trust the first batch
  if (replay_ && last < next_) return last + 1;  // a v2 replay from a keyframe: dropped
  if (replay_ && first < next_) {
    replay_ = false;
    const uint64_t fresh = next_;
    next_ = last + 1;
    return fresh;
  }
  replay_ = false;
  if (first < next_) {
    ++order_errors_;  // duplicate or overlap
    duplicates_ += std::min(last, next_ - 1) - first + 1;
    if (last < next_) return last + 1;
    const uint64_t fresh = next_;
    next_ = last + 1;
    return fresh;
  }
  skip_to(first);
  next_ = last + 1;
  return first;
}

void SeqTracker::on_gap(uint64_t from, uint64_t to) {
  if (!started_) start(from - 1);
  if (to < next_) {
    ++order_errors_;  // announces messages already received
    return;
  }
  if (from < next_) from = next_;
  skip_to(from);
  announced_ += to - from + 1;
  next_ = to + 1;
}

SeqTracker::Resume SeqTracker::resume(uint64_t hello_seq, uint64_t hello_epoch) {
  if (!started_) {
    start(hello_seq, hello_epoch);
    return Resume::kResumed;
  }
  if (epochs_differ(epoch_, hello_epoch)) {
    reset(hello_seq, hello_epoch);
    return Resume::kEpochReset;
  }
  if (epoch_ == 0) epoch_ = hello_epoch;
  // The server starts after `since` (or earlier, if its room is behind what the client
  // saw: the high-water mark stays, so a replay of those seqs shows as duplicates).
  // Starting later skipped messages nobody announced.
  skip_to(hello_seq + 1);
  next_ = std::max(next_, hello_seq + 1);
  return Resume::kResumed;
}

bool SeqTracker::on_joined(uint64_t seq, uint64_t epoch) {
  if (!started_) {
    start(seq, epoch);
    return false;
  }
  if (!epochs_differ(epoch_, epoch)) {
    if (epoch_ == 0) epoch_ = epoch;
    return false;
  }
  reset(seq, epoch);
  return true;
}

}  // namespace tg::bots
