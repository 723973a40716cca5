// inbox.cpp -- the Shard-to-Batcher queue.
#include "batcher/inbox.hpp"

#include <iterator>

namespace tg::batcher {

bool Inbox::push(Inbound&& event) {
  std::lock_guard lock(mu_);
  events_.push_back(std::move(event));
  waiting_.store(true, std::memory_order_relaxed);
  return events_.size() == 1;
}

void Inbox::drain_into(std::vector<Inbound>& out) {
  {
    std::lock_guard lock(mu_);
    spare_.swap(events_);
    waiting_.store(false, std::memory_order_relaxed);
  }
  out.insert(out.end(), std::make_move_iterator(spare_.begin()),
             std::make_move_iterator(spare_.end()));
  spare_.clear();
}

}  // namespace tg::batcher
