// verifier_test.cpp -- tokens signed here with OpenSSL (HMAC, RSA, P-256) against the
// Verifier: the good ones pass, every kind of bad one is refused for its own reason.
#include "auth/verifier.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "auth/base64url.hpp"

namespace tg::auth {
namespace {

constexpr double kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-hs256";

using Signer = std::function<std::string(const std::string&)>;

std::string token(const std::string& header, const std::string& claims, const Signer& sign) {
  std::string input = base64url_encode(header) + "." + base64url_encode(claims);
  return input + "." + base64url_encode(sign(input));
}

std::string hmac(const std::string& key, const std::string& input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

std::string digest_sign(EVP_PKEY* key, const std::string& input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

// ECDSA's DER signature as JWS wants it: r || s, 32 bytes each.
std::string es256_raw(EVP_PKEY* key, const std::string& input) {
  std::string der = digest_sign(key, input);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string public_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

class VerifierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = EVP_RSA_gen(2048);
    other_rsa_ = EVP_RSA_gen(2048);
    ec_ = EVP_EC_gen("P-256");
    other_ec_ = EVP_EC_gen("P-256");
  }
  static void TearDownTestSuite() {
    for (EVP_PKEY* k : {rsa_, other_rsa_, ec_, other_ec_}) EVP_PKEY_free(k);
  }

  static std::unique_ptr<Verifier> make(const std::string& secret, EVP_PKEY* key) {
    std::string error;
    auto v = Verifier::from_pem(secret, key ? public_pem(key) : "", error);
    EXPECT_TRUE(v) << error;
    return v;
  }
  static std::string hs(const std::string& claims, const std::string& key = kSecret) {
    return token(R"({"alg":"HS256","typ":"JWT"})", claims,
                 [&](const std::string& in) { return hmac(key, in); });
  }
  static std::string rs(const std::string& claims, EVP_PKEY* key = rsa_) {
    return token(R"({"alg":"RS256","typ":"JWT"})", claims,
                 [&](const std::string& in) { return digest_sign(key, in); });
  }
  static std::string es(const std::string& claims, EVP_PKEY* key = ec_) {
    return token(R"({"alg":"ES256","typ":"JWT"})", claims,
                 [&](const std::string& in) { return es256_raw(key, in); });
  }
  static TokenError refused(const Verifier& v, const std::string& t, double now = kNow,
                            double leeway = 0) {
    Verdict r = v.verify(t, now, leeway);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.reason.empty());
    return r.error;
  }

  static inline EVP_PKEY* rsa_ = nullptr;
  static inline EVP_PKEY* other_rsa_ = nullptr;
  static inline EVP_PKEY* ec_ = nullptr;
  static inline EVP_PKEY* other_ec_ = nullptr;
};

const std::string kAlice = R"({"sub":"alice","name":"Alice","exp":1800000100})";

TEST_F(VerifierTest, GoodTokensOfEachAlgorithm) {
  auto hs_v = make(kSecret, nullptr);
  auto rs_v = make("", rsa_);
  auto es_v = make("", ec_);
  for (auto [v, t] : {std::pair{hs_v.get(), hs(kAlice)}, std::pair{rs_v.get(), rs(kAlice)},
                      std::pair{es_v.get(), es(kAlice)}}) {
    Verdict r = v->verify(t, kNow, 0);
    ASSERT_TRUE(r.ok()) << r.reason;
    EXPECT_EQ(r.claims->sub, "alice");
    EXPECT_EQ(r.claims->name, "Alice");
    EXPECT_EQ(r.claims->exp, 1800000100.0);
  }
  EXPECT_EQ(hs_v->algorithms(), "HS256");
  EXPECT_EQ(make(kSecret, ec_)->algorithms(), "HS256 ES256");
}

TEST_F(VerifierTest, BothKindsOfKeyAtOnce) {
  auto v = make(kSecret, rsa_);
  EXPECT_TRUE(v->verify(hs(kAlice), kNow, 0).ok());
  EXPECT_TRUE(v->verify(rs(kAlice), kNow, 0).ok());
  EXPECT_EQ(refused(*v, es(kAlice)), TokenError::kBadAlg);
}

TEST_F(VerifierTest, AlgNoneRefused) {
  auto v = make(kSecret, rsa_);
  std::string none =
      base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + base64url_encode(kAlice) + ".";
  EXPECT_EQ(refused(*v, none), TokenError::kBadAlg);
  std::string none_sig = token(R"({"alg":"none"})", kAlice, [](auto&) { return "x"; });
  EXPECT_EQ(refused(*v, none_sig), TokenError::kBadAlg);
  EXPECT_EQ(
      refused(*v, token(R"({"alg":"HS512"})", kAlice, [](auto& in) { return hmac(kSecret, in); })),
      TokenError::kBadAlg);
}

TEST_F(VerifierTest, AlgorithmConfusionRefused) {
  // An HS256 token whose HMAC key is the server's RSA public key, as PEM text.
  std::string forged = hs(kAlice, public_pem(rsa_));
  EXPECT_EQ(refused(*make("", rsa_), forged), TokenError::kBadAlg);
  // With a secret configured too, the HMAC is checked with the secret, never the PEM.
  EXPECT_EQ(refused(*make(kSecret, rsa_), forged), TokenError::kBadSignature);
  // RS256 and ES256 are not interchangeable either.
  EXPECT_EQ(refused(*make("", ec_), rs(kAlice)), TokenError::kBadAlg);
  EXPECT_EQ(refused(*make("", rsa_), es(kAlice)), TokenError::kBadAlg);
}

TEST_F(VerifierTest, WrongKeyRefused) {
  EXPECT_EQ(refused(*make(kSecret, nullptr), hs(kAlice, kSecret + "x")), TokenError::kBadSignature);
  EXPECT_EQ(refused(*make("", rsa_), rs(kAlice, other_rsa_)), TokenError::kBadSignature);
  EXPECT_EQ(refused(*make("", ec_), es(kAlice, other_ec_)), TokenError::kBadSignature);
}

TEST_F(VerifierTest, BadSignatureRefused) {
  auto v = make(kSecret, ec_);
  for (std::string t : {hs(kAlice), es(kAlice)}) {
    std::string flipped = t;
    char& c = flipped[flipped.rfind('.') + 3];
    c = c == 'A' ? 'B' : 'A';
    EXPECT_EQ(refused(*v, flipped), TokenError::kBadSignature);
    EXPECT_EQ(refused(*v, t.substr(0, t.rfind('.') + 1)), TokenError::kBadSignature);
  }
  // ES256 with a DER signature (what OpenSSL makes) instead of r || s.
  std::string der = token(R"({"alg":"ES256"})", kAlice,
                          [](const std::string& in) { return digest_sign(ec_, in); });
  EXPECT_EQ(refused(*v, der), TokenError::kBadSignature);
  // Claims changed after signing.
  std::string t = hs(kAlice);
  size_t a = t.find('.'), b = t.rfind('.');
  std::string swapped = t.substr(0, a + 1) + base64url_encode(R"({"sub":"mallory"})") + t.substr(b);
  EXPECT_EQ(refused(*v, swapped), TokenError::kBadSignature);
}

TEST_F(VerifierTest, ExpiryAndNotBeforeWithLeeway) {
  auto v = make(kSecret, nullptr);
  std::string t = hs(R"({"sub":"alice","exp":1800000000,"nbf":1799999000})");
  EXPECT_EQ(refused(*v, t, 1800000000, 0), TokenError::kExpired);
  EXPECT_TRUE(v->verify(t, 1799999999.5, 0).ok());
  EXPECT_TRUE(v->verify(t, 1800000029, 30).ok());
  EXPECT_EQ(refused(*v, t, 1800000030, 30), TokenError::kExpired);
  EXPECT_EQ(refused(*v, t, 1799998999, 0), TokenError::kNotYetValid);
  EXPECT_TRUE(v->verify(t, 1799998970, 30).ok());
  EXPECT_EQ(refused(*v, t, 1799998969, 30), TokenError::kNotYetValid);
}

TEST_F(VerifierTest, MalformedAndOversizedRefused) {
  auto v = make(kSecret, nullptr);
  EXPECT_EQ(refused(*v, ""), TokenError::kMalformed);
  EXPECT_EQ(refused(*v, "not-a-token"), TokenError::kMalformed);
  EXPECT_EQ(refused(*v, "a.b"), TokenError::kMalformed);
  EXPECT_EQ(refused(*v, "!!!.e30.e30"), TokenError::kMalformed);
  EXPECT_EQ(refused(*v, base64url_encode("not json") + ".e30.e30"), TokenError::kMalformed);
  std::string t = hs(kAlice);
  EXPECT_EQ(refused(*v, t + "." + t), TokenError::kMalformed);
  EXPECT_EQ(refused(*v, std::string(16 << 10, 'a')), TokenError::kTooLong);
  // A well-signed token whose claims are padded over the cap: refused unparsed too.
  EXPECT_EQ(refused(*v, hs(R"({"sub":"alice","pad":")" + std::string(12 << 10, 'p') + "\"}")),
            TokenError::kTooLong);
  // Signed, but the payload is not base64url JSON.
  std::string bad_payload =
      token(R"({"alg":"HS256"})", "[1,2]", [](const std::string& in) { return hmac(kSecret, in); });
  EXPECT_EQ(refused(*v, bad_payload), TokenError::kBadClaims);
}

TEST_F(VerifierTest, WrongClaimTypesRefused) {
  auto v = make(kSecret, nullptr);
  for (const char* claims :
       {R"({"sub":7})", R"({"name":"alice"})", R"({"sub":"alice","exp":"soon"})",
        R"({"sub":"alice","nbf":[1]})", R"({"sub":"alice","rooms":"lobby"})",
        R"({"sub":"alice","rooms":{"read":[3]}})", R"({"sub":"alice","name":false})"}) {
    EXPECT_EQ(refused(*v, hs(claims)), TokenError::kBadClaims) << claims;
  }
}

TEST_F(VerifierTest, RoomsOfAToken) {
  auto v = make("", ec_);
  Verdict r = v->verify(es(R"({"sub":"bob","rooms":["team.*"]})"), kNow, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.claims->rooms.can_read("team.a"));
  EXPECT_FALSE(r.claims->rooms.can_read("lobby"));
}

TEST_F(VerifierTest, KeyLoadErrors) {
  std::string error;
  EXPECT_FALSE(Verifier::from_pem("short", "", error));
  EXPECT_NE(error.find("32 bytes"), std::string::npos);
  EXPECT_FALSE(Verifier::from_pem("", "", error));
  EXPECT_NE(error.find("no key"), std::string::npos);
  EXPECT_FALSE(Verifier::from_pem("", "-----BEGIN PUBLIC KEY-----\ngarbage\n", error));
  EXPECT_NE(error.find("PEM"), std::string::npos);
  EVP_PKEY* small = EVP_RSA_gen(1024);
  EXPECT_FALSE(Verifier::from_pem("", public_pem(small), error));
  EXPECT_NE(error.find("2048"), std::string::npos);
  EVP_PKEY_free(small);
  EVP_PKEY* p384 = EVP_EC_gen("P-384");
  EXPECT_FALSE(Verifier::from_pem("", public_pem(p384), error));
  EXPECT_NE(error.find("P-256"), std::string::npos);
  EVP_PKEY_free(p384);
}

TEST_F(VerifierTest, LoadsFiles) {
  auto dir =
      std::filesystem::temp_directory_path() / ("tg-auth-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string secret_file = dir / "secret", key_file = dir / "key.pem";
  std::ofstream(secret_file) << kSecret << "\n";
  std::ofstream(key_file) << public_pem(rsa_);
  std::string error;
  auto v = Verifier::load(secret_file, key_file, error);
  ASSERT_TRUE(v) << error;
  EXPECT_TRUE(v->verify(hs(kAlice), kNow, 0).ok());  // the line end is not part of the secret
  EXPECT_TRUE(v->verify(rs(kAlice), kNow, 0).ok());
  EXPECT_FALSE(Verifier::load((dir / "missing").string(), "", error));
  EXPECT_NE(error.find("missing"), std::string::npos);
  std::ofstream(secret_file) << "too short\n";
  EXPECT_FALSE(Verifier::load(secret_file, "", error));
  EXPECT_NE(error.find(secret_file), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tg::auth
