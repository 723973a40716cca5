// ws_session.hpp -- WsSession: the receive side of one server WebSocket (wslay's event
// API), sans-I/O: fed the bytes read from the socket, it reassembles messages, checks
// them (masking, opcodes, sizes, UTF-8) and produces wslay's own replies (pong, close)
// as bytes for the caller to write. The few frame-level violations wslay would answer
// without a status code are caught first (FrameHeaderCheck) and answered with 1002.
//
// wslay's context is about 9.2 KiB (two 4 KiB buffers among others), most of what an
// idle connection would cost. It is made only when there is something to parse or to
// send (feed(), ping(), close()) and given back by release_idle() whenever the stream
// is between messages: an idle session is a few dozen bytes.
#pragma once

#include <wslay/wslay.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "ws/deflate.hpp"
#include "ws/frame_check.hpp"

namespace tg::ws {

class WsSession {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // A complete, valid text message from the client. Called from within feed().
    virtual void on_ws_text(std::string_view payload) = 0;
  };

  // `max_message_bytes` bounds a reassembled message; a larger one is answered with
  // close 1009 (RFC 6455 7.4.1) by wslay.
  WsSession(Handler& handler, size_t max_message_bytes);
  ~WsSession();
  WsSession(const WsSession&) = delete;
  WsSession& operator=(const WsSession&) = delete;

  // Feeds bytes read from the socket. Bytes to send back (wslay's pongs and close
  // frames) are appended to `out`. Returns an error only when wslay itself failed
  // (the connection must then be dropped without a close frame).
  Result<void> feed(const uint8_t* data, size_t len, std::string& out);

  // Starts the closing handshake with `code` (reason <= 123 bytes); the close frame is
  // appended to `out`. Does nothing when a close frame was already sent.
  void close(uint16_t code, std::string_view reason, std::string& out);

  // From within Handler::on_ws_text: fail the session with `code` (e.g. 1008 for a
  // flooding client). Reading stops; the close frame is written by the feed() that
  // delivered the message.
  void fail(uint16_t code, std::string_view reason);

  // permessage-deflate was agreed: messages with RSV1 are inflated with `inflater`
  // (shared by the worker's sessions, no context takeover) before they are checked, and
  // a message that inflates to more than max_message_bytes is answered with 1009.
  void enable_deflate(MessageInflater& inflater) { inflater_ = &inflater; }

  // Sends a ping (to check an idle peer is there); the frame is appended to `out`.
  void ping(std::string& out);

  // Frees wslay's context if it holds nothing of the stream: between frames, outside a
  // fragmented message, before any close frame was sent or received. The next call that
  // needs one makes a fresh context. Returns true when the session holds none now.
  bool release_idle();
  bool holds_context() const { return ctx_ != nullptr; }
  // What a context costs in heap: wslay 1.1.1's allocations for one, as glibc counts
  // them (mallinfo2's bytes in use, chunk headers included). For the buffer metrics.
  static constexpr size_t kContextBytes = 9440;

  bool close_sent() const;
  bool close_received() const;
  // The close code we sent (0 if none): how this session ended, for logs and metrics.
  uint16_t close_code_sent() const;
  // True once nothing more is to be read or written (close handshake done).
  bool finished() const;

 private:
  static ssize_t recv_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, int, void* user);
  static ssize_t send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int, void* user);
  static void msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg, void* user);
  void flush(std::string& out);
  wslay_event_context_ptr context();  // ctx_, made first if there is none

  Handler& handler_;
  size_t max_message_bytes_;
  wslay_event_context_ptr ctx_ = nullptr;  // null while idle (release_idle())
  FrameHeaderCheck check_;                 // sees every byte before wslay does
  const uint8_t* in_ = nullptr;            // bytes of the current feed() not yet given to wslay
  size_t in_len_ = 0;
  std::string* out_ = nullptr;           // where send_cb appends, during feed()/close()
  MessageInflater* inflater_ = nullptr;  // set when permessage-deflate was agreed
};

}  // namespace tg::ws
