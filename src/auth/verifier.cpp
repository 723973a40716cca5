// verifier.cpp -- JWS signatures with OpenSSL: HMAC-SHA256, RSASSA-PKCS1-v1_5 and ECDSA
// P-256, each through EVP.
#include "auth/verifier.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include "auth/base64url.hpp"

namespace tg::auth {

namespace {

constexpr size_t kMinSecretBytes = 32;
constexpr int kMinRsaBits = 2048;
constexpr size_t kMaxKeyFileBytes = 64 << 10;

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  if (out.size() > kMaxKeyFileBytes) {
    error = path + " is too large for a key";
    return false;
  }
  return true;
}

Verdict refuse(TokenError e, std::string reason) {
  Verdict v;
  v.error = e;
  v.reason = std::move(reason);
  return v;
}

// The EVP_PKEY's algorithm for JWS, or nullopt (with `error`) for a key tidegate does not
// take.
std::optional<Alg> key_algorithm(EVP_PKEY* key, std::string& error) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
      error = "the RSA key is shorter than 2048 bits";
      return std::nullopt;
    }
    return Alg::kRS256;
  }
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    char group[64] = "";
    size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1 ||
        std::string_view(group) != "prime256v1") {
      error = "the EC key is not on P-256 (ES256)";
      return std::nullopt;
    }
    return Alg::kES256;
  }
  error = "the public key is neither RSA nor EC";
  return std::nullopt;
}

// ES256 signatures are r || s, 32 bytes each (RFC 7518 3.4); OpenSSL verifies DER.
std::optional<std::string> ecdsa_der(const std::string& raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (!sig) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, 32, nullptr);
  BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
  if (!r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  std::optional<std::string> out;
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  if (len > 0) out.emplace(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

Verifier::Verifier(std::string secret, EVP_PKEY* key) : secret_(std::move(secret)), key_(key) {
  std::string ignored;
  if (key_) key_alg_ = key_algorithm(key_, ignored);
}

Verifier::~Verifier() {
  EVP_PKEY_free(key_);
}

std::unique_ptr<Verifier> Verifier::from_pem(std::string secret, std::string_view pem,
                                             std::string& error) {
  if (!secret.empty() && secret.size() < kMinSecretBytes) {
    error = "the HS256 secret is shorter than 32 bytes";
    return nullptr;
  }
  EVP_PKEY* key = nullptr;
  if (!pem.empty()) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio) key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (!key) {
      error = "not a PEM public key (-----BEGIN PUBLIC KEY-----)";
      return nullptr;
    }
    if (!key_algorithm(key, error)) {
      EVP_PKEY_free(key);
      return nullptr;
    }
  }
  if (secret.empty() && !key) {
    error = "no key: give an HS256 secret or a public key";
    return nullptr;
  }
  return std::make_unique<Verifier>(std::move(secret), key);
}

std::unique_ptr<Verifier> Verifier::load(const std::string& secret_file,
                                         const std::string& public_key_file, std::string& error) {
  std::string secret, pem;
  if (!secret_file.empty()) {
    if (!read_file(secret_file, secret, error)) return nullptr;
    if (secret.ends_with("\r\n")) {
      secret.resize(secret.size() - 2);
    } else if (secret.ends_with("\n")) {
      secret.pop_back();
    }
    if (secret.size() < kMinSecretBytes) {
      error = secret_file + ": the HS256 secret is shorter than 32 bytes";
      return nullptr;
    }
  }
  if (!public_key_file.empty() && !read_file(public_key_file, pem, error)) return nullptr;
  std::unique_ptr<Verifier> v = from_pem(std::move(secret), pem, error);
  if (!v && !public_key_file.empty() && !pem.empty() && error.find("secret") == std::string::npos)
    error = public_key_file + ": " + error;
  return v;
}

std::string Verifier::algorithms() const {
  std::string out;
  if (!secret_.empty()) out = "HS256";
  if (key_alg_) {
    if (!out.empty()) out += ' ';
    out += *key_alg_ == Alg::kRS256 ? "RS256" : "ES256";
  }
  return out;
}

bool Verifier::verify_signature(Alg alg, std::string_view input, const std::string& sig) const {
  if (alg == Alg::kHS256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len))
      return false;
    return sig.size() == mac_len && CRYPTO_memcmp(sig.data(), mac, mac_len) == 0;
  }
  std::string der;
  if (alg == Alg::kES256) {
    auto d = ecdsa_der(sig);
    if (!d) return false;
    der = std::move(*d);
  }
  const std::string& signature = alg == Alg::kES256 ? der : sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return false;
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key_) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                             input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Verdict Verifier::verify(std::string_view token, double now_s, double leeway_s) const {
  if (token.size() > kMaxTokenBytes) return refuse(TokenError::kTooLong, "the token is too long");
  auto parts = split_token(token);
  if (!parts) return refuse(TokenError::kMalformed, "the token is not a JWS (three parts)");
  auto header = base64url_decode(parts->header);
  auto header_alg = header ? parse_header(*header) : std::nullopt;
  if (!header_alg) return refuse(TokenError::kMalformed, "the token's header is malformed");
  // The algorithm must be the configured key's: the header does not get to choose.
  std::optional<Alg> alg = alg_from_name(*header_alg);
  bool have_key = alg && (*alg == Alg::kHS256 ? !secret_.empty() : key_alg_ == alg);
  if (!have_key) return refuse(TokenError::kBadAlg, "the token's algorithm is not accepted here");
  auto signature = base64url_decode(parts->signature);
  if (!signature || !verify_signature(*alg, parts->signing_input, *signature))
    return refuse(TokenError::kBadSignature, "the token's signature does not verify");
  auto payload = base64url_decode(parts->payload);
  if (!payload) return refuse(TokenError::kMalformed, "the token's claims are malformed");
  std::string why;
  std::optional<Claims> claims = parse_claims(*payload, why);
  if (!claims) return refuse(TokenError::kBadClaims, "bad claims: " + why);
  if (auto e = check_times(*claims, now_s, leeway_s)) {
    return refuse(*e, *e == TokenError::kExpired ? "the token has expired"
                                                 : "the token is not valid yet (nbf)");
  }
  Verdict v;
  v.claims = std::move(claims);
  return v;
}

}  // namespace tg::auth
