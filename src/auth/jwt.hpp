// jwt.hpp -- the parts of a JSON Web Token (RFC 7519) tidegate reads, without the
// cryptography (verifier.hpp): the compact form's three parts, the header's `alg`, the
// claims and their types, and the time checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/permissions.hpp"

namespace tg::auth {

// The longest token looked at; a longer one is refused before any parsing.
constexpr size_t kMaxTokenBytes = 8192;
// The deepest JSON nesting a header or claims set may have.
constexpr int kMaxJsonDepth = 16;

// Why a token was refused (also the `reason` label of tidegate_auth_refused_total).
#define TG_TOKEN_ERRORS(X)                                                          \
  X(kTooLong, "too_long")           /* over kMaxTokenBytes */                       \
  X(kMalformed, "malformed")        /* not three base64url parts of JSON objects */ \
  X(kBadAlg, "bad_alg")             /* alg none, unknown, or not the key's */       \
  X(kBadSignature, "bad_signature") /* the signature does not verify */             \
  X(kBadClaims, "bad_claims")       /* a claim missing or of the wrong type */      \
  X(kExpired, "expired")            /* exp (+ leeway) passed */                     \
  X(kNotYetValid, "not_yet_valid")  /* nbf (- leeway) not reached */

#define TG_ENUMERATOR(e, label) e,
enum class TokenError : uint8_t { TG_TOKEN_ERRORS(TG_ENUMERATOR) kCount };
#undef TG_ENUMERATOR
const char* token_error_label(TokenError e);

enum class Alg : uint8_t { kHS256, kRS256, kES256 };
// The algorithm named by a header's `alg`, exactly (case matters); nullopt for `none`
// and every other.
std::optional<Alg> alg_from_name(std::string_view name);

// What a verified token says about its user.
struct Claims {
  std::string sub;                      // the user id
  std::string name;                     // the name shown: the `name` claim, else `sub`
  std::optional<double> exp, nbf, iat;  // seconds since the Unix epoch
  Permissions rooms;                    // `rooms`; absent: every room
};

// A compact JWS split at its two dots; nullopt unless there are exactly three parts,
// the first two non-empty.
struct TokenParts {
  std::string_view header, payload, signature;  // still base64url
  std::string_view signing_input;               // "header.payload", what is signed
};
std::optional<TokenParts> split_token(std::string_view token);

// Whether `json`'s arrays and objects nest at most `max_depth` deep (strings skipped).
bool json_depth_within(std::string_view json, int max_depth);

// The header's `alg` string, or nullopt when the header is not a JSON object with a
// string `alg`, or has `crit` (extensions tidegate does not understand, RFC 7515 4.1.11).
std::optional<std::string> parse_header(std::string_view json);

// The claims of a payload, or nullopt with `why` set when one has the wrong type: `sub`
// a non-empty string of at most 256 bytes; `name` a valid chat name (protocol/names);
// without `name`, `sub` must be one to be shown; `exp`, `nbf`, `iat` numbers; `rooms`
// an array of room patterns (read and publish) or an object {"read":[...],
// "publish":[...]} (each absent: none).
std::optional<Claims> parse_claims(std::string_view json, std::string& why);

// Whether the token's times allow it at `now_s` with `leeway_s` either way: refused
// once now >= exp + leeway, and while now < nbf - leeway.
std::optional<TokenError> check_times(const Claims& c, double now_s, double leeway_s);

}  // namespace tg::auth
