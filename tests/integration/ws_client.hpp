// ws_client.hpp -- WsClient: a small blocking WebSocket client on wslay for tests: it
// connects over TCP, performs the opening handshake, sends text and returns whole
// messages (zstd batches decompressed), each wait bounded by a timeout.
#pragma once

#include <wslay/wslay.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace tg::test {

struct WsMessage {
  uint8_t opcode = 0;  // 1 text, 2 binary (already decompressed into `data`), 8 close
  std::string data;
  uint16_t close_code = 0;
};

class WsClient {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects to 127.0.0.1:`port`, sends GET `target` with `subprotocol` (empty: none).
  // `rcvbuf` > 0 sets SO_RCVBUF first (to make a slow reader stall early). Returns the
  // HTTP status (101 on success, 0 when the connection failed).
  int connect(uint16_t port, const std::string& target, const std::string& subprotocol,
              int rcvbuf = 0);
  // Connect from this local address (another loopback one, e.g. 127.0.0.2) rather than
  // the one the kernel picks. Call before connect().
  void set_source(const std::string& ip) { source_ = ip; }
  const std::string& response_head() const { return head_; }

  bool send_text(std::string_view text);
  // Writes `bytes` to the socket as they are (hand-made, possibly malformed, frames).
  bool send_raw(const std::string& bytes);
  // The next message, or nullopt when none came within `timeout_ms` or the connection
  // ended (then closed() is true).
  std::optional<WsMessage> recv(int timeout_ms);
  // Sends a close frame with `code` (does not wait for the reply).
  void close(uint16_t code);
  bool closed() const { return eof_; }

 private:
  static ssize_t recv_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, int, void* user);
  static ssize_t send_cb(wslay_event_context_ptr, const uint8_t* data, size_t len, int,
                         void* user);
  static int genmask_cb(wslay_event_context_ptr, uint8_t* buf, size_t len, void* user);
  static void msg_cb(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg* arg,
                     void* user);
  bool flush_writes(int timeout_ms);

  int fd_ = -1;
  std::string source_;
  wslay_event_context_ptr ctx_ = nullptr;
  std::string head_;
  std::string early_;  // bytes that came with the 101 response
  std::deque<WsMessage> inbox_;
  bool eof_ = false;
};

}  // namespace tg::test
