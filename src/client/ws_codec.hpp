// ws_codec.hpp -- the client side of WebSocket framing on wslay, sans I/O.
#pragma once

#include <wslay/wslay.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tg::client {

// Turns received bytes into messages and queued messages into masked frames, through a
// wslay client context (wslay's event API, with callbacks that read from the span given
// to feed() and append to the string given to drain()). Owns the wslay context.
// Single-threaded: one codec per connection, used by its loop only.
class WsCodec {
 public:
  // Receives complete messages; the data is valid only during the call.
  class Handler {
   public:
    virtual void on_ws_message(bool binary, std::span<const uint8_t> data) = 0;
    // The peer's close frame arrived (status 0 when it carried none).
    virtual void on_ws_close(uint16_t status) = 0;

   protected:
    ~Handler() = default;
  };

  // `mask_seed` seeds the masking-key generator (RFC 6455 §5.3 wants unpredictable
  // keys against proxies; a load generator on loopback only needs them non-constant).
  WsCodec(Handler& handler, uint64_t mask_seed);
  ~WsCodec();
  WsCodec(const WsCodec&) = delete;
  WsCodec& operator=(const WsCodec&) = delete;

  // Parses `bytes`, calling the handler for each complete message. Returns false when
  // the stream is unusable (protocol error or out of memory): the caller closes the
  // connection. wslay answers pings and close frames by itself; call drain() after.
  [[nodiscard]] bool feed(std::span<const uint8_t> bytes);

  // Queues one text message / a close frame; false if the context no longer sends.
  [[nodiscard]] bool queue_text(std::string_view text);
  [[nodiscard]] bool queue_close(uint16_t status);
  // Queues `bytes` to go out exactly as given, after everything queued before: hand-made
  // frames, malformed ones included (client/frame_builder.hpp). wslay never sees them, so
  // a close frame sent this way does not end its sending. False if the context no longer
  // sends.
  [[nodiscard]] bool queue_raw(std::string_view bytes);

  // Appends every frame ready to go out to `out`. Returns false on a wslay error.
  [[nodiscard]] bool drain(std::string& out);

  // True once wslay will neither read nor write any more (close handshake finished or
  // failed).
  bool finished() const;

  // permessage-deflate (RFC 7692) was agreed: data messages may carry RSV1. Without it
  // wslay fails the connection on any RSV bit.
  void allow_rsv1();
  // During Handler::on_ws_message: whether the message had RSV1 (compressed).
  bool message_rsv1() const { return message_rsv1_; }

 private:
  static ssize_t recv_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, int, void* self);
  static ssize_t send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int, void* self);
  static int genmask_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, void* self);
  static void on_msg_recv_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                             void* self);
  // Appends what wslay has queued to `out`.
  bool send_into(std::string& out);

  Handler& handler_;
  wslay_event_context_ptr ctx_ = nullptr;
  std::span<const uint8_t> in_;
  std::string* out_ = nullptr;
  std::string pending_;  // wire bytes of queue_raw() and what wslay queued before them
  uint64_t mask_state_;
  bool message_rsv1_ = false;
};

}  // namespace tg::client
