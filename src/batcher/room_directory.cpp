// room_directory.cpp -- the rooms alive, their members, and their incarnations.
#include "batcher/room_directory.hpp"

#include <algorithm>

#include "common/result.hpp"

namespace tg::batcher {

std::optional<RoomDirectory::Incarnation> RoomDirectory::join(std::string_view room,
                                                              uint64_t now_ns) {
  std::lock_guard lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) {
    if (max_rooms_ != 0 && rooms_.size() >= max_rooms_) return std::nullopt;
    Room r;
    r.inc = {next_id_++, high_batch_ + 1, high_msg_ + 1};
    r.idle_since_ns = now_ns;
    it = rooms_.emplace(std::string(room), r).first;
    size_.store(rooms_.size(), std::memory_order_relaxed);
  }
  ++it->second.members;
  return it->second.inc;
}

void RoomDirectory::leave(std::string_view room, uint64_t now_ns) {
  std::lock_guard lock(mu_);
  auto it = rooms_.find(room);
  TG_ASSERT(it != rooms_.end() && it->second.members > 0);
  if (--it->second.members == 0) it->second.idle_since_ns = now_ns;
}

std::optional<RoomDirectory::Incarnation> RoomDirectory::find(std::string_view room) const {
  std::lock_guard lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end()) return std::nullopt;
  return it->second.inc;
}

void RoomDirectory::idle_rooms(uint64_t now_ns, uint64_t idle_ns,
                               std::vector<std::pair<std::string, uint64_t>>& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, r] : rooms_)
    if (r.members == 0 && now_ns - std::min(now_ns, r.idle_since_ns) >= idle_ns)
      out.emplace_back(name, r.inc.id);
}

void RoomDirectory::members(std::vector<std::pair<std::string, uint64_t>>& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [name, r] : rooms_) out.emplace_back(name, r.members);
}

bool RoomDirectory::expire(std::string_view room, uint64_t id, uint64_t now_ns, uint64_t idle_ns) {
  std::lock_guard lock(mu_);
  auto it = rooms_.find(room);
  if (it == rooms_.end() || it->second.inc.id != id || it->second.members != 0 ||
      now_ns - std::min(now_ns, it->second.idle_since_ns) < idle_ns)
    return false;
  rooms_.erase(it);
  size_.store(rooms_.size(), std::memory_order_relaxed);
  return true;
}

void RoomDirectory::raise_high_water(uint64_t batch, uint64_t msg) {
  std::lock_guard lock(mu_);
  high_batch_ = std::max(high_batch_, batch);
  high_msg_ = std::max(high_msg_, msg);
}

}  // namespace tg::batcher
