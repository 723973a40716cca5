// Tests for RoomStream: each batch decodes to its JSON from a decoder fed since the
// latest keyframe, keyframes come by output size and by age, and a fresh decoder
// started at any keyframe decodes everything after it.
#include "batcher/room_stream.hpp"

#include <gtest/gtest.h>
#include <zstd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace tg::batcher {
namespace {

// A client's decoder for one room: reset on a keyframe, fed each payload's zstd bytes.
class Decoder {
 public:
  Decoder() : d_(ZSTD_createDCtx()) {}
  ~Decoder() { ZSTD_freeDCtx(d_); }
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Returns false when the bytes cannot be decoded (or end mid-batch).
  bool feed(const std::string& payload, std::string& json) {
    uint8_t flags = 0;
    std::string_view room, z;
    if (!parse_v2_header(payload, flags, room, z)) return false;
    if (flags & kV2Keyframe) {
      ZSTD_DCtx_reset(d_, ZSTD_reset_session_only);
      synced_ = true;
    }
    if (!synced_) return false;
    json.clear();
    ZSTD_inBuffer in{z.data(), z.size(), 0};
    char buf[4096];
    while (in.pos < in.size) {
      ZSTD_outBuffer out{buf, sizeof buf, 0};
      size_t r = ZSTD_decompressStream(d_, &out, &in);
      if (ZSTD_isError(r)) return false;
      json.append(buf, out.pos);
      if (out.pos < out.size && in.pos == in.size) break;
    }
    // Whatever the decoder still holds for this input comes out with more output room.
    for (;;) {
      ZSTD_outBuffer out{buf, sizeof buf, 0};
      size_t r = ZSTD_decompressStream(d_, &out, &in);
      if (ZSTD_isError(r)) return false;
      json.append(buf, out.pos);
      if (out.pos == 0) break;
    }
    return true;
  }

 private:
  ZSTD_DCtx* d_;
  bool synced_ = false;
};

std::string batch_json(int i) {
  return R"({"t":"batch","room":"lobby","seq":)" + std::to_string(i) +
         R"(,"online":3,"msgs":[{"seq":)" + std::to_string(1000 + i) +
         R"(,"t":"msg","from":"alice","text":"message number )" + std::to_string(i * 7919) +
         R"( of the test","ts":1700000000123}]})";
}

TEST(RoomStream, EachBatchDecodesToItsJsonAndTheFirstIsAKeyframe) {
  RoomStreamOptions o;
  RoomStream s(o);
  Decoder d;
  std::string payload, json;
  for (int i = 1; i <= 50; ++i) {
    bool key = s.compress("lobby", batch_json(i), 0, payload);
    EXPECT_EQ(key, i == 1) << i;
    EXPECT_EQ(static_cast<uint8_t>(payload[0]) & kV2Keyframe, key ? 1 : 0);
    ASSERT_TRUE(d.feed(payload, json)) << i;
    EXPECT_EQ(json, batch_json(i)) << i;
  }
}

TEST(RoomStream, HeaderNamesTheRoom) {
  RoomStream s(RoomStreamOptions{});
  std::string payload;
  s.compress("kitchen", batch_json(1), 0, payload);
  uint8_t flags = 0;
  std::string_view room, z;
  ASSERT_TRUE(parse_v2_header(payload, flags, room, z));
  EXPECT_EQ(room, "kitchen");
  EXPECT_EQ(flags, kV2Keyframe);
  EXPECT_FALSE(parse_v2_header(std::string_view("\x01\x09kit", 5), flags, room, z));
}

TEST(RoomStream, LaterBatchesAreSmallerThanAlone) {
  RoomStream s(RoomStreamOptions{});
  std::string payload;
  size_t first = 0, later = 0;
  for (int i = 1; i <= 20; ++i) {
    s.compress("lobby", batch_json(i), 0, payload);
    (i == 1 ? first : later) = payload.size();
  }
  EXPECT_LT(later * 2, first);  // the shared stream references the earlier batches
}

TEST(RoomStream, KeyframesByOutputBytes) {
  RoomStreamOptions o;
  o.keyframe_bytes = 200;
  RoomStream s(o);
  std::string payload;
  int keys = 0;
  size_t since_key = 0;
  for (int i = 1; i <= 100; ++i) {
    bool key = s.compress("lobby", batch_json(i), 0, payload);
    if (key) {
      ++keys;
      since_key = 0;
    }
    since_key += payload.size();
    EXPECT_LT(since_key, 200 + payload.size() + 64) << i;  // the frame stops growing past the limit
  }
  EXPECT_GT(keys, 3);
}

