// test_cert.cpp -- making self-signed test certificates with OpenSSL's API.
#include "tls/test_cert.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace tg::tls::testing {

TestCerts::TestCerts() {
  char tmpl[] = "/tmp/tg-tls-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

TestCerts::~TestCerts() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void TestCerts::write(const std::string& file, const std::string& text) const {
  FILE* f = fopen(path(file).c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path(file));
  fwrite(text.data(), 1, text.size(), f);
  fclose(f);
}

void TestCerts::make(const std::string& name, const std::string& cn, long serial) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, pkey);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, pkey, EVP_sha256());
  FILE* f = fopen(cert(name).c_str(), "w");
  PEM_write_X509(f, x);
  fclose(f);
  f = fopen(key(name).c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
  X509_free(x);
  EVP_PKEY_free(pkey);
}

}  // namespace tg::tls::testing
