// verifier.hpp -- Verifier: the keys tokens are checked with, loaded from files, and the
// one verify() every token goes through (handshake and refresh alike).
//
// Each algorithm is accepted only with the key made for it: HS256 with the HS256 secret,
// RS256 with an RSA public key, ES256 with a P-256 public key; `none` and every other
// algorithm never. The header cannot choose how its own signature is checked, which is
// what defeats algorithm confusion (an HS256 token "signed" with the RSA public key).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/jwt.hpp"

namespace tg::auth {

// The outcome of verify(): the claims, or why not (`reason` is short and says nothing of
// the token's content beyond the kind of fault; it goes into 401 bodies and notices).
struct Verdict {
  std::optional<Claims> claims;
  TokenError error = TokenError::kMalformed;
  std::string reason;
  bool ok() const { return claims.has_value(); }
};

class Verifier {
 public:
  // An HS256 secret (at least 32 bytes, RFC 7518 3.2) and/or a PEM public key (RSA of
  // at least 2048 bits, or EC on P-256). Empty `secret` / null `key`: that kind unused.
  Verifier(std::string secret, EVP_PKEY* key);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Reads the key files (either may be empty, not both). The secret file's bytes are
  // the secret, one trailing line end dropped. On failure: nullptr and `error` says
  // which file and why.
  static std::unique_ptr<Verifier> load(const std::string& secret_file,
                                        const std::string& public_key_file, std::string& error);
  // The same from PEM text instead of a file (tests).
  static std::unique_ptr<Verifier> from_pem(std::string secret, std::string_view pem,
                                            std::string& error);

  // Verifies `token` at `now_s` (seconds since the Unix epoch) with `leeway_s` of slack
  // for exp and nbf.
  Verdict verify(std::string_view token, double now_s, double leeway_s) const;

  // The algorithms this verifier accepts, e.g. "HS256 RS256" (for the startup log).
  std::string algorithms() const;

 private:
  bool verify_signature(Alg alg, std::string_view input, const std::string& sig) const;

  std::string secret_;
  EVP_PKEY* key_ = nullptr;
  std::optional<Alg> key_alg_;  // RS256 or ES256, from the key's type
};

}  // namespace tg::auth
