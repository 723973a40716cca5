// inbound.cpp -- names of inbound event kinds, as they appear on the wire.
#include "batcher/inbound.hpp"

namespace tg::batcher {

const char* inbound_kind_name(InboundKind kind) {
  switch (kind) {
    case InboundKind::kMsg:
      return "msg";
    case InboundKind::kJoin:
      return "join";
    case InboundKind::kLeave:
      return "leave";
    case InboundKind::kRename:
      return "name";
  }
  return "msg";
}

}  // namespace tg::batcher
