// handshake.hpp -- the client side of the WebSocket opening handshake (RFC 6455 §4.1), sans I/O.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tg::client {

// Builds the upgrade request and checks the server's answer. Feed it the bytes read
// from the socket until it says `kDone` or `kFailed`; it never touches a socket itself.
class Handshake {
 public:
  enum class State { kNeedMore, kDone, kFailed };
  static constexpr size_t kMaxResponseBytes = 8192;

  // `target` is path plus query ("/ws?room=r1"); `subprotocol` may be empty (none
  // offered); `key_bytes` are the 16 random bytes of Sec-WebSocket-Key (§4.1, item 7);
  // `extensions`, if not empty, is sent as Sec-WebSocket-Extensions (an offer such as
  // "permessage-deflate; client_max_window_bits").
  Handshake(std::string host, std::string target, std::string subprotocol,
            const std::array<uint8_t, 16>& key_bytes, std::string extensions = {});

  // The complete HTTP request to write.
  const std::string& request() const { return request_; }

  // Consumes response bytes. Returns `kDone` once a valid 101 with the right
  // Sec-WebSocket-Accept has arrived (then leftover() holds the bytes after the header
  // block, which belong to the WebSocket stream), `kFailed` on any other answer or a
  // header block over kMaxResponseBytes (then error() says why), else `kNeedMore`.
  // After `kDone` or `kFailed` further calls return the same state and consume nothing.
  State feed(std::span<const uint8_t> bytes);

  std::span<const uint8_t> leftover() const;
  // The response's header block, blank line included, once it has arrived (refused or
  // not); empty before.
  std::string_view response_head() const;
  std::string_view error() const { return error_; }
  // The sub-protocol the server chose ("" if none).
  std::string_view protocol() const { return protocol_; }
  // The server's Sec-WebSocket-Extensions ("" if none; several headers joined by ", ").
  std::string_view extensions() const { return extensions_; }
  int status() const { return status_; }

  // base64(SHA-1(key + GUID)), the accept value for `key` (RFC 6455 §4.2.2, item 5.4).
  static std::string accept_for(std::string_view key);

 private:
  State parse_head(std::string_view head);
  State fail(std::string reason);

  std::string request_;
  std::string key_;
  std::string offered_;
  bool offered_extensions_ = false;
  std::string buffer_;
  size_t head_end_ = 0;
  State state_ = State::kNeedMore;
  int status_ = 0;
  std::string protocol_;
  std::string extensions_;
  std::string error_;
};

}  // namespace tg::client
