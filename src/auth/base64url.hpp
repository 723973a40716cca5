// base64url.hpp -- strict base64url decoding (RFC 4648 5) as JWS compact serialization
// uses it (RFC 7515 2): no padding, no whitespace, canonical trailing bits.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tg::auth {

// The bytes `text` encodes, or nullopt when it is not canonical unpadded base64url: a
// character outside A-Z a-z 0-9 - _, a length of 4n+1, or unused low bits that are not
// zero. Refusing the non-canonical forms keeps one token from having several spellings.
std::optional<std::string> base64url_decode(std::string_view text);

// The unpadded base64url text of `bytes` (tests mint tokens with it).
std::string base64url_encode(std::string_view bytes);

}  // namespace tg::auth
