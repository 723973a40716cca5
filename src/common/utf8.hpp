// utf8.hpp -- UTF-8 validation, for WebSocket text frames (RFC 6455 8.1) and for names.
#pragma once

#include <string_view>

namespace tg {

// True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates, or > U+10FFFF).
bool valid_utf8(std::string_view s);

}  // namespace tg
