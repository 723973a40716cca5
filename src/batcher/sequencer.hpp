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
    uint64_t batch_seq;      // this batch's seq in its room, counting from 1
    uint64_t first_msg_seq;  // seq of the batch's first event, counting from 1
    uint32_t online;         // room members after the batch
  };
  virtual ~Sequencer() = default;

  // Reserves the next batch seq and `count` consecutive message seqs for `room`, and
  // applies `online_delta` (joins minus leaves in the batch) to its member count.
  // Called only by the Batcher thread.
  virtual Assigned assign(std::string_view room, uint64_t count, int online_delta) = 0;
};

// The single-node sequencer: counters in memory.
class LocalSequencer final : public Sequencer {
 public:
  Assigned assign(std::string_view room, uint64_t count, int online_delta) override;

 private:
  struct RoomSeq {
    uint64_t batches = 0;
    uint64_t msgs = 0;
    int64_t online = 0;
  };
  std::unordered_map<std::string, RoomSeq> rooms_;
};

}  // namespace tg::batcher
