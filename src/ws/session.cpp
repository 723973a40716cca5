// ws_session.cpp -- wslay's event API driven from memory buffers.
#include "ws/session.hpp"

#include <algorithm>
#include <cstring>

#include "common/utf8.hpp"

namespace tg::ws {

WsSession::WsSession(Handler& handler, size_t max_message_bytes)
    : handler_(handler), max_message_bytes_(max_message_bytes) {}

WsSession::~WsSession() {
  wslay_event_context_free(ctx_);
}

wslay_event_context_ptr WsSession::context() {
  if (ctx_) return ctx_;
  wslay_event_callbacks cb{};
  cb.recv_callback = recv_cb;
  cb.send_callback = send_cb;
  cb.on_msg_recv_callback = msg_cb;
  if (wslay_event_context_server_init(&ctx_, &cb, this) != 0) abort();  // only ENOMEM
  wslay_event_config_set_max_recv_msg_length(ctx_, max_message_bytes_);
  // RSV1 marks a compressed message when permessage-deflate was agreed; wslay refuses
  // it on control and continuation frames itself.
  wslay_event_config_set_allowed_rsv_bits(ctx_, inflater_ ? WSLAY_RSV1_BIT : WSLAY_RSV_NONE);
  return ctx_;
}

bool WsSession::release_idle() {
  if (!ctx_) return true;
  // FrameHeaderCheck saw every byte wslay was given, and wslay reads all it is given
  // unless it stopped reading (then want_read is false). At rest, wslay is between
  // frames with no message being reassembled: a fresh context is the same state.
  if (!check_.at_rest() || !wslay_event_want_read(ctx_) || wslay_event_want_write(ctx_) ||
      wslay_event_get_close_sent(ctx_) || wslay_event_get_close_received(ctx_))
    return false;
  wslay_event_context_free(ctx_);
  ctx_ = nullptr;
  return true;
}

ssize_t WsSession::recv_cb(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int, void* user) {
  auto* self = static_cast<WsSession*>(user);
  if (self->in_len_ == 0) {
    // No more bytes in this feed: tell wslay to stop reading for now.
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  size_t n = std::min(len, self->in_len_);
  std::memcpy(buf, self->in_, n);
  self->in_ += n;
  self->in_len_ -= n;
  return static_cast<ssize_t>(n);
}

ssize_t WsSession::send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int,
                           void* user) {
  auto* self = static_cast<WsSession*>(user);
  // Always take everything: the caller owns flow control for its write queue.
  if (self->out_) self->out_->append(reinterpret_cast<const char*>(data), len);
  return static_cast<ssize_t>(len);
}

void WsSession::msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                       void* user) {
  auto* self = static_cast<WsSession*>(user);
  if (arg->opcode == WSLAY_CONNECTION_CLOSE) return;                   // wslay answers it
  if (arg->opcode == WSLAY_PING || arg->opcode == WSLAY_PONG) return;  // wslay pongs
  std::string_view payload(reinterpret_cast<const char*>(arg->msg), arg->msg_length);
  if (arg->opcode == WSLAY_BINARY_FRAME) {
    self->fail(WSLAY_CODE_UNSUPPORTED_DATA, "binary messages are not accepted");
    return;
  }
  if (wslay_get_rsv1(arg->rsv)) {
    // Only possible with an inflater (wslay refuses RSV1 otherwise). The inflated text
    // is checked like any other; wslay's limit applied to the compressed bytes only.
    switch (self->inflater_->inflate(payload, self->max_message_bytes_)) {
      case MessageInflater::Result::kOk:
        payload = self->inflater_->output();
        break;
      case MessageInflater::Result::kTooBig:
        self->fail(WSLAY_CODE_MESSAGE_TOO_BIG, "message too big");
        return;
      case MessageInflater::Result::kCorrupt:
        self->fail(WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, "invalid deflate data");
        return;
    }
  }
  // RFC 6455 8.1: a text message that is not UTF-8 fails the connection with 1007.
  if (!valid_utf8(payload)) {
    self->fail(WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, "invalid utf-8");
    return;
  }
  self->handler_.on_ws_text(payload);
}

void WsSession::fail(uint16_t code, std::string_view reason) {
  wslay_event_context_ptr ctx = context();
  wslay_event_queue_close(ctx, code, reinterpret_cast<const uint8_t*>(reason.data()),
                          std::min<size_t>(reason.size(), 123));
  wslay_event_shutdown_read(ctx);
}

void WsSession::flush(std::string& out) {
  out_ = &out;
  wslay_event_send(ctx_);  // send_cb never blocks, so this drains wslay's queue
  out_ = nullptr;
}

Result<void> WsSession::feed(const uint8_t* data, size_t len, std::string& out) {
  int rv = 0;
  if (wslay_event_want_read(context())) {
    // wslay is given only the bytes before a frame it would fail without a status code.
    in_ = data;
    in_len_ = check_.scan(data, len);
    // wslay queues close 1002 (protocol error) or 1009 (too big) by itself and stops
    // reading; flush() then writes that close frame.
    rv = wslay_event_recv(ctx_);
    in_len_ = 0;
    if (rv == 0 && check_.violation()) fail(WSLAY_CODE_PROTOCOL_ERROR, check_.violation());
  }
  flush(out);
  if (rv != 0) return Errc::kProtocol;
  return {};
}

void WsSession::close(uint16_t code, std::string_view reason, std::string& out) {
  wslay_event_context_ptr ctx = context();
  if (wslay_event_get_close_sent(ctx)) return;
  wslay_event_queue_close(ctx, code, reinterpret_cast<const uint8_t*>(reason.data()),
                          std::min<size_t>(reason.size(), 123));
  flush(out);
}

void WsSession::ping(std::string& out) {
  wslay_event_msg msg{WSLAY_PING, reinterpret_cast<const uint8_t*>("idle"), 4};
  if (wslay_event_queue_msg(context(), &msg) == 0) flush(out);
}

// Without a context the session is at rest: open both ways, no close seen.
bool WsSession::close_sent() const {
  return ctx_ && wslay_event_get_close_sent(ctx_) != 0;
}
uint16_t WsSession::close_code_sent() const {
  return close_sent() ? wslay_event_get_status_code_sent(ctx_) : 0;
}
bool WsSession::close_received() const {
  return ctx_ && wslay_event_get_close_received(ctx_) != 0;
}
bool WsSession::finished() const {
  return ctx_ && !wslay_event_want_read(ctx_) && !wslay_event_want_write(ctx_);
}

}  // namespace tg::ws