TEST(RoomStream, KeyframesByAgeAndOnDemand) {
  RoomStreamOptions o;
  o.keyframe_ms = 1000;
  RoomStream s(o);
  std::string payload;
  EXPECT_TRUE(s.compress("lobby", batch_json(1), 5000, payload));
  EXPECT_FALSE(s.compress("lobby", batch_json(2), 5999, payload));
  EXPECT_TRUE(s.compress("lobby", batch_json(3), 6000, payload));
  EXPECT_FALSE(s.compress("lobby", batch_json(4), 6001, payload));
  s.force_keyframe();
  EXPECT_TRUE(s.compress("lobby", batch_json(5), 6002, payload));
}

TEST(RoomStream, AFreshDecoderStartsAtAnyKeyframeButNotBetween) {
  RoomStreamOptions o;
  o.keyframe_bytes = 300;
  RoomStream s(o);
  std::vector<std::string> payloads;
  std::vector<bool> keys;
  std::string payload;
  for (int i = 1; i <= 60; ++i) {
    keys.push_back(s.compress("lobby", batch_json(i), 0, payload));
    payloads.push_back(payload);
  }
  for (size_t start = 0; start < payloads.size(); ++start) {
    Decoder d;
    std::string json;
    if (!keys[start]) {
      EXPECT_FALSE(d.feed(payloads[start], json)) << start;  // must wait for a keyframe
      continue;
    }
    for (size_t i = start; i < payloads.size(); ++i) {
      ASSERT_TRUE(d.feed(payloads[i], json)) << start << " " << i;
      EXPECT_EQ(json, batch_json(static_cast<int>(i) + 1));
    }
  }
}

// Chat-like texts for the measurement below: the fortunes of Debian's fortunes-min, one
// per message, escaped for a JSON string.
std::vector<std::string> fortunes() {
  std::vector<std::string> out;
  for (const char* path :
       {"/usr/share/games/fortunes/fortunes", "/usr/share/games/fortunes/literature",
        "/usr/share/games/fortunes/riddles"}) {
    std::ifstream f(path);
    std::string line, cur;
    auto done = [&] {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    };
    while (std::getline(f, line)) {
      if (line == "%") {
        done();
        continue;
      }
      if (!cur.empty()) cur += "\\n";
      for (char c : line) {
        if (c == '"' || c == '\\') cur += '\\';
        if (c == '\t') {
          cur += "\\t";
          continue;
        }
        cur += c;
      }
    }
    done();
  }
  return out;
}

// Prints what one room's context costs and how well it compresses single-message chat
// batches, for each match-table size (the numbers in docs/ARCHITECTURE.md). Only the
// chosen setting's context size is asserted (a bound, not a measurement).
TEST(RoomStream, MemoryAndRatioByTableLog) {
  std::vector<std::string> texts = fortunes();
  if (texts.empty()) {
    GTEST_SKIP() << "no /usr/share/games/fortunes (fortunes-min)";
  }
  const char* names[] = {"alice", "bob", "carol", "dave", "erin"};
  std::vector<std::string> batches;
  uint32_t rng = 1;
  for (int i = 0; i < 1000; ++i) {
    rng = rng * 1103515245u + 12345u;
    batches.push_back(R"({"t":"batch","room":"lobby","seq":)" + std::to_string(5000 + i) +
                      R"(,"online":)" + std::to_string(40 + i % 7) + R"(,"msgs":[{"seq":)" +
                      std::to_string(900000 + i) + R"(,"t":"msg","from":")" + names[i % 5] +
                      R"(","text":")" + texts[(rng >> 8) % texts.size()] + R"(","ts":)" +
                      std::to_string(1763843473123ull + i * 137ull) + "}]}");
  }
  size_t raw = 0;
  for (const std::string& b : batches) raw += b.size();
  for (int table_log : {15, 14, 13, 12, 11}) {
    RoomStreamOptions o;
    o.table_log = table_log;
    RoomStream s(o);
    Decoder d;
    std::string payload, json;
    size_t out = 0;
    for (const std::string& b : batches) {
      s.compress("lobby", b, 0, payload);
      out += payload.size() - 7;  // the zstd bytes, without the header of "lobby"
      ASSERT_TRUE(d.feed(payload, json));
      ASSERT_EQ(json, b);
    }
    std::printf("table log %d: context %zu bytes, %zu batches of %.1f bytes -> %.1f bytes\n",
                table_log, s.context_bytes(), batches.size(),
                static_cast<double>(raw) / batches.size(),
                static_cast<double>(out) / batches.size());
    if (table_log == kRoomStreamTableLog) {
      EXPECT_LT(s.context_bytes(), size_t{512} << 10);
    }
  }
}

}  // namespace
}  // namespace tg::batcher
