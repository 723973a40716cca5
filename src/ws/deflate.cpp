// deflate.cpp -- RFC 7692 offer parsing and the zlib codecs behind it.
#include "ws/deflate.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tg::ws {

namespace {

constexpr std::string_view kExtension = "permessage-deflate";
// RFC 7692 7.2.1: what a sync flush ends with, removed by the sender, put back by the
// receiver.
constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};

// Splits `s` at `sep` outside double quotes (RFC 7230 quoted-string, with \-escapes).
std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted && c == '\\') {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == sep && !quoted) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(start));
  return parts;
}

// A window-bits value: 8..15 as plain digits, without leading zeros (RFC 7692 7.1.2.1),
// possibly as a quoted-string (RFC 6455 9.1 allows either form). -1 when malformed.
int window_bits_value(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2 || v[0] == '0') return -1;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n >= 8 && n <= kMaxWindowBits ? n : -1;
}

// One offer's parameters (after "permessage-deflate"), or nullopt to decline it.
std::optional<DeflateParams> accept_offer(const std::vector<std::string_view>& params) {
  DeflateParams p;
  bool seen_server_nct = false, seen_client_nct = false, seen_client_bits = false;
  for (size_t i = 1; i < params.size(); ++i) {
    std::string_view param = http::trim(params[i]);
    size_t eq = param.find('=');
    std::string_view name = http::trim(param.substr(0, eq));
    bool has_value = eq != std::string_view::npos;
    std::string_view value = has_value ? http::trim(param.substr(eq + 1)) : std::string_view{};
    if (http::iequals(name, "server_no_context_takeover")) {
      if (seen_server_nct || has_value) return std::nullopt;
      seen_server_nct = true;  // what tidegate answers anyway
    } else if (http::iequals(name, "client_no_context_takeover")) {
      if (seen_client_nct || has_value) return std::nullopt;
      seen_client_nct = true;
    } else if (http::iequals(name, "server_max_window_bits")) {
      if (p.server_bits_offered) return std::nullopt;
      int bits = has_value ? window_bits_value(value) : -1;
      if (bits < kMinServerWindowBits) return std::nullopt;  // malformed, or 8 (see .hpp)
      p.server_window_bits = bits;
      p.server_bits_offered = true;
    } else if (http::iequals(name, "client_max_window_bits")) {
      // The client may be told a smaller window; tidegate inflates with the largest, so
      // it accepts any and does not answer it (RFC 7692 7.1.2.2).
      if (seen_client_bits || (has_value && window_bits_value(value) < 0)) return std::nullopt;
      seen_client_bits = true;
    } else {
      return std::nullopt;
    }
  }
  return p;
}

}  // namespace

std::optional<DeflateParams> choose_deflate(const http::HttpRequest& req) {
  for (const auto& [name, value] : req.headers) {
    if (name != "sec-websocket-extensions") continue;
    for (std::string_view ext : split_unquoted(value, ',')) {
      std::vector<std::string_view> params = split_unquoted(ext, ';');
      if (!http::iequals(http::trim(params[0]), kExtension)) continue;
      if (auto p = accept_offer(params)) return p;
    }
  }
  return std::nullopt;
}

std::string deflate_answer(const DeflateParams& p) {
  // client_no_context_takeover may be answered unasked (RFC 7692 7.1.1.2): it is what
  // lets one inflater per worker serve every client.
  std::string s = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
  if (p.server_bits_offered)
    s += "; server_max_window_bits=" + std::to_string(p.server_window_bits);
  return s;
}

MessageDeflater::MessageDeflater(int window_bits, int level) : window_bits_(window_bits) {
  // Negative window bits: raw deflate, no zlib header or trailer (RFC 7692 7.2.1).
  if (deflateInit2(&z_, level, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    abort();  // only out of memory: the window bits are checked at negotiation
}

MessageDeflater::~MessageDeflater() {
  deflateEnd(&z_);
}

void MessageDeflater::compress(std::string_view text, std::string& out) {
  deflateReset(&z_);  // no context takeover: every message starts afresh
  // deflateBound() is for Z_FINISH; a sync flush adds at most the empty block's bytes.
  out.resize(deflateBound(&z_, text.size()) + 16);
  z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z_.avail_in = static_cast<uInt>(text.size());
  z_.next_out = reinterpret_cast<Bytef*>(out.data());
  z_.avail_out = static_cast<uInt>(out.size());
  int rv = deflate(&z_, Z_SYNC_FLUSH);
  if (rv != Z_OK || z_.avail_in != 0 || z_.avail_out == 0) abort();  // the bound held
  // Shrinking with erase(): GCC's -O3 flow analysis cannot tell that resize() here never
  // grows the string and warns (-Wrestrict) about the growing path.
  size_t produced = out.size() - z_.avail_out;
  // A sync flush always ends with an empty stored block: 00 00 ff ff.
  if (produced >= 4 && std::memcmp(out.data() + produced - 4, kTail, 4) == 0) produced -= 4;
  out.erase(produced);
}

MessageInflater::MessageInflater() {
  if (inflateInit2(&z_, -kMaxWindowBits) != Z_OK) abort();  // only out of memory
}

MessageInflater::~MessageInflater() {
  inflateEnd(&z_);
}

MessageInflater::Result MessageInflater::inflate(std::string_view payload, size_t limit) {
  std::string& out = out_;
  inflateReset(&z_);  // client_no_context_takeover: each message on its own
  out.clear();
  // Output grows in steps, never past limit + 1 bytes (one more shows it is too big).
  const size_t cap = limit + 1;
  size_t step = std::min<size_t>(cap, std::max<size_t>(payload.size() * 4, 4096));
  std::string_view parts[2] = {payload, {reinterpret_cast<const char*>(kTail), 4}};
  for (std::string_view in : parts) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    // Also on when the output was filled: zlib may still hold the rest of a match.
    bool more = true;
    while (more) {
      if (out.size() >= cap) return Result::kTooBig;
      size_t have = out.size();
      size_t grow = std::min(step, cap - have);
      step *= 2;
      out.resize(have + grow);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + have);
      z_.avail_out = static_cast<uInt>(grow);
      int rv = ::inflate(&z_, Z_SYNC_FLUSH);
      out.resize(have + grow - z_.avail_out);
      if (rv == Z_STREAM_END) {
        // A final block ended the message: only the tail we added may follow it.
        if (in.data() == payload.data() && z_.avail_in > 0) return Result::kCorrupt;
        return out.size() > limit ? Result::kTooBig : Result::kOk;
      }
      if (rv != Z_OK && rv != Z_BUF_ERROR) return Result::kCorrupt;
      // No progress with input and room left: the stream wants what is not there.
      if (rv == Z_BUF_ERROR && z_.avail_in > 0 && z_.avail_out > 0) return Result::kCorrupt;
      more = z_.avail_in > 0 || z_.avail_out == 0;
    }
  }
  return out.size() > limit ? Result::kTooBig : Result::kOk;
}

}  // namespace tg::ws
