// Fuzz target: WebSocket frames from a client into a server session (wslay underneath),
// in any split; checks that every delivered message is valid UTF-8 and within the limit.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/utf8.hpp"
#include "ws/session.hpp"

namespace {
constexpr size_t kMaxMessage = 4096;

class Checker : public tg::ws::WsSession::Handler {
 public:
  void on_ws_text(std::string_view payload) override {
    if (payload.size() > kMaxMessage || !tg::valid_utf8(payload)) __builtin_trap();
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 128;
  Checker checker;
  tg::ws::WsSession session(checker, kMaxMessage);
  std::string out;
  for (size_t off = 1; off < size; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    if (!session.feed(data + off, n, out)) break;
    if (out.size() > 1u << 20) __builtin_trap();  // replies stay bounded
  }
  return 0;
}
