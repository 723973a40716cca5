// tls_context.hpp -- TlsContext: one OpenSSL SSL_CTX, for a server (a certificate chain
// and its key, read from PEM files) or for a client (a CA file, or no verification).
// TLS 1.2 and 1.3 only. A reload builds a new TlsContext; connections made from the old
// one keep it alive through OpenSSL's own reference (SSL_new takes one on the SSL_CTX),
// so dropping the old shared_ptr never pulls a context from under a connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

using SSL_CTX = struct ssl_ctx_st;

namespace tg::tls {

// What the logs and metrics say of a loaded certificate (the chain's first, the leaf).
struct CertInfo {
  std::string subject;    // one line, RFC 2253 ("CN=chat.example.com,O=...")
  std::string serial;     // hex
  int64_t not_after = 0;  // Unix seconds of its expiry
};

class TlsContext {
 public:
  // A server context from `cert_file` (PEM: the leaf first, then intermediates) and
  // `key_file` (PEM private key). nullptr with `error` set, in words an operator can act
  // on, when a file cannot be read, holds no certificate or key, or the key does not
  // belong to the certificate.
  static std::shared_ptr<TlsContext> server(const std::string& cert_file,
                                            const std::string& key_file, std::string& error);
  // A client context: verifies the server against `ca_file` (PEM; empty: the system's CA
  // store), or verifies nothing when `insecure` (self-signed test certificates).
  static std::shared_ptr<TlsContext> client(const std::string& ca_file, bool insecure,
                                            std::string& error);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  bool is_server() const { return server_; }
  bool verifies() const { return verify_; }
  const CertInfo& cert() const { return cert_; }

 private:
  TlsContext(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}

  SSL_CTX* ctx_;
  bool server_;
  bool verify_ = false;
  CertInfo cert_;
};

// The text of the thread's most recent OpenSSL error ("" when none); clears the queue.
std::string take_openssl_error();

}  // namespace tg::tls
