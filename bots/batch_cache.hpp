// batch_cache.hpp -- remembers decoded batches by their frame bytes, so each distinct frame is
// decoded once per loop.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "bots/decoded_batch.hpp"

namespace tg::bots {

// Every client of a room receives byte-identical batch frames (the gateway encodes and
// compresses once), so the frame bytes are the key: the first bot to receive a frame
// decodes it, the others find it here. A fixed ring of `capacity` entries; the oldest
// is forgotten first. Single-threaded: one cache per loop.
class BatchCache {
 public:
  explicit BatchCache(size_t capacity);

  // A fast 64-bit hash of the frame bytes (std::hash over the bytes).
  static uint64_t hash_of(std::span<const uint8_t> frame);

  // The decoded batch whose frame equals `frame` byte for byte, or nullptr. The pointer
  // stays valid until the next insert().
  const DecodedBatch* find(uint64_t hash, std::span<const uint8_t> frame);

  // Stores `batch` under `frame` (copied), evicting the oldest entry if full, and
  // returns the stored batch (valid until the next insert()).
  const DecodedBatch* insert(uint64_t hash, std::span<const uint8_t> frame, DecodedBatch batch);

  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    uint64_t hash = 0;
    bool used = false;
    std::vector<uint8_t> bytes;
    DecodedBatch batch;
  };

  std::vector<Entry> ring_;
  size_t next_ = 0;
  std::unordered_multimap<uint64_t, size_t> index_;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace tg::bots
