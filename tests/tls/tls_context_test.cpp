// tls_context_test.cpp -- loading server and client contexts, and the errors an operator
// sees for missing, empty and mismatched files.
#include "tls/tls_context.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include "tls/test_cert.hpp"

namespace tg::tls {
namespace {

using testing::TestCerts;

TEST(TlsContext, LoadsACertificateAndDescribesIt) {
  TestCerts certs;
  certs.make("a", "gateway-a", 4242);
  std::string error;
  auto ctx = TlsContext::server(certs.cert("a"), certs.key("a"), error);
  ASSERT_NE(ctx, nullptr) << error;
  EXPECT_TRUE(ctx->is_server());
  EXPECT_EQ(ctx->cert().subject, "CN=gateway-a");
  EXPECT_EQ(ctx->cert().serial, "1092");  // 4242 in hex
  int64_t now = time(nullptr);
  EXPECT_GT(ctx->cert().not_after, now + 86000);
  EXPECT_LT(ctx->cert().not_after, now + 86500);
}

TEST(TlsContext, MissingFileIsNamed) {
  TestCerts certs;
  certs.make("a", "a", 1);
  std::string error;
  EXPECT_EQ(TlsContext::server(certs.path("nope.crt"), certs.key("a"), error), nullptr);
  EXPECT_NE(error.find("cannot read the certificate chain"), std::string::npos) << error;
  EXPECT_NE(error.find("nope.crt"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  EXPECT_EQ(TlsContext::server(certs.cert("a"), certs.path("nope.key"), error), nullptr);
  EXPECT_NE(error.find("cannot read the key"), std::string::npos) << error;
}

TEST(TlsContext, FileWithoutPemIsRefused) {
  TestCerts certs;
  certs.make("a", "a", 1);
  certs.write("junk.pem", "not a certificate\n");
  std::string error;
  EXPECT_EQ(TlsContext::server(certs.path("junk.pem"), certs.key("a"), error), nullptr);
  EXPECT_NE(error.find("no PEM certificate chain in"), std::string::npos) << error;
  EXPECT_EQ(TlsContext::server(certs.cert("a"), certs.path("junk.pem"), error), nullptr);
  EXPECT_NE(error.find("no usable PEM private key in"), std::string::npos) << error;
}

TEST(TlsContext, KeyOfAnotherCertificateIsRefused) {
  TestCerts certs;
  certs.make("a", "a", 1);
  certs.make("b", "b", 2);
  std::string error;
  EXPECT_EQ(TlsContext::server(certs.cert("a"), certs.key("b"), error), nullptr);
  EXPECT_NE(error.find("does not belong to the certificate"), std::string::npos) << error;
}

TEST(TlsContext, ClientContexts) {
  TestCerts certs;
  certs.make("a", "a", 1);
  std::string error;
  auto insecure = TlsContext::client("", true, error);
  ASSERT_NE(insecure, nullptr) << error;
  EXPECT_FALSE(insecure->verifies());
  auto with_ca = TlsContext::client(certs.cert("a"), false, error);
  ASSERT_NE(with_ca, nullptr) << error;
  EXPECT_TRUE(with_ca->verifies());
  EXPECT_EQ(TlsContext::client(certs.path("none.pem"), false, error), nullptr);
  EXPECT_NE(error.find("cannot read the CA file"), std::string::npos) << error;
}

}  // namespace
}  // namespace tg::tls
