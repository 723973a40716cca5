// Fuzz target: tokens and claims from anyone (auth/): the verifier's whole path up to
// the signature, the claims parser and strict base64url on the raw input.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/base64url.hpp"
#include "auth/verifier.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<tg::auth::Verifier> verifier = [] {
    std::string error;
    return tg::auth::Verifier::from_pem("fuzz-secret-0123456789abcdefghijklmnop", "", error);
  }();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  tg::auth::Verdict v = verifier->verify(input, 1.8e9, 30);
  // Invariants: a refusal says why; an accepted token (the seeds are signed with the
  // secret) has a user and a name.
  if (!v.ok() && v.reason.empty()) __builtin_trap();
  if (v.ok() && (v.claims->sub.empty() || v.claims->name.empty())) __builtin_trap();
  if (size > tg::auth::kMaxTokenBytes && v.error != tg::auth::TokenError::kTooLong)
    __builtin_trap();
  std::string why;
  auto claims = tg::auth::parse_claims(input, why);
  if (!claims && why.empty()) __builtin_trap();
  if (claims && (claims->sub.empty() || claims->name.empty())) __builtin_trap();
  // Strict base64url: what decodes has exactly one spelling, the one it came in.
  if (auto bytes = tg::auth::base64url_decode(input)) {
    if (tg::auth::base64url_encode(*bytes) != input) __builtin_trap();
  }
  return 0;
}
