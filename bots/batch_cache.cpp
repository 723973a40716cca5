// batch_cache.cpp -- the ring and hash index of the per-loop decoded-batch cache.
#include "bots/batch_cache.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace tg::bots {

BatchCache::BatchCache(size_t capacity) : ring_(std::max<size_t>(capacity, 1)) {
  index_.reserve(ring_.size());
}

uint64_t BatchCache::hash_of(std::span<const uint8_t> frame) {
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(frame.data()), frame.size()));
}

const DecodedBatch* BatchCache::find(uint64_t hash, std::span<const uint8_t> frame) {
  const auto [lo, hi] = index_.equal_range(hash);
  for (auto it = lo; it != hi; ++it) {
    const Entry& e = ring_[it->second];
    if (std::ranges::equal(e.bytes, frame)) {
      ++hits_;
      return &e.batch;
    }
  }
  ++misses_;
  return nullptr;
}

const DecodedBatch* BatchCache::insert(uint64_t hash, std::span<const uint8_t> frame,
                                       DecodedBatch batch) {
  const size_t slot = next_;
  next_ = (next_ + 1) % ring_.size();
  Entry& e = ring_[slot];
  if (e.used) {
    const auto [lo, hi] = index_.equal_range(e.hash);
    for (auto it = lo; it != hi; ++it) {
      if (it->second == slot) {
        index_.erase(it);
        break;
      }
    }
  }
  e.hash = hash;
  e.used = true;
  e.bytes.assign(frame.begin(), frame.end());
  e.batch = std::move(batch);
  index_.emplace(hash, slot);
  return &e.batch;
}

}  // namespace tg::bots
