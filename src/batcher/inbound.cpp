// inbound.cpp -- names of inbound event kinds, as they appear on the wire.
#include "batcher/inbound.hpp"

#include <cstddef>
#include <iterator>

namespace tg::batcher {

const char* inbound_kind_name(InboundKind kind) {
  static constexpr const char* kNames[] = {"msg", "join", "leave", "name"};  // by InboundKind
  size_t i = static_cast<size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "msg";
}

}  // namespace tg::batcher
