// seq_tracker.cpp -- hole, gap and order accounting of one client's message stream.
#include "bots/seq_tracker.hpp"

namespace tg::bots {

void SeqTracker::start(uint64_t last_seq) {
  started_ = true;
  next_ = last_seq + 1;
}

void SeqTracker::skip_to(uint64_t first) {
  if (first > next_) {
    ++holes_;
    hole_msgs_ += first - next_;
  }
}

void SeqTracker::on_batch(uint64_t first, uint64_t last) {
  if (!started_) start(first - 1);  // no hello seen: trust the first batch
  if (first < next_) {
    ++order_errors_;  // duplicate or overlap
    if (last >= next_) next_ = last + 1;
    return;
  }
  skip_to(first);
  next_ = last + 1;
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

}  // namespace tg::bots
