// corpus.hpp -- chat texts read from a file (tidegate-bots --corpus), so that compression
// is measured on text people write rather than on the swarm's random words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tg::bots {

// The texts of a fortune(6)-style file: entries separated by lines that hold only "%"
// (Debian's fortunes-min, /usr/share/games/fortunes/fortunes). Each entry becomes one
// chat line: its whitespace runs (line breaks, tabs) collapsed to one space, cut to at
// most `max_bytes` at a UTF-8 character boundary, and kept JSON-escaped, ready to go
// between the quotes of a "text" field. Entries that end up empty or are not UTF-8 are
// left out.
class Corpus {
 public:
  // Where one bot is in the corpus: it sends texts start, start + stride, ... (mod the
  // corpus size); stride is coprime with the size, so it sends every text once before
  // any twice, and bots seeded differently start and step differently.
  struct Walk {
    uint64_t start = 0;
    uint64_t stride = 1;
  };

  static Corpus parse(std::string_view content, size_t max_bytes);
  // Reads and parses `path`; throws std::runtime_error naming the file when it cannot be
  // read or holds no text.
  static Corpus load(const std::string& path, size_t max_bytes);

  size_t size() const { return texts_.size(); }
  bool empty() const { return texts_.empty(); }
  // Text i, JSON-escaped.
  std::string_view text(size_t i) const { return texts_[i]; }

  // The walk of bot `bot` in a run seeded `seed`: the same for the same pair.
  Walk walk(uint64_t seed, uint32_t bot) const;
  // The k-th text (k from 0) of a walk.
  std::string_view text(const Walk& walk, uint64_t k) const;

 private:
  std::vector<std::string> texts_;
};

}  // namespace tg::bots
