// room_directory.hpp -- RoomDirectory: the rooms alive in the process, shared by every
// Shard and the Batcher under one mutex. A Shard registers each member that joins and
// leaves (joins are rare next to messages); the Batcher expires rooms that stayed empty
// for --room-ttl-s. It is what makes --max-rooms exact and expiry race-free: a join and
// an expiry of the same room are ordered by the mutex, and a room created after an
// expiry is a new incarnation whose seqs start above every seq issued before it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tg::batcher {

class RoomDirectory {
 public:
  // One life of a room: from its creation by a join to its expiry.
  struct Incarnation {
    uint64_t id = 0;           // unique in the process, increasing
    uint64_t first_batch = 0;  // the seq its first batch gets
    uint64_t first_msg = 0;    // the seq its first message (event) gets
  };

  // `max_rooms`: rooms alive at once (0: no limit).
  explicit RoomDirectory(size_t max_rooms) : max_rooms_(max_rooms) {}
  RoomDirectory(const RoomDirectory&) = delete;
  RoomDirectory& operator=(const RoomDirectory&) = delete;

  // Any thread: one more member of `room` at `now_ns` (monotonic). A room that is not
  // alive is created (a new incarnation, starting above the high-water mark), unless
  // max_rooms are alive: then nothing changes and nullopt is returned. Joining a room
  // that is alive always succeeds.
  std::optional<Incarnation> join(std::string_view room, uint64_t now_ns);
  // Any thread: one member of `room` fewer (it must have joined).
  void leave(std::string_view room, uint64_t now_ns);
  // Any thread: the current incarnation of `room`, if it is alive.
  std::optional<Incarnation> find(std::string_view room) const;

  // Any thread: appends to `out` every room alive with its members (the publish API's
  // GET /api/rooms).
  void members(std::vector<std::pair<std::string, uint64_t>>& out) const;

  // Batcher thread: appends to `out` the rooms without members since at least `idle_ns`
  // before `now_ns`, with their incarnation ids.
  void idle_rooms(uint64_t now_ns, uint64_t idle_ns,
                  std::vector<std::pair<std::string, uint64_t>>& out) const;
  // Batcher thread: removes `room` if it is still incarnation `id`, without members, and
  // idle since at least `idle_ns`. Returns whether it did.
  bool expire(std::string_view room, uint64_t id, uint64_t now_ns, uint64_t idle_ns);

  // Batcher thread, after issuing seqs: the highest batch and message seqs issued to any
  // room. A room created from then on starts above them.
  void raise_high_water(uint64_t batch, uint64_t msg);

  // Any thread: rooms alive now.
  size_t size() const { return size_.load(std::memory_order_relaxed); }
  size_t max_rooms() const { return max_rooms_; }

 private:
  struct Room {
    Incarnation inc;
    uint64_t members = 0;
    uint64_t idle_since_ns = 0;  // when the last member left (or the room was created)
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  mutable std::mutex mu_;
  std::unordered_map<std::string, Room, Hash, std::equal_to<>> rooms_;  // guarded by mu_
  uint64_t next_id_ = 1;                                                // guarded by mu_
  uint64_t high_batch_ = 0;                                             // guarded by mu_
  uint64_t high_msg_ = 0;                                               // guarded by mu_
  std::atomic<size_t> size_{0};
  const size_t max_rooms_;
};

}  // namespace tg::batcher
