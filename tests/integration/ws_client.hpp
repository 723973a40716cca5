// ws_client.hpp -- WsClient: a small blocking WebSocket client for tests, a socket around
// tg_client's handshake and codec: it connects over TCP, performs the opening handshake,
// sends text and returns whole messages (zstd batches decompressed), each wait bounded by a
// timeout.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "client/ws_codec.hpp"

namespace tg::test {

struct WsMessage {
  uint8_t opcode = 0;  // 1 text, 2 binary (already decompressed into `data`), 8 close
  std::string data;
  uint16_t close_code = 0;  // 1005 when the close frame carried none (RFC 6455 §7.1.5)
};

class WsClient final : private client::WsCodec::Handler {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Connects to 127.0.0.1:`port`, sends GET `target` with `subprotocol` (empty: none).
  // `rcvbuf` > 0 sets SO_RCVBUF first (to make a slow reader stall early). Returns the
  // HTTP status (101 on success, 0 when the connection failed, also when a 101 came
  // with a wrong Sec-WebSocket-Accept or an unoffered sub-protocol).
  int connect(uint16_t port, const std::string& target, const std::string& subprotocol,
              int rcvbuf = 0);
  // Connect from this local address (another loopback one, e.g. 127.0.0.2) rather than
  // the one the kernel picks. Call before connect().
  void set_source(const std::string& ip) { source_ = ip; }
  const std::string& response_head() const { return head_; }

  bool send_text(std::string_view text);
  // Sends `bytes` as they are (hand-made, possibly malformed, frames), in order with
  // what send_text() and close() queue.
  bool send_raw(const std::string& bytes);
  // The next message, or nullopt when none came within `timeout_ms` or the connection
  // ended (then closed() is true).
  std::optional<WsMessage> recv(int timeout_ms);
  // Sends a close frame with `code` (does not wait for the reply).
  void close(uint16_t code);
  bool closed() const { return eof_; }

 private:
  void on_ws_message(bool binary, std::span<const uint8_t> data) override;
  void on_ws_close(uint16_t status) override;
  // Hands `bytes` to the codec (the connection ends if they break the protocol), then
  // sends its answers (pongs, the close reply).
  void feed(std::span<const uint8_t> bytes);
  // Writes what the codec has ready, waiting at most `timeout_ms` for the socket; what
  // is not written then stays for the next flush.
  bool flush(int timeout_ms);
  // Waits up to `deadline_ms` (steady clock) for `events` on the socket.
  bool wait(short events, int64_t deadline_ms) const;

  int fd_ = -1;
  std::string source_;
  client::WsCodec codec_;
  std::string head_;
  std::string out_;  // bytes to write, in order
  std::deque<WsMessage> inbox_;
  bool eof_ = false;
};

}  // namespace tg::test
