// Fuzz target: parsing a client's text frame into a command (rapidjson underneath).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/client_command.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view frame(reinterpret_cast<const char*>(data), size);
  tg::protocol::ClientCommand c = tg::protocol::parse_client_command(frame);
  // Invariants: an invalid command says why; a plain message keeps the frame as text.
  if (c.kind == tg::protocol::CommandKind::kInvalid && c.error.empty()) __builtin_trap();
  if (c.ping_id.size() > 64 || c.cid.size() > 64) __builtin_trap();
  return 0;
}
