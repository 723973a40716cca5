// frame_builder.hpp -- client-to-server WebSocket frames built byte by byte (RFC 6455 §5.2),
// malformed ones included, for tests that send what a correct codec never would.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tg::client {

// One frame of `opcode` (low 4 bits) carrying `payload`: FIN unless told otherwise, masked
// with the fixed key 12 34 56 78 unless told otherwise, reserved bits `rsv` (0..7). The
// payload length takes the 7-bit, 16-bit or 64-bit form its size needs.
std::string client_frame(uint8_t opcode, std::string_view payload, bool fin = true,
                         bool masked = true, uint8_t rsv = 0);

// The payload of a close frame with status `code` (network byte order, no reason).
std::string close_payload(uint16_t code);

}  // namespace tg::client
