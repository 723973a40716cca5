// deflate.hpp -- permessage-deflate (RFC 7692) for the server: choosing among a client's
// offers, and the two codecs. tidegate always answers server_no_context_takeover (so a
// batch's text deflated once serves every client) and client_no_context_takeover (so
// one inflater per worker, reset for each message, serves every client: no inflate
// state is kept per connection).
#pragma once

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace tg::ws {

// What was agreed for one connection.
struct DeflateParams {
  // Window the server compresses with: server_max_window_bits when the client offered
  // it (9..15), else 15.
  int server_window_bits = 15;
  bool server_bits_offered = false;  // the answer then repeats server_max_window_bits
};

// Smallest and largest server_max_window_bits accepted. RFC 7692 allows 8, but zlib
// cannot make a raw deflate stream with a 256-byte window (it would use 512): an offer
// of 8 is declined and the next offer looked at.
constexpr int kMinServerWindowBits = 9;
constexpr int kMaxWindowBits = 15;

// The first acceptable permessage-deflate offer in the request's
// Sec-WebSocket-Extensions header(s) (RFC 7692 7.1), or nullopt when there is none.
// An offer is declined when it has an unknown parameter, a parameter twice, or a value
// that is missing, present where none is allowed, or out of range.
std::optional<DeflateParams> choose_deflate(const http::HttpRequest& req);

// The Sec-WebSocket-Extensions value that accepts `p`.
std::string deflate_answer(const DeflateParams& p);

// Deflates whole messages, each on its own (no context takeover), for one window size
// at a time. About 256 KiB of zlib state for a 15-bit window; one per worker and window.
class MessageDeflater {
 public:
  // `level`: zlib's, 1..9.
  MessageDeflater(int window_bits, int level);
  ~MessageDeflater();
  MessageDeflater(const MessageDeflater&) = delete;
  MessageDeflater& operator=(const MessageDeflater&) = delete;

  // Replaces `out` with the compressed payload of `text` (RFC 7692 7.2.1: raw deflate
  // ended by a sync flush, its final 00 00 ff ff removed).
  void compress(std::string_view text, std::string& out);
  int window_bits() const { return window_bits_; }

 private:
  z_stream z_{};
  int window_bits_;
};

// Inflates whole client messages sent without context takeover. The 32 KiB window and
// zlib's ~7 KiB of tables are one allocation per worker, reset for every message.
class MessageInflater {
 public:
  MessageInflater();
  ~MessageInflater();
  MessageInflater(const MessageInflater&) = delete;
  MessageInflater& operator=(const MessageInflater&) = delete;

  enum class Result { kOk, kTooBig, kCorrupt };
  // Inflates `payload` (the 00 00 ff ff put back) into output(). Stops as soon as more
  // than `limit` bytes would come out: a deflate bomb costs `limit` bytes of buffer.
  Result inflate(std::string_view payload, size_t limit);
  // The last message inflated (valid until the next inflate()).
  std::string_view output() const { return out_; }

 private:
  z_stream z_{};
  std::string out_;
};

}  // namespace tg::ws
