// room_log.cpp -- the bounded ring of batches a Shard serves its clients from.
#include "gateway/room_log.hpp"

#include <algorithm>

#include "common/result.hpp"

namespace tg::gateway {

EntryPin::~EntryPin() {
  if (e_ && --e_->pins == 0 && !e_->in_log) delete e_;
}

RoomLog::~RoomLog() {
  while (!entries_.empty()) evict_front();
}

void RoomLog::append(batcher::Batch&& batch) {
  TG_ASSERT(batch.seq == next_seq());
  last_msg_ = batch.last_msg;
  bytes_ += entry_bytes(batch);
  if (batch.keyframe) keyframes_.push_back(batch.seq);
  entries_.push_back(new LogEntry{std::move(batch)});
}

size_t RoomLog::trim_to(uint64_t first_batch) {
  size_t evicted = 0;
  while (!entries_.empty() && first_seq_ < first_batch) {
    evict_front();
    ++evicted;
  }
  return evicted;
}

void RoomLog::reset(uint64_t first_batch, uint64_t last_msg, uint64_t origin_msg) {
  while (!entries_.empty()) evict_front();
  first_seq_ = first_batch;
  last_msg_ = last_msg;
  origin_msg_ = origin_msg != 0 ? origin_msg : last_msg + 1;
}

void RoomLog::prepend(batcher::Batch&& batch) {
  TG_ASSERT(batch.seq + 1 == first_seq_);
  if (entries_.empty()) last_msg_ = batch.last_msg;
  --first_seq_;
  bytes_ += entry_bytes(batch);
  if (batch.keyframe) keyframes_.push_front(batch.seq);
  entries_.push_front(new LogEntry{std::move(batch)});
}

void RoomLog::evict_front() {
  LogEntry* e = entries_.front();
  entries_.pop_front();
  if (!keyframes_.empty() && keyframes_.front() == first_seq_) keyframes_.pop_front();
  ++first_seq_;
  bytes_ -= entry_bytes(e->batch) + e->deflated_bytes();
  e->in_log = false;
  if (e->pins == 0) delete e;  // else the last EntryPin frees it
}

LogEntry* RoomLog::at(uint64_t seq) const {
  if (seq < first_seq_ || seq >= next_seq()) return nullptr;
  return entries_[seq - first_seq_];
}

uint64_t RoomLog::batch_after_msg(uint64_t msg_seq) const {
  if (msg_seq >= last_msg_) return next_seq();
  // Entries are ordered by last_msg; find the first one ending after msg_seq.
  auto it = std::partition_point(entries_.begin(), entries_.end(),
                                 [&](const LogEntry* e) { return e->batch.last_msg <= msg_seq; });
  return first_seq_ + static_cast<uint64_t>(it - entries_.begin());
}

uint64_t RoomLog::keyframe_at_or_before(uint64_t seq) const {
  auto it = std::upper_bound(keyframes_.begin(), keyframes_.end(), seq);
  return it == keyframes_.begin() ? next_seq() : *std::prev(it);
}

void RoomLog::attach_json(LogEntry& e, pool::SharedFrame json) {
  if (e.in_log) bytes_ += json.size();
  e.batch.json = std::move(json);
}

void RoomLog::attach_deflated(LogEntry& e, int window_bits, pool::SharedFrame frame) {
  if (e.in_log) bytes_ += frame.size();
  e.deflated[window_bits - ws::kMinServerWindowBits] = std::move(frame);
}

void RoomLog::attach_v2(LogEntry& e, pool::SharedFrame frame) {
  if (e.in_log) bytes_ += frame.size();
  e.batch.v2 = std::move(frame);
}

}  // namespace tg::gateway
