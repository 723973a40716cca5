// test_cert.hpp -- self-signed certificates for the TLS tests, made in-process (OpenSSL's
// API), written as PEM files into a temporary directory that the object removes.
#pragma once

#include <string>

namespace tg::tls::testing {

class TestCerts {
 public:
  TestCerts();
  ~TestCerts();
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

  // Writes NAME.crt and NAME.key: a P-256 key and a certificate for CN=`cn` with
  // `serial`, valid for a day, with the SANs DNS:localhost and IP:127.0.0.1.
  void make(const std::string& name, const std::string& cn, long serial);
  std::string cert(const std::string& name) const { return dir_ + "/" + name + ".crt"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  void write(const std::string& file, const std::string& text) const;

 private:
  std::string dir_;
};

}  // namespace tg::tls::testing
