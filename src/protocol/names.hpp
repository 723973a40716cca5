// names.hpp -- the rules for what a valid user name or room name is (docs/PROTOCOL.md).
#pragma once

#include <string_view>

namespace tg::protocol {

// 1-32 bytes of valid UTF-8, no control characters, no leading or trailing space,
// and not of the reserved form "guest-..." (those are handed out by the server).
bool valid_name(std::string_view name);
// 1-64 characters of A-Z a-z 0-9 _ - .
bool valid_room(std::string_view room);

}  // namespace tg::protocol
