// ws_client.cpp -- the test WebSocket client: tg_client's handshake and codec over a socket.
#include "ws_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <random>

#include "client/handshake.hpp"

namespace tg::test {

namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

uint64_t random_seed() {
  std::random_device rd;
  return (uint64_t{rd()} << 32) | rd();
}

std::array<uint8_t, 16> random_key() {
  std::random_device rd;
  std::array<uint8_t, 16> key{};
  for (auto& b : key) b = static_cast<uint8_t>(rd());
  return key;
}

std::string decompress(std::span<const uint8_t> data) {
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return "<undecodable zstd>";
  }
  std::string out(size, '\0');
  const size_t n = ZSTD_decompress(out.data(), size, data.data(), data.size());
  return ZSTD_isError(n) ? "<undecodable zstd>" : out;
}

}  // namespace

WsClient::WsClient() : codec_(*this, random_seed()) {}

WsClient::~WsClient() {
  if (fd_ >= 0) ::close(fd_);
}

int WsClient::connect(uint16_t port, const std::string& target, const std::string& subprotocol,
                      int rcvbuf) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (!source_.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source_.c_str(), &from.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) return 0;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return 0;
  fcntl(fd_, F_SETFL, O_NONBLOCK);

  client::Handshake handshake("127.0.0.1", target, subprotocol, random_key());
  out_ = handshake.request();
  if (!flush(10000)) return 0;
  const int64_t deadline = now_ms() + 10000;
  auto state = client::Handshake::State::kNeedMore;
  while (state == client::Handshake::State::kNeedMore) {
    if (!wait(POLLIN, deadline)) return 0;
    uint8_t buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return 0;
    state = handshake.feed({buf, static_cast<size_t>(n)});
  }
  head_ = handshake.response_head();
  if (state == client::Handshake::State::kFailed) {
    return handshake.status() == 101 ? 0 : handshake.status();
  }
  feed(handshake.leftover());  // WebSocket bytes that came with the 101
  return 101;
}

void WsClient::on_ws_message(bool binary, std::span<const uint8_t> data) {
  WsMessage m;
  m.opcode = binary ? 2 : 1;
  m.data = binary ? decompress(data) : std::string(data.begin(), data.end());
  inbox_.push_back(std::move(m));
}

void WsClient::on_ws_close(uint16_t status) {
  WsMessage m;
  m.opcode = 8;
  m.close_code = status == 0 ? 1005 : status;
  inbox_.push_back(std::move(m));
}

void WsClient::feed(std::span<const uint8_t> bytes) {
  if (!codec_.feed(bytes)) eof_ = true;
  flush(1000);  // pong and close replies
}

bool WsClient::wait(short events, int64_t deadline_ms) const {
  pollfd p{fd_, events, 0};
  return poll(&p, 1, static_cast<int>(std::max<int64_t>(0, deadline_ms - now_ms()))) > 0;
}

bool WsClient::flush(int timeout_ms) {
  if (!codec_.drain(out_)) return false;
  const int64_t deadline = now_ms() + timeout_ms;
  while (!out_.empty()) {
    const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait(POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool WsClient::send_raw(const std::string& bytes) {
  return codec_.queue_raw(bytes) && flush(10000);
}

bool WsClient::send_text(std::string_view text) {
  return codec_.queue_text(text) && flush(10000);
}

void WsClient::close(uint16_t code) {
  if (codec_.queue_close(code)) flush(2000);
}

std::optional<WsMessage> WsClient::recv(int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (inbox_.empty()) {
    // After a close frame the codec reads no more: the connection is over for us.
    if (codec_.finished()) eof_ = true;
    if (eof_ || !wait(POLLIN, deadline)) return std::nullopt;
    uint8_t buf[65536];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      eof_ = true;
    } else {
      feed({buf, static_cast<size_t>(n)});
    }
  }
  WsMessage m = std::move(inbox_.front());
  inbox_.pop_front();
  return m;
}

}  // namespace tg::test
