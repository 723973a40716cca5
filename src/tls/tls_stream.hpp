// tls_stream.hpp -- TlsStream: one TLS connection's engine, over memory instead of a
// socket, for a libuv loop: the bytes read from the socket go in (feed), plaintext
// comes out; plaintext goes in (write), the ciphertext to send collects in pending().
// Nothing blocks and nothing runs on another thread. Handshake replies, TLS 1.3 session
// tickets, alerts and close_notify land in pending() too: whoever owns the socket sends
// pending() whenever it is not empty.
//
// The engine's BIO reads straight from the caller's buffer during feed() and writes
// straight into pending(): no BIO memory of its own, so an idle connection holds only
// what OpenSSL keeps per connection (its record buffers go with SSL_MODE_RELEASE_BUFFERS)
// and pending()'s capacity, which release_idle() gives back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace tg::tls {

// Why a connection failed, for the metrics and the log.
enum class Failure : uint8_t {
  kNone,
  kPlaintextHttp,  // the first bytes are an HTTP request, not a TLS record
  kHandshake,      // a bad ClientHello, no common version or cipher, a bad certificate
  kProtocol,       // a bad record after the handshake (tampered, truncated, ...)
};

class TlsStream {
 public:
  enum class Status : uint8_t {
    kOk,      // everything fed was used; plaintext (if any) appended
    kClosed,  // the peer sent close_notify: no more plaintext will come
    kFailed,  // failure() and reason() say why; pending() may hold an alert to send
  };

  // A server-side engine (is_server) or a client one; `sni` is the server name a client
  // sends and, when the context verifies, the name the certificate must match.
  TlsStream(SSL_CTX* ctx, bool is_server, const std::string& sni = {});
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Client: starts the handshake (the ClientHello lands in pending()).
  void start();
  // Ciphertext from the peer: drives the handshake and appends the plaintext it carries
  // to `plain`. Uses all of `data` (a partial record waits inside OpenSSL).
  Status feed(const char* data, size_t len, std::string& plain);
  // Encrypts `len` bytes of plaintext into pending(). After the handshake only. False
  // when the engine failed (then nothing more should be sent but pending()).
  bool write(const char* data, size_t len);
  // Queues close_notify (once) in pending().
  void close();

  bool handshake_done() const { return handshake_done_; }
  bool close_sent() const { return close_sent_; }
  Failure failure() const { return failure_; }
  const std::string& reason() const { return reason_; }
  // After the handshake: "TLSv1.3", the cipher's name, the ALPN protocol chosen ("" none).
  const char* version() const;
  const char* cipher() const;
  std::string alpn() const;
  // The peer certificate's verification outcome (a client that verifies): X509_V_OK is 0.
  long verify_result() const;

  // Ciphertext waiting to be sent; the owner moves it out (swap) before sending.
  std::string& pending() { return pending_; }
  // Gives back pending()'s capacity when it is empty (an idle connection).
  void release_idle();
  // Heap bytes of pending() (OpenSSL's own per-connection state is not seen from here:
  // see kSessionBytes).
  size_t buffer_bytes() const;
  // OpenSSL's heap for one idle server connection after the handshake (its SSL object,
  // the session, the record layer's cipher contexts; no record buffers): 14,260 bytes
  // measured with mallinfo2() around 2,000 idle engines (docs/PERFORMANCE.md#tls), of
  // which SSL_new alone is 8,837. What buffer_bytes() callers add for it, since OpenSSL
  // does not say what it allocates.
  static constexpr size_t kSessionBytes = 14 * 1024;

 private:
  friend struct BioAccess;
  Status fail(Failure why, const char* fallback);

  SSL* ssl_ = nullptr;
  bool server_;
  bool handshake_done_ = false;
  bool close_sent_ = false;
  bool first_byte_seen_ = false;
  Failure failure_ = Failure::kNone;
  std::string reason_;
  std::string pending_;
  // The input feed() is using, read by the BIO.
  const char* in_ = nullptr;
  size_t in_len_ = 0;
};

const char* failure_name(Failure f);

}  // namespace tg::tls
