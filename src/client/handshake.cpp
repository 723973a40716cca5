// handshake.cpp -- request building and response checking for the WebSocket upgrade.
#include "client/handshake.hpp"

#include <openssl/evp.h>

#include <cstdlib>

#include "http/request.hpp"
#include "ws/handshake.hpp"

namespace tg::client {
namespace {

std::string base64(const unsigned char* data, size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

Handshake::Handshake(std::string host, std::string target, std::string subprotocol,
                     const std::array<uint8_t, 16>& key_bytes, std::string extensions)
    : key_(base64(key_bytes.data(), key_bytes.size())),
      offered_(std::move(subprotocol)),
      offered_extensions_(!extensions.empty()) {
  request_ = "GET " + target + " HTTP/1.1\r\nHost: " + host +
             "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key_ +
             "\r\nSec-WebSocket-Version: 13\r\n";
  if (!offered_.empty()) request_ += "Sec-WebSocket-Protocol: " + offered_ + "\r\n";
  if (offered_extensions_) request_ += "Sec-WebSocket-Extensions: " + extensions + "\r\n";
  request_ += "\r\n";
}

std::string Handshake::accept_for(std::string_view key) {
  return ws::websocket_accept(key);
}

Handshake::State Handshake::feed(std::span<const uint8_t> bytes) {
  if (state_ != State::kNeedMore) return state_;
  const size_t old = buffer_.size();
  buffer_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const size_t from = old >= 3 ? old - 3 : 0;
  const auto end = buffer_.find("\r\n\r\n", from);
  if (end == std::string::npos) {
    return buffer_.size() > kMaxResponseBytes ? fail("response header too large")
                                              : State::kNeedMore;
  }
  head_end_ = end + 4;
  if (head_end_ > kMaxResponseBytes) return fail("response header too large");
  state_ = parse_head(std::string_view(buffer_).substr(0, end));
  return state_;
}

std::span<const uint8_t> Handshake::leftover() const {
  if (state_ != State::kDone) return {};
  return {reinterpret_cast<const uint8_t*>(buffer_.data()) + head_end_, buffer_.size() - head_end_};
}

std::string_view Handshake::response_head() const {
  return std::string_view(buffer_).substr(0, head_end_);
}

Handshake::State Handshake::fail(std::string reason) {
  error_ = std::move(reason);
  state_ = State::kFailed;
  return state_;
}

Handshake::State Handshake::parse_head(std::string_view head) {
  auto eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.1 101 Switching Protocols" (RFC 9112 §4).
  if (!status_line.starts_with("HTTP/1.1 ") || status_line.size() < 12) {
    return fail("malformed status line");
  }
  status_ = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  if (status_ != 101) return fail("status " + std::to_string(status_));
  bool upgrade = false, connection = false, accepted = false;
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return fail("malformed header line");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = http::trim(line.substr(colon + 1));
    if (http::iequals(name, "upgrade")) upgrade = http::iequals(value, "websocket");
    if (http::iequals(name, "connection")) connection = http::has_token(value, "upgrade");
    if (http::iequals(name, "sec-websocket-accept")) accepted = value == accept_for(key_);
    if (http::iequals(name, "sec-websocket-protocol")) protocol_ = std::string(value);
    if (http::iequals(name, "sec-websocket-extensions")) {
      if (!extensions_.empty()) extensions_ += ", ";
      extensions_ += value;
    }
  }
  if (!upgrade || !connection) return fail("missing Upgrade/Connection headers");
  if (!accepted) return fail("wrong Sec-WebSocket-Accept");
  // §4.1 item 6: a protocol we did not offer fails the connection.
  if (!protocol_.empty() && !http::has_token(offered_, protocol_)) {
    return fail("server chose a sub-protocol not offered");
  }
  // §4.1 item 5: an extension we did not offer fails the connection too.
  if (!extensions_.empty() && !offered_extensions_)
    return fail("server chose an extension not offered");
  return State::kDone;
}

}  // namespace tg::client
