// history_ledger.cpp -- the per-room ledger of held batches and the global budget.
#include "batcher/history_ledger.hpp"

#include <algorithm>

namespace tg::batcher {

HistoryLedger::HistoryLedger(size_t room_bytes, size_t total_bytes)
    : room_budget_(room_bytes), total_budget_(total_bytes) {}

void HistoryLedger::add(std::string_view room, uint64_t incarnation, uint64_t seq, size_t bytes,
                        uint64_t now_ns) {
  auto it = rooms_.find(room);
  if (it != rooms_.end() && it->second.incarnation != incarnation) {
    erase(it);
    it = rooms_.end();
  }
  if (it == rooms_.end()) {
    it = rooms_.emplace(std::string(room), Room{}).first;
    it->second.name = it->first;
    it->second.incarnation = incarnation;
  }
  Room& r = it->second;
  r.held.push_back({seq, bytes});
  r.next_seq = seq + 1;
  r.bytes += bytes;
  total_ += bytes;
  r.last_active_ns = now_ns;
  if (r.in_lru) lru_.erase(r.lru);
  r.lru = lru_.insert(lru_.end(), &r);
  r.in_lru = true;
  if (!r.touched) {
    r.touched = true;
    touched_.push_back(&r);
  }
}

void HistoryLedger::add_older(std::string_view room, uint64_t incarnation, uint64_t seq,
                              size_t bytes) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) {
    // Nothing recorded of the room yet (no batch delivered since it opened here): it
    // starts with this batch, its next one after it.
    it = rooms_.emplace(std::string(room), Room{}).first;
    it->second.name = it->first;
    it->second.incarnation = incarnation;
    it->second.next_seq = seq + 1;
  }
  Room& r = it->second;
  if (r.incarnation != incarnation) return;
  if (seq + 1 != (r.held.empty() ? r.next_seq : r.held.front().seq)) return;
  r.held.push_front({seq, bytes});
  r.bytes += bytes;
  total_ += bytes;
  if (!r.in_lru) {  // a room trimmed to empty holds batches again
    r.lru = lru_.insert(lru_.end(), &r);
    r.in_lru = true;
  }
  if (!r.touched) {
    r.touched = true;
    touched_.push_back(&r);
  }
}

void HistoryLedger::drop_front(Room& r) {
  const Held h = r.held.front();
  r.held.pop_front();
  r.bytes -= h.bytes;
  total_ -= h.bytes;
  if (r.held.empty() && r.in_lru) {
    lru_.erase(r.lru);
    r.in_lru = false;
  }
  if (!r.trimmed) {
    r.trimmed = true;
    trimmed_.push_back(&r);
  }
}

void HistoryLedger::enforce(std::vector<RoomCut>& cuts) {
  // The room's own bound first: it is the room's, whatever the others do.
  for (Room* r : touched_) {
    r->touched = false;
    while (r->bytes > room_budget_ && r->held.size() > 1) drop_front(*r);
  }
  touched_.clear();
  // Then the process's: the least recently active rooms pay, oldest batches first.
  while (total_ > total_budget_ && !lru_.empty()) {
    Room& r = *lru_.front();
    evicted_bytes_ += r.held.front().bytes;
    ++evicted_batches_;
    drop_front(r);
  }
  for (Room* r : trimmed_) {
    r->trimmed = false;
    cuts.push_back(
        {r->name, r->incarnation, r->held.empty() ? r->next_seq : r->held.front().seq, false});
  }
  trimmed_.clear();
}

void HistoryLedger::erase(
    std::unordered_map<std::string, Room, Hash, std::equal_to<>>::iterator it) {
  Room& r = it->second;
  total_ -= r.bytes;
  if (r.in_lru) lru_.erase(r.lru);
  std::erase(touched_, &r);
  std::erase(trimmed_, &r);
  rooms_.erase(it);
}

void HistoryLedger::forget(std::string_view room) {
  auto it = rooms_.find(room);
  if (it != rooms_.end()) erase(it);
}

uint64_t HistoryLedger::incarnation(std::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.incarnation;
}

uint64_t HistoryLedger::last_active_ns(std::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.last_active_ns;
}

size_t HistoryLedger::room_bytes_held(std::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.bytes;
}

uint64_t HistoryLedger::first_batch(std::string_view room) const {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return 0;
  return it->second.held.empty() ? it->second.next_seq : it->second.held.front().seq;
}

void HistoryLedger::rooms_by_bytes(std::span<const uint64_t> bounds,
                                   std::vector<uint64_t>& counts) const {
  counts.assign(bounds.size() + 1, 0);
  for (const auto& [name, r] : rooms_) {
    // The first bound the room fits under, and every bound after it (cumulative).
    auto at = std::lower_bound(bounds.begin(), bounds.end(), uint64_t{r.bytes});
    for (size_t i = static_cast<size_t>(at - bounds.begin()); i < counts.size(); ++i) ++counts[i];
  }
}

}  // namespace tg::batcher
