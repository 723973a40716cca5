// sequencer.cpp -- the in-memory Sequencer.
#include "batcher/sequencer.hpp"

#include <algorithm>

namespace tg::batcher {

Sequencer::Assigned LocalSequencer::assign(std::string_view room, uint64_t count,
                                           int online_delta) {
  auto it = rooms_.find(room);
  if (it == rooms_.end())
    it = rooms_.emplace(std::string(room), RoomSeq{high_.batch, high_.msg, 0}).first;
  RoomSeq& r = it->second;
  Assigned a{++r.batches, r.msgs + 1, 0};
  r.msgs += count;
  r.online = std::max<int64_t>(0, r.online + online_delta);
  a.online = static_cast<uint32_t>(r.online);
  high_.batch = std::max(high_.batch, r.batches);
  high_.msg = std::max(high_.msg, r.msgs);
  return a;
}

void LocalSequencer::open(std::string_view room, uint64_t first_batch, uint64_t first_msg) {
  if (rooms_.find(room) != rooms_.end() || first_batch == 0 || first_msg == 0) return;
  rooms_.emplace(std::string(room), RoomSeq{first_batch - 1, first_msg - 1, 0});
}

void LocalSequencer::forget(std::string_view room) {
  auto it = rooms_.find(room);
  if (it != rooms_.end()) rooms_.erase(it);
}

}  // namespace tg::batcher
