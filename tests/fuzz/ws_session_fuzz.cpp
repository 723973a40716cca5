// Fuzz target: WebSocket frames from a client into a server session (wslay underneath),
// in any split; checks that every delivered message is valid UTF-8 and within the limit,
// and that a session whose wslay context is released whenever it allows it
// (release_idle()) answers exactly as one that keeps its context. The first byte's top
// bit turns permessage-deflate on (RSV1 messages inflated, bounded by the same limit).
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
    seen.append(payload);
    seen.push_back('\0');
  }
  std::string seen;  // every message delivered, in order
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 128;
  Checker kept_seen, released_seen;
  tg::ws::WsSession kept(kept_seen, kMaxMessage), released(released_seen, kMaxMessage);
  tg::ws::MessageInflater inflater;  // shared, as on a Shard
  if (data[0] & 0x80) {
    kept.enable_deflate(inflater);
    released.enable_deflate(inflater);
  }
  std::string kept_out, released_out;
  for (size_t off = 1; off < size; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    bool kept_ok = static_cast<bool>(kept.feed(data + off, n, kept_out));
    bool released_ok = static_cast<bool>(released.feed(data + off, n, released_out));
    released.release_idle();
    if (kept_ok != released_ok || kept_out != released_out ||
        kept_seen.seen != released_seen.seen ||
        kept.close_code_sent() != released.close_code_sent())
      __builtin_trap();
    if (!kept_ok) break;
    if (kept_out.size() > 1u << 20) __builtin_trap();  // replies stay bounded
  }
  return 0;
}
