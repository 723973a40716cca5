// sequencer.hpp -- Sequencer: hands out per-room batch and message sequence numbers.
// An interface, so that a shared log (a cluster backplane) can replace the in-memory one
// without touching the Batcher (docs/ARCHITECTURE.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tg::batcher {

class Sequencer {
 public:
  struct Assigned {
    uint64_t batch_seq;      // this batch's seq in its room
    uint64_t first_msg_seq;  // seq of the batch's first event
    uint32_t online;         // room members after the batch
  };
  // The highest batch seq and message seq issued to any room so far.
  struct HighWater {
    uint64_t batch = 0;
    uint64_t msg = 0;
  };
  virtual ~Sequencer() = default;

  // Reserves the next batch seq and `count` consecutive message seqs for `room`, and
  // applies `online_delta` (joins minus leaves in the batch) to its member count. A room
  // the sequencer does not know starts just above the high-water mark (so the first room
  // of a process starts at 1). Called only by the Batcher thread.
  virtual Assigned assign(std::string_view room, uint64_t count, int online_delta) = 0;
  // Batcher thread: a room not known yet starts at these seqs (chosen when the room was
  // created, above every seq issued before that); ignored for a known room.
  virtual void open(std::string_view room, uint64_t first_batch, uint64_t first_msg) = 0;
  // Batcher thread: the room expired; its next incarnation starts above the high-water
  // mark, never reusing one of its seqs.
  virtual void forget(std::string_view room) = 0;
  virtual HighWater high_water() const = 0;
};

// The single-node sequencer: counters in memory.
class LocalSequencer final : public Sequencer {
 public:
  Assigned assign(std::string_view room, uint64_t count, int online_delta) override;
  void open(std::string_view room, uint64_t first_batch, uint64_t first_msg) override;
  void forget(std::string_view room) override;
  HighWater high_water() const override { return high_; }
  size_t rooms() const { return rooms_.size(); }

 private:
  struct RoomSeq {
    uint64_t batches = 0;  // the last batch seq issued
    uint64_t msgs = 0;     // the last message seq issued
    int64_t online = 0;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, RoomSeq, Hash, std::equal_to<>> rooms_;
  HighWater high_;
};

}  // namespace tg::batcher
