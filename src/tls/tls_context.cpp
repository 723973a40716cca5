// tls_context.cpp -- building SSL_CTXs: protocol versions, ciphers, ALPN, and errors
// that name the file at fault.
#include "tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace tg::tls {

namespace {

// TLS 1.2's suites: forward secrecy and AEAD only (TLS 1.3's defaults are all that).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// ALPN "http/1.1" in wire format (length-prefixed).
constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

// Selects http/1.1 when the client offers it; a client offering only other protocols
// (h2) still gets served, without ALPN, rather than refused.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, kAlpn, sizeof kAlpn, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// Whether `path` can be opened for reading; `error` says why not.
bool readable(const std::string& path, const char* what, std::string& error) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) {
    error = std::string("cannot read the ") + what + " " + path + ": " + strerror(errno);
    return false;
  }
  fclose(f);
  return true;
}

SSL_CTX* new_ctx(const SSL_METHOD* method) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
  // Idle connections give their record buffers back (OpenSSL allocates them again on
  // the next record): most of a broadcast gateway's connections are idle most of the time.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  return ctx;
}

CertInfo describe(X509* cert) {
  CertInfo info;
  if (cert == nullptr) return info;
  if (BIO* b = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    if (n > 0) info.subject.assign(data, static_cast<size_t>(n));
    BIO_free(b);
  }
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      info.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  tm t{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) == 1) info.not_after = timegm(&t);
  return info;
}

}  // namespace

std::string take_openssl_error() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return {};
  const char* reason = ERR_reason_error_string(e);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::shared_ptr<TlsContext> TlsContext::server(const std::string& cert_file,
                                               const std::string& key_file, std::string& error) {
  ERR_clear_error();
  if (!readable(cert_file, "certificate chain", error) || !readable(key_file, "key", error))
    return nullptr;
  SSL_CTX* raw = new_ctx(TLS_server_method());
  if (raw == nullptr) {
    error = "cannot create a TLS context: " + take_openssl_error();
    return nullptr;
  }
  std::shared_ptr<TlsContext> ctx(new TlsContext(raw, true));
  if (SSL_CTX_use_certificate_chain_file(raw, cert_file.c_str()) != 1) {
    error = "no PEM certificate chain in " + cert_file + ": " + take_openssl_error();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(raw, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    std::string why = take_openssl_error();
    if (why == "key values mismatch")
      error = "the key in " + key_file + " does not belong to the certificate in " + cert_file;
    else
      error = "no usable PEM private key in " + key_file + ": " + why;
    return nullptr;
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    error = "the key in " + key_file + " does not belong to the certificate in " + cert_file +
            ": " + take_openssl_error();
    return nullptr;
  }
  SSL_CTX_set_alpn_select_cb(raw, select_alpn, nullptr);
  // No server-side session cache (its memory grows with clients); resumption still
  // works through stateless tickets, one per handshake instead of TLS 1.3's default two.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(raw, 1);
  ctx->cert_ = describe(SSL_CTX_get0_certificate(raw));
  return ctx;
}

std::shared_ptr<TlsContext> TlsContext::client(const std::string& ca_file, bool insecure,
                                               std::string& error) {
  ERR_clear_error();
  SSL_CTX* raw = new_ctx(TLS_client_method());
  if (raw == nullptr) {
    error = "cannot create a TLS context: " + take_openssl_error();
    return nullptr;
  }
  std::shared_ptr<TlsContext> ctx(new TlsContext(raw, false));
  SSL_CTX_set_alpn_protos(raw, kAlpn, sizeof kAlpn);
  if (insecure) {
    SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  if (!ca_file.empty()) {
    if (!readable(ca_file, "CA file", error)) return nullptr;
    if (SSL_CTX_load_verify_locations(raw, ca_file.c_str(), nullptr) != 1) {
      error = "no PEM certificate in the CA file " + ca_file + ": " + take_openssl_error();
      return nullptr;
    }
  } else if (SSL_CTX_set_default_verify_paths(raw) != 1) {
    error = "cannot load the system's CA certificates: " + take_openssl_error();
    return nullptr;
  }
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  ctx->verify_ = true;
  return ctx;
}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace tg::tls
