// ws_client.cpp -- the test WebSocket client: wslay's client context over a socket.
#include "ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

namespace tg::test {

namespace {
int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

WsClient::WsClient() {
  wslay_event_callbacks cb{};
  cb.recv_callback = recv_cb;
  cb.send_callback = send_cb;
  cb.genmask_callback = genmask_cb;
  cb.on_msg_recv_callback = msg_cb;
  wslay_event_context_client_init(&ctx_, &cb, this);
  wslay_event_config_set_max_recv_msg_length(ctx_, 64u << 20);
}

WsClient::~WsClient() {
  wslay_event_context_free(ctx_);
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
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  if (!subprotocol.empty()) req += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n";
  req += "\r\n";
  if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return 0;
  std::string got;
  int64_t deadline = now_ms() + 10000;
  while (got.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(0, deadline - now_ms()))) <= 0) return 0;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, n);
  }
  size_t end = got.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  head_ = got.substr(0, end + 4);
  early_ = got.substr(end + 4);
  int status = std::atoi(head_.c_str() + 9);  // "HTTP/1.1 101 ..."
  if (status == 101) fcntl(fd_, F_SETFL, O_NONBLOCK);
  return status;
}

ssize_t WsClient::recv_cb(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int,
                          void* user) {
  auto* self = static_cast<WsClient*>(user);
  if (!self->early_.empty()) {
    size_t n = std::min(len, self->early_.size());
    std::memcpy(buf, self->early_.data(), n);
    self->early_.erase(0, n);
    return static_cast<ssize_t>(n);
  }
  ssize_t n = ::recv(self->fd_, buf, len, 0);
  if (n > 0) return n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
  } else {
    self->eof_ = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
  }
  return -1;
}

ssize_t WsClient::send_cb(wslay_event_context_ptr ctx, const uint8_t* data, size_t len, int,
                          void* user) {
  auto* self = static_cast<WsClient*>(user);
  ssize_t n = ::send(self->fd_, data, len, MSG_NOSIGNAL);
  if (n >= 0) return n;
  wslay_event_set_error(ctx, errno == EAGAIN ? WSLAY_ERR_WOULDBLOCK : WSLAY_ERR_CALLBACK_FAILURE);
  return -1;
}

int WsClient::genmask_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, void*) {
  static thread_local std::mt19937 rng(std::random_device{}());
  for (size_t i = 0; i < len; ++i) buf[i] = static_cast<uint8_t>(rng());
  return 0;
}

void WsClient::msg_cb(wslay_event_context_ptr ctx, const wslay_event_on_msg_recv_arg* arg,
                      void* user) {
  auto* self = static_cast<WsClient*>(user);
  WsMessage m;
  m.opcode = arg->opcode;
  if (arg->opcode == WSLAY_PING || arg->opcode == WSLAY_PONG) return;
  if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
    m.close_code = wslay_event_get_status_code_received(ctx);
  } else if (arg->opcode == WSLAY_BINARY_FRAME) {
    unsigned long long size = ZSTD_getFrameContentSize(arg->msg, arg->msg_length);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
      m.data = "<undecodable zstd>";
    } else {
      m.data.resize(size);
      size_t n = ZSTD_decompress(m.data.data(), size, arg->msg, arg->msg_length);
      if (ZSTD_isError(n)) m.data = "<undecodable zstd>";
    }
  } else {
    m.data.assign(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
  }
  self->inbox_.push_back(std::move(m));
}

bool WsClient::flush_writes(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (wslay_event_want_write(ctx_)) {
    if (wslay_event_send(ctx_) != 0) return false;
    if (!wslay_event_want_write(ctx_)) break;
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(0, deadline - now_ms()))) <= 0)
      return false;
  }
  return true;
}

bool WsClient::send_raw(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd_, POLLOUT, 0};
      if (poll(&p, 1, 10000) <= 0) return false;
      continue;
    }
    if (n < 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool WsClient::send_text(std::string_view text) {
  wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const uint8_t*>(text.data()),
                      text.size()};
  if (wslay_event_queue_msg(ctx_, &msg) != 0) return false;
  return flush_writes(10000);
}

void WsClient::close(uint16_t code) {
  wslay_event_queue_close(ctx_, code, nullptr, 0);
  flush_writes(2000);
}

std::optional<WsMessage> WsClient::recv(int timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (inbox_.empty()) {
    // After a close frame wslay reads no more: the connection is over for us.
    if (!wslay_event_want_read(ctx_)) eof_ = true;
    if (eof_) return std::nullopt;
    if (early_.empty()) {
      pollfd p{fd_, POLLIN, 0};
      int left = static_cast<int>(std::max<int64_t>(0, deadline - now_ms()));
      if (poll(&p, 1, left) <= 0) return std::nullopt;
    }
    if (wslay_event_recv(ctx_) != 0) eof_ = true;
    flush_writes(1000);  // pong and close replies
  }
  WsMessage m = std::move(inbox_.front());
  inbox_.pop_front();
  return m;
}

}  // namespace tg::test
