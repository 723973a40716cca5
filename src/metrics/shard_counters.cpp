// shard_counters.cpp -- the label values of the reasons and statuses Shards count by.
#include "metrics/shard_counters.hpp"

namespace tg::metrics {

// A switch case of a reason table row; each function names its enum `Reason`.
#define TG_NAME_CASE(e, label) \
  case Reason::e:              \
    return label;

const char* close_reason_name(CloseReason r) {
  using Reason = CloseReason;
  switch (r) {
    TG_CLOSE_REASONS(TG_NAME_CASE)
    case Reason::kCount: break;
  }
  return "unknown";
}

const char* reject_reason_name(RejectReason r) {
  using Reason = RejectReason;
  switch (r) {
    TG_REJECT_REASONS(TG_NAME_CASE)
    case Reason::kCount: break;
  }
  return "unknown";
}

const char* refuse_reason_name(RefuseReason r) {
  using Reason = RefuseReason;
  switch (r) {
    TG_REFUSE_REASONS(TG_NAME_CASE)
    case Reason::kCount: break;
  }
  return "unknown";
}

#undef TG_NAME_CASE

std::string handshake_status_label(size_t slot) {
  return slot < std::size(ws::kHandshakeStatuses) ? std::to_string(ws::kHandshakeStatuses[slot])
                                                  : std::string("other");
}

}  // namespace tg::metrics
