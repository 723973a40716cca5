// ws_codec.cpp -- wslay callbacks of the client-side WebSocket codec.
#include "client/ws_codec.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace tg::client {

WsCodec::WsCodec(Handler& handler, uint64_t mask_seed)
    : handler_(handler), mask_state_(mask_seed | 1) {
  const wslay_event_callbacks callbacks{
      &WsCodec::recv_cb, &WsCodec::send_cb, &WsCodec::genmask_cb,    nullptr,
      nullptr,           nullptr,           &WsCodec::on_msg_recv_cb};
  if (wslay_event_context_client_init(&ctx_, &callbacks, this) != 0) std::abort();  // OOM
}

WsCodec::~WsCodec() {
  wslay_event_context_free(ctx_);
}

ssize_t WsCodec::recv_cb(wslay_event_context_ptr ctx, uint8_t* buf, size_t len, int, void* self) {
  auto& codec = *static_cast<WsCodec*>(self);
  if (codec.in_.empty()) {
    // wslay doc: set WSLAY_ERR_WOULDBLOCK so wslay_event_recv() returns.
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  const size_t n = std::min(len, codec.in_.size());
  std::memcpy(buf, codec.in_.data(), n);
  codec.in_ = codec.in_.subspan(n);
  return static_cast<ssize_t>(n);
}

ssize_t WsCodec::send_cb(wslay_event_context_ptr ctx, const uint8_t* data, size_t len, int,
                         void* self) {
  auto& codec = *static_cast<WsCodec*>(self);
  if (codec.out_ == nullptr) {
    wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
    return -1;
  }
  codec.out_->append(reinterpret_cast<const char*>(data), len);
  return static_cast<ssize_t>(len);
}

int WsCodec::genmask_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, void* self) {
  auto& state = static_cast<WsCodec*>(self)->mask_state_;
  for (size_t i = 0; i < len; ++i) {
    state ^= state << 13;  // xorshift64
    state ^= state >> 7;
    state ^= state << 17;
    buf[i] = static_cast<uint8_t>(state >> 24);
  }
  return 0;
}

void WsCodec::on_msg_recv_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                             void* self) {
  auto& codec = *static_cast<WsCodec*>(self);
  auto& handler = codec.handler_;
  if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME) {
    codec.message_rsv1_ = wslay_get_rsv1(arg->rsv) != 0;
    handler.on_ws_message(arg->opcode == WSLAY_BINARY_FRAME, {arg->msg, arg->msg_length});
  } else if (arg->opcode == WSLAY_CONNECTION_CLOSE) {
    handler.on_ws_close(arg->status_code);
  }
}

bool WsCodec::feed(std::span<const uint8_t> bytes) {
  in_ = bytes;
  const int rv = wslay_event_recv(ctx_);
  in_ = {};
  return rv == 0;
}

bool WsCodec::queue_text(std::string_view text) {
  const wslay_event_msg msg{WSLAY_TEXT_FRAME, reinterpret_cast<const uint8_t*>(text.data()),
                            text.size()};
  return wslay_event_queue_msg(ctx_, &msg) == 0;
}

bool WsCodec::queue_close(uint16_t status) {
  return wslay_event_queue_close(ctx_, status, nullptr, 0) == 0;
}

bool WsCodec::queue_raw(std::string_view bytes) {
  // What wslay holds was queued first: it goes ahead of `bytes`.
  if (wslay_event_get_write_enabled(ctx_) == 0 || !send_into(pending_)) return false;
  pending_ += bytes;
  return true;
}

bool WsCodec::drain(std::string& out) {
  out += pending_;
  pending_.clear();
  return send_into(out);
}

bool WsCodec::send_into(std::string& out) {
  out_ = &out;
  const int rv = wslay_event_send(ctx_);
  out_ = nullptr;
  return rv == 0;
}

void WsCodec::allow_rsv1() {
  wslay_event_config_set_allowed_rsv_bits(ctx_, WSLAY_RSV1_BIT);
}

bool WsCodec::finished() const {
  return wslay_event_get_read_enabled(ctx_) == 0 && wslay_event_get_write_enabled(ctx_) == 0;
}

}  // namespace tg::client
