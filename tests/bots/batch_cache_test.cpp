// batch_cache_test.cpp -- lookup by bytes, collisions and eviction of BatchCache.
#include "bots/batch_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tg::bots {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

DecodedBatch batch(uint64_t seq) {
  DecodedBatch b;
  b.batch_seq = seq;
  return b;
}

TEST(BatchCache, FindsWhatWasInsertedByBytes) {
  BatchCache cache(8);
  const std::string frame = "frame-one";
  const std::string copy = frame;  // a different buffer with the same bytes
  EXPECT_EQ(cache.find(BatchCache::hash_of(bytes(frame)), bytes(frame)), nullptr);
  cache.insert(BatchCache::hash_of(bytes(frame)), bytes(frame), batch(1));
  const DecodedBatch* hit = cache.find(BatchCache::hash_of(bytes(copy)), bytes(copy));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->batch_seq, 1u);
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 1u);
}

TEST(BatchCache, EqualHashesWithDifferentBytesDoNotMix) {
  BatchCache cache(8);
  cache.insert(5, bytes("aaaa"), batch(1));
  cache.insert(5, bytes("bbbb"), batch(2));
  EXPECT_EQ(cache.find(5, bytes("aaaa"))->batch_seq, 1u);
  EXPECT_EQ(cache.find(5, bytes("bbbb"))->batch_seq, 2u);
  EXPECT_EQ(cache.find(5, bytes("cccc")), nullptr);
}

TEST(BatchCache, ForgetsTheOldestWhenFull) {
  BatchCache cache(3);
  for (uint64_t i = 0; i < 5; ++i) {
    const std::string f = std::to_string(i) + "-frame";
    cache.insert(BatchCache::hash_of(bytes(f)), bytes(f), batch(i));
  }
  EXPECT_EQ(cache.size(), 3u);
  for (uint64_t i = 0; i < 5; ++i) {
    const std::string f = std::to_string(i) + "-frame";
    const DecodedBatch* hit = cache.find(BatchCache::hash_of(bytes(f)), bytes(f));
    if (i < 2) {
      EXPECT_EQ(hit, nullptr) << i;
    } else {
      ASSERT_NE(hit, nullptr) << i;
      EXPECT_EQ(hit->batch_seq, i);
    }
  }
}

}  // namespace
}  // namespace tg::bots
