// tls_stream.cpp -- the TLS engine over memory: a BIO of our own that reads the bytes
// being fed and writes into pending(), and the handshake/read/write/shutdown calls.
#include "tls/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "tls/tls_context.hpp"

namespace tg::tls {

// The BIO's view of a TlsStream's input and output.
struct BioAccess {
  static int read(BIO* b, char* out, int len) {
    auto* s = static_cast<TlsStream*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    if (s->in_len_ == 0) {
      BIO_set_retry_read(b);  // no more input now: OpenSSL waits for the next feed()
      return -1;
    }
    size_t n = std::min(s->in_len_, static_cast<size_t>(len));
    memcpy(out, s->in_, n);
    s->in_ += n;
    s->in_len_ -= n;
    return static_cast<int>(n);
  }

  static int write(BIO* b, const char* data, int len) {
    auto* s = static_cast<TlsStream*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    s->pending_.append(data, static_cast<size_t>(len));
    return len;
  }

  static long ctrl(BIO* b, int cmd, long, void*) {
    auto* s = static_cast<TlsStream*>(BIO_get_data(b));
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;  // pending() is the flush: the owner sends it
      case BIO_CTRL_PENDING:
        return s == nullptr ? 0 : static_cast<long>(s->in_len_);
      default:
        return 0;
    }
  }

  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
};

namespace {

// One BIO_METHOD for the process, made on first use (thread-safe: a function static).
const BIO_METHOD* memory_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tidegate tls");
    BIO_meth_set_read(m, BioAccess::read);
    BIO_meth_set_write(m, BioAccess::write);
    BIO_meth_set_ctrl(m, BioAccess::ctrl);
    BIO_meth_set_create(m, BioAccess::create);
    return m;
  }();
  return method;
}

// A request line starts with an upper-case method token (GET, POST, HEAD, ...); a TLS
// record starts with its content type, 0x14..0x18, and a ClientHello with 0x16.
bool looks_like_http(char first) {
  return first >= 'A' && first <= 'Z';
}

}  // namespace

const char* failure_name(Failure f) {
  switch (f) {
    case Failure::kNone:
      return "none";
    case Failure::kPlaintextHttp:
      return "plaintext_http";
    case Failure::kHandshake:
      return "handshake";
    case Failure::kProtocol:
      return "protocol";
  }
  return "?";
}

TlsStream::TlsStream(SSL_CTX* ctx, bool is_server, const std::string& sni) : server_(is_server) {
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr) {
    failure_ = Failure::kHandshake;
    reason_ = "SSL_new failed: " + take_openssl_error();
    return;
  }
  BIO* bio = BIO_new(memory_method());
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL_free frees it once
  if (server_) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!sni.empty()) {
    // SNI is a host name only; an address is verified against the certificate's IP SANs.
    bool is_ip = sni.find_first_not_of("0123456789.") == std::string::npos ||
                 sni.find(':') != std::string::npos;
    if (!is_ip) SSL_set_tlsext_host_name(ssl_, sni.c_str());
    if (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) {
      if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), sni.c_str());
      else
        SSL_set1_host(ssl_, sni.c_str());
    }
  }
}

TlsStream::~TlsStream() {
  SSL_free(ssl_);
}

TlsStream::Status TlsStream::fail(Failure why, const char* fallback) {
  failure_ = why;
  reason_ = take_openssl_error();
  if (reason_.empty()) reason_ = fallback;
  in_ = nullptr;
  in_len_ = 0;
  return Status::kFailed;
}

void TlsStream::start() {
  if (ssl_ == nullptr || server_) return;
  ERR_clear_error();
  SSL_do_handshake(ssl_);  // WANT_READ: the ClientHello is in pending()
}

TlsStream::Status TlsStream::feed(const char* data, size_t len, std::string& plain) {
  if (failure_ != Failure::kNone) return Status::kFailed;
  if (len == 0) return Status::kOk;
  if (server_ && !first_byte_seen_) {
    first_byte_seen_ = true;
    if (looks_like_http(data[0])) return fail(Failure::kPlaintextHttp, "plaintext HTTP request");
  }
  ERR_clear_error();
  in_ = data;
  in_len_ = len;
  if (!handshake_done_) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int err = SSL_get_error(ssl_, r);
      if (err == SSL_ERROR_WANT_READ) {
        in_ = nullptr;
        return Status::kOk;  // all of it used; the rest of the handshake is still to come
      }
      return fail(Failure::kHandshake, "handshake failed");
    }
    handshake_done_ = true;
  }
  // Everything fed after the handshake (or with its last flight) is application data.
  constexpr size_t kChunk = 16 * 1024;  // one record's plaintext at most
  for (;;) {
    size_t old = plain.size();
    plain.resize(old + kChunk);
    size_t got = 0;
    int r = SSL_read_ex(ssl_, plain.data() + old, kChunk, &got);
    plain.resize(old + got);
    if (r == 1) continue;
    int err = SSL_get_error(ssl_, r);
    in_ = nullptr;
    in_len_ = 0;
    if (err == SSL_ERROR_WANT_READ) return Status::kOk;
    if (err == SSL_ERROR_ZERO_RETURN) return Status::kClosed;
    return fail(Failure::kProtocol, "bad TLS record");
  }
}

bool TlsStream::write(const char* data, size_t len) {
  if (failure_ != Failure::kNone || !handshake_done_ || close_sent_) return false;
  ERR_clear_error();
  size_t written = 0;
  // The BIO takes everything at once, so a write is never partial.
  if (SSL_write_ex(ssl_, data, len, &written) != 1 || written != len) {
    fail(Failure::kProtocol, "write failed");
    return false;
  }
  return true;
}

void TlsStream::close() {
  if (close_sent_ || ssl_ == nullptr || failure_ != Failure::kNone) return;
  close_sent_ = true;
  if (!handshake_done_) return;  // nothing to close politely
  ERR_clear_error();
  SSL_shutdown(ssl_);  // 0: ours sent, the peer's not yet read, which we do not wait for
  ERR_clear_error();
}

const char* TlsStream::version() const {
  return ssl_ == nullptr ? "" : SSL_get_version(ssl_);
}

const char* TlsStream::cipher() const {
  return ssl_ == nullptr ? "" : SSL_get_cipher_name(ssl_);
}

std::string TlsStream::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  if (ssl_ != nullptr) SSL_get0_alpn_selected(ssl_, &p, &n);
  return std::string(reinterpret_cast<const char*>(p), p == nullptr ? 0 : n);
}

long TlsStream::verify_result() const {
  return ssl_ == nullptr ? X509_V_ERR_UNSPECIFIED : SSL_get_verify_result(ssl_);
}

void TlsStream::release_idle() {
  if (pending_.empty()) std::string().swap(pending_);
}

size_t TlsStream::buffer_bytes() const {
  return pending_.capacity() > std::string().capacity() ? pending_.capacity() + 1 : 0;
}

}  // namespace tg::tls
