// cid.hpp -- the client message id a bot puts on each message: run, sender and send time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tg::bots {

// `cid` = "<run>.<bot>.<sent_us>": the swarm run's id (so messages of another run or
// another client are not counted), the sending bot's index, and the steady-clock send
// time in microseconds. The gateway echoes it in the batch, so the sender measures its
// latency without keeping per-message state.
struct Cid {
  uint32_t bot = 0;
  int64_t sent_us = 0;

  // Appends the cid text for `run` to `out`.
  void format(std::string_view run, std::string& out) const;
  // The cid of `text` if it is well formed and belongs to `run`, else nullopt.
  static std::optional<Cid> parse(std::string_view text, std::string_view run);
};

}  // namespace tg::bots
