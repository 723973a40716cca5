// Fuzz target: the HTTP request parser and the handshake checks, fed any bytes in any
// split (the first byte picks the chunk size), as a client on the network could.
#include <cstddef>
#include <cstdint>

#include "http/request.hpp"
#include "protocol/upgrade.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t chunk = 1 + data[0] % 64;
  tg::http::HttpRequestParser parser(8192);
  const char* p = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;
  while (left > 0) {
    size_t n = left < chunk ? left : chunk;
    size_t used = 0;
    auto st = parser.feed(p, n, &used);
    if (used > n) __builtin_trap();  // the parser may never claim bytes it was not given
    if (st == tg::http::HttpRequestParser::State::kComplete) {
      tg::protocol::Handshake h = tg::protocol::evaluate_handshake(parser.request());
      if (h.response.empty()) __builtin_trap();  // every request gets an answer
      break;
    }
    if (st == tg::http::HttpRequestParser::State::kError) {
      int s = parser.error_status();
      if (s != 400 && s != 431) __builtin_trap();
      break;
    }
    p += n;
    left -= n;
  }
  return 0;
}
