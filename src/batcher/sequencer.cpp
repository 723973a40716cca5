// sequencer.cpp -- the in-memory Sequencer.
#include "batcher/sequencer.hpp"

#include <algorithm>

namespace tg::batcher {

Sequencer::Assigned LocalSequencer::assign(std::string_view room, uint64_t count,
                                           int online_delta) {
  auto it = rooms_.find(std::string(room));
  if (it == rooms_.end()) it = rooms_.emplace(std::string(room), RoomSeq{}).first;
  RoomSeq& r = it->second;
  Assigned a{++r.batches, r.msgs + 1, 0};
  r.msgs += count;
  r.online = std::max<int64_t>(0, r.online + online_delta);
  a.online = static_cast<uint32_t>(r.online);
  return a;
}

}  // namespace tg::batcher
