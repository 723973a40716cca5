// decoded_batch.hpp -- what the swarm keeps of one batch frame after decoding it once.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tg::bots {

// One message of this swarm run inside a batch: who sent it and when.
struct OwnMessage {
  uint32_t bot = 0;
  int64_t sent_us = 0;
  uint64_t seq = 0;  // its message seq: after a resume, tells a repeat from a first delivery
};

// The facts every receiver of a batch needs, computed once per distinct frame and
// shared by all bots of a loop that receive the same bytes.
struct DecodedBatch {
  std::string room;
  uint64_t batch_seq = 0;
  uint64_t first_seq = 0;  // message seq range, valid when msg_count > 0
  uint64_t last_seq = 0;
  uint32_t msg_count = 0;       // every entry of "msgs" (chat, join, leave, name)
  uint32_t run_msgs = 0;        // chat messages carrying this run's cid
  bool consecutive = true;      // the seqs inside the batch count up by one
  std::vector<OwnMessage> own;  // this run's messages, sorted by bot

  // The messages `bot` sent that this batch carries (empty span if none).
  std::span<const OwnMessage> sent_by(uint32_t bot) const {
    const auto lo = std::lower_bound(own.begin(), own.end(), bot,
                                     [](const OwnMessage& m, uint32_t b) { return m.bot < b; });
    auto hi = lo;
    while (hi != own.end() && hi->bot == bot) ++hi;
    return {lo, hi};
  }
};

}  // namespace tg::bots
