// corpus.cpp -- parsing a fortune-style file into JSON-escaped chat texts, and each bot's
// seeded walk through them.
#include "bots/corpus.hpp"

#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace tg::bots {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Joins the entry's lines and collapses every whitespace run to one space, without
// leading or trailing space.
std::string one_line(std::string_view entry) {
  std::string out;
  out.reserve(entry.size());
  bool pending_space = false;
  for (const char c : entry) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

// Length of the UTF-8 sequence starting with `lead`, 0 when it cannot start one.
size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

// Well-formed UTF-8 in the shape the gateway checks (continuation bytes after a valid
// lead byte); overlong three- and four-byte forms are rare enough in a text file that
// the gateway's own check is the last word.
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequence_length(static_cast<unsigned char>(s[i]));
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// The longest prefix of `s` of at most `max_bytes` that ends on a character boundary.
std::string_view cut(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  s = s.substr(0, end);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::string json_escaped(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 8);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

// splitmix64: spreads a seed and a bot index into well-mixed bits.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

Corpus Corpus::parse(std::string_view content, size_t max_bytes) {
  Corpus corpus;
  std::string entry;
  const auto finish = [&] {
    const std::string line = one_line(entry);
    entry.clear();
    if (!valid_utf8(line)) return;
    const std::string_view text = cut(line, max_bytes);
    if (!text.empty()) corpus.texts_.push_back(json_escaped(text));
  };
  while (!content.empty()) {
    const size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view{} : content.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "%") {
      finish();
    } else {
      entry += line;
      entry += '\n';
    }
  }
  finish();
  return corpus;
}

Corpus Corpus::load(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("--corpus: cannot read " + path);
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw std::runtime_error("--corpus: cannot read " + path);
  Corpus corpus = parse(content.str(), max_bytes);
  if (corpus.empty()) {
    throw std::runtime_error("--corpus: no texts in " + path +
                             " (entries are separated by lines holding only %)");
  }
  return corpus;
}

Corpus::Walk Corpus::walk(uint64_t seed, uint32_t bot) const {
  const uint64_t n = texts_.size();
  if (n <= 1) return {};
  const uint64_t h = mix(seed ^ mix(bot));
  Walk w;
  w.start = h % n;
  w.stride = 1 + mix(h) % (n - 1);
  while (std::gcd(w.stride, n) != 1) w.stride = w.stride % (n - 1) + 1;
  return w;
}

std::string_view Corpus::text(const Walk& walk, uint64_t k) const {
  const uint64_t n = texts_.size();
  // (start + k * stride) mod n without overflow: k is reduced first, and the product of
  // two values below n (a file's entry count) fits in 64 bits.
  const uint64_t at = (walk.start + (k % n) * walk.stride % n) % n;
  return texts_[at];
}

}  // namespace tg::bots
