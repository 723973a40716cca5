// shard_counters.cpp -- the label values of the handshake statuses Shards count by.
#include "metrics/shard_counters.hpp"

namespace tg::metrics {

std::string handshake_status_label(size_t slot) {
  return slot < std::size(ws::kHandshakeStatuses) ? std::to_string(ws::kHandshakeStatuses[slot])
                                                  : std::string("other");
}

}  // namespace tg::metrics
