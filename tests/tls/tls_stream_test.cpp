// tls_stream_test.cpp -- a client and a server TlsStream talking through memory: the
// handshake, data both ways, large writes, close_notify, and what the server makes of a
// plaintext HTTP request, garbage, and a bad record.
#include "tls/tls_stream.hpp"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string>

#include "tls/test_cert.hpp"
#include "tls/tls_context.hpp"

namespace tg::tls {
namespace {

using testing::TestCerts;

class TlsStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_.make("srv", "localhost", 7);
    std::string error;
    server_ctx_ = TlsContext::server(certs_.cert("srv"), certs_.key("srv"), error);
    ASSERT_NE(server_ctx_, nullptr) << error;
    client_ctx_ = TlsContext::client(certs_.cert("srv"), false, error);
    ASSERT_NE(client_ctx_, nullptr) << error;
    server_ = std::make_unique<TlsStream>(server_ctx_->get(), true);
    client_ = std::make_unique<TlsStream>(client_ctx_->get(), false, "localhost");
  }

  // Moves what `from` has pending into `to`, in pieces of at most `piece` bytes (a TCP
  // stream cuts records anywhere). Returns the last status.
  TlsStream::Status deliver(TlsStream& from, TlsStream& to, std::string& plain,
                            size_t piece = 1 << 20) {
    std::string wire;
    wire.swap(from.pending());
    TlsStream::Status st = TlsStream::Status::kOk;
    for (size_t at = 0; at < wire.size() && st == TlsStream::Status::kOk; at += piece)
      st = to.feed(wire.data() + at, std::min(piece, wire.size() - at), plain);
    return st;
  }

  void handshake(size_t piece = 1 << 20) {
    client_->start();
    std::string plain;
    for (int round = 0; round < 4; ++round) {
      ASSERT_EQ(deliver(*client_, *server_, plain, piece), TlsStream::Status::kOk)
          << server_->reason();
      ASSERT_EQ(deliver(*server_, *client_, plain, piece), TlsStream::Status::kOk)
          << client_->reason();
    }
    ASSERT_TRUE(server_->handshake_done());
    ASSERT_TRUE(client_->handshake_done());
    EXPECT_TRUE(plain.empty());
  }

  TestCerts certs_;
  std::shared_ptr<TlsContext> server_ctx_, client_ctx_;
  std::unique_ptr<TlsStream> server_, client_;
};

TEST_F(TlsStreamTest, HandshakeVerifiesAndNegotiates) {
  handshake();
  EXPECT_STREQ(server_->version(), "TLSv1.3");
  EXPECT_EQ(server_->alpn(), "http/1.1");
  EXPECT_EQ(client_->alpn(), "http/1.1");
  EXPECT_EQ(client_->verify_result(), X509_V_OK);
}

TEST_F(TlsStreamTest, HandshakeByteByByte) {
  handshake(1);
}

TEST_F(TlsStreamTest, DataBothWays) {
  handshake();
  std::string at_server, at_client;
  ASSERT_TRUE(client_->write("GET / HTTP/1.1\r\n\r\n", 18));
  ASSERT_EQ(deliver(*client_, *server_, at_server, 5), TlsStream::Status::kOk);
  EXPECT_EQ(at_server, "GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(server_->write("hello", 5));
  ASSERT_TRUE(server_->write(" world", 6));
  ASSERT_EQ(deliver(*server_, *client_, at_client), TlsStream::Status::kOk);
  EXPECT_EQ(at_client, "hello world");
}

TEST_F(TlsStreamTest, LargeWritesArriveWhole) {
  handshake();
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 >> 3);
  ASSERT_TRUE(server_->write(big.data(), big.size()));
  EXPECT_GT(server_->pending().size(), big.size());  // records: some overhead each
  std::string got;
  ASSERT_EQ(deliver(*server_, *client_, got, 1000), TlsStream::Status::kOk);
  EXPECT_EQ(got, big);
}

TEST_F(TlsStreamTest, CloseNotifyEndsTheStream) {
  handshake();
  ASSERT_TRUE(server_->write("bye", 3));
  server_->close();
  EXPECT_TRUE(server_->close_sent());
  EXPECT_FALSE(server_->write("more", 4));
  std::string got;
  EXPECT_EQ(deliver(*server_, *client_, got), TlsStream::Status::kClosed);
  EXPECT_EQ(got, "bye");
}

TEST_F(TlsStreamTest, PlaintextHttpIsRecognised) {
  std::string plain;
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(server_->feed(req.data(), req.size(), plain), TlsStream::Status::kFailed);
  EXPECT_EQ(server_->failure(), Failure::kPlaintextHttp);
  EXPECT_TRUE(plain.empty());
}

TEST_F(TlsStreamTest, GarbageHelloFailsTheHandshake) {
  std::string plain;
  // A handshake record holding a 4-byte "ClientHello" of nonsense.
  const char hello[] = "\x16\x03\x01\x00\x08\x01\x00\x00\x04\x99\x99\x99\x99";
  const std::string junk(hello, sizeof hello - 1);
  EXPECT_EQ(server_->feed(junk.data(), junk.size(), plain), TlsStream::Status::kFailed);
  EXPECT_EQ(server_->failure(), Failure::kHandshake);
  EXPECT_FALSE(server_->reason().empty());
  auto other = std::make_unique<TlsStream>(server_ctx_->get(), true);
  const std::string binary = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b";
  EXPECT_EQ(other->feed(binary.data(), binary.size(), plain), TlsStream::Status::kFailed);
  EXPECT_EQ(other->failure(), Failure::kHandshake);
}

TEST_F(TlsStreamTest, TamperedRecordFails) {
  handshake();
  ASSERT_TRUE(client_->write("hello", 5));
  std::string wire;
  wire.swap(client_->pending());
  wire[wire.size() - 3] ^= 0x40;
  std::string plain;
  EXPECT_EQ(server_->feed(wire.data(), wire.size(), plain), TlsStream::Status::kFailed);
  EXPECT_EQ(server_->failure(), Failure::kProtocol);
  EXPECT_TRUE(plain.empty());
}

TEST_F(TlsStreamTest, WrongNameFailsVerification) {
  std::string error;
  auto other = std::make_unique<TlsStream>(client_ctx_->get(), false, "example.org");
  other->start();
  std::string plain;
  deliver(*other, *server_, plain);
  EXPECT_EQ(deliver(*server_, *other, plain), TlsStream::Status::kFailed);
  EXPECT_EQ(other->failure(), Failure::kHandshake);
}

TEST_F(TlsStreamTest, IdleEngineGivesBackItsBuffer) {
  handshake();
  ASSERT_TRUE(server_->write(std::string(4000, 'x').data(), 4000));
  EXPECT_GT(server_->buffer_bytes(), 4000u);
  std::string wire;
  wire.swap(server_->pending());
  server_->release_idle();
  EXPECT_EQ(server_->buffer_bytes(), 0u);
}

}  // namespace
}  // namespace tg::tls
