// frame_decoder_test.cpp -- zstd, json and deflated batches, notices, v2 room streams (also
// replayed past the BatchCache) and bad input through FrameDecoder.
#include "bots/frame_decoder.hpp"

#include <gtest/gtest.h>
#include <zstd.h>

#include <cstring>
#include <string>
#include <vector>

#include "bots/batch_cache.hpp"
#include "ws/deflate.hpp"

namespace tg::bots {
namespace {

constexpr const char* kRun = "0badcafe";

const char* kBatch =
    R"({"t":"batch","room":"bots-0","seq":7,"online":3,"msgs":[)"
    R"({"seq":41,"t":"msg","from":"a","text":"x","ts":1,"cid":"0badcafe.9.1000"},)"
    R"({"seq":42,"t":"join","from":"b","ts":2},)"
    R"({"seq":43,"t":"msg","from":"c","text":"y","ts":3,"cid":"0badcafe.2.2000"},)"
    R"({"seq":44,"t":"msg","from":"d","text":"z","ts":4,"cid":"ffffffff.2.2000"},)"
    R"({"seq":45,"t":"msg","from":"a","text":"w","ts":5,"cid":"0badcafe.9.3000"}]})";

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string compress(const std::string& text, bool with_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, with_size ? 1 : 0);
  std::string out(ZSTD_compressBound(text.size()), '\0');
  size_t n = 0;
  if (with_size) {
    n = ZSTD_compress2(cctx, out.data(), out.size(), text.data(), text.size());
  } else {
    ZSTD_inBuffer in{text.data(), text.size(), 0};
    ZSTD_outBuffer o{out.data(), out.size(), 0};
    n = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
    EXPECT_EQ(n, 0u);
    n = o.pos;
  }
  ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

void expect_sample_batch(const DecodedBatch& b) {
  EXPECT_EQ(b.room, "bots-0");
  EXPECT_EQ(b.batch_seq, 7u);
  EXPECT_EQ(b.first_seq, 41u);
  EXPECT_EQ(b.last_seq, 45u);
  EXPECT_EQ(b.msg_count, 5u);
  EXPECT_EQ(b.run_msgs, 3u);  // the join and the other run's message don't count
  EXPECT_TRUE(b.consecutive);
  ASSERT_EQ(b.own.size(), 3u);
  EXPECT_EQ(b.own[0].bot, 2u);  // sorted by bot, stable within a bot
  EXPECT_EQ(b.own[1].bot, 9u);
  EXPECT_EQ(b.own[1].sent_us, 1000);
  EXPECT_EQ(b.own[2].sent_us, 3000);
  EXPECT_EQ(b.own[0].seq, 43u);  // each own message keeps its seq
  EXPECT_EQ(b.own[1].seq, 41u);
  EXPECT_EQ(b.own[2].seq, 45u);
  EXPECT_EQ(b.sent_by(9).size(), 2u);
  EXPECT_EQ(b.sent_by(2).size(), 1u);
  EXPECT_TRUE(b.sent_by(5).empty());
}

TEST(FrameDecoder, DecodesAJsonBatch) {
  FrameDecoder d(kRun);
  DecodedBatch b;
  Notice n;
  ASSERT_EQ(d.decode(false, bytes(kBatch), b, n), FrameDecoder::Kind::kBatch) << d.error();
  expect_sample_batch(b);
}

TEST(FrameDecoder, DecodesZstdBatchesWithAndWithoutContentSize) {
  FrameDecoder d(kRun);
  for (bool with_size : {true, false, true}) {  // the context is reused across frames
    DecodedBatch b;
    Notice n;
    ASSERT_EQ(d.decode(true, bytes(compress(kBatch, with_size)), b, n), FrameDecoder::Kind::kBatch)
        << d.error();
    expect_sample_batch(b);
  }
}

TEST(FrameDecoder, FlagsNonConsecutiveSeqsInsideABatch) {
  FrameDecoder d(kRun);
  DecodedBatch b;
  Notice n;
  const std::string batch = R"({"t":"batch","room":"r","seq":1,"msgs":[{"seq":1},{"seq":3}]})";
  ASSERT_EQ(d.decode(false, bytes(batch), b, n), FrameDecoder::Kind::kBatch);
  EXPECT_FALSE(b.consecutive);
}

TEST(FrameDecoder, DecodesNotices) {
  FrameDecoder d(kRun);
  DecodedBatch b;
  Notice n;
  ASSERT_EQ(
      d.decode(
          false,
          bytes(
              R"({"t":"hello","id":17,"name":"guest-17","room":"bots-1","seq":98210,"window_ms":0,"proto":"zstd"})"),
          b, n),
      FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.type, Notice::Type::kHello);
  EXPECT_EQ(n.seq, 98210u);
  EXPECT_EQ(n.room, "bots-1");
  ASSERT_EQ(d.decode(false, bytes(R"({"t":"pong","id":7,"window_ms":2.5})"), b, n),
            FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.type, Notice::Type::kPong);
  EXPECT_EQ(n.id, 7u);
  EXPECT_DOUBLE_EQ(n.window_ms, 2.5);
  ASSERT_EQ(d.decode(false, bytes(R"({"t":"gap","room":"r","from":10,"to":20})"), b, n),
            FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.type, Notice::Type::kGap);
  EXPECT_EQ(n.from, 10u);
  EXPECT_EQ(n.to, 20u);
  ASSERT_EQ(d.decode(false, bytes(R"({"t":"error","code":"bad_room","reason":"no"})"), b, n),
            FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.type, Notice::Type::kError);
  EXPECT_EQ(n.code, "bad_room");
  EXPECT_TRUE(n.cid.empty());
}

TEST(FrameDecoder, DecodesEpochsAndRefusedCids) {
  FrameDecoder d(kRun);
  DecodedBatch b;
  Notice n;
  ASSERT_EQ(
      d.decode(false, bytes(R"({"t":"hello","id":1,"room":"r","seq":5,"epoch":1795380203401})"), b,
               n),
      FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.epoch, 1795380203401u);
  ASSERT_EQ(d.decode(false, bytes(R"({"t":"joined","room":"r","seq":9,"epoch":3})"), b, n),
            FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.type, Notice::Type::kJoined);
  EXPECT_EQ(n.seq, 9u);
  EXPECT_EQ(n.epoch, 3u);
  ASSERT_EQ(d.decode(false, bytes(R"({"t":"joined","room":"r","seq":9})"), b, n),
            FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.epoch, 0u);  // none sent
  ASSERT_EQ(
      d.decode(
          false,
          bytes(R"({"t":"error","code":"unavailable","reason":"backplane","cid":"0badcafe.4.77"})"),
          b, n),
      FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.code, "unavailable");
  EXPECT_EQ(n.cid, "0badcafe.4.77");
}

TEST(FrameDecoder, RejectsBadInput) {
  FrameDecoder d(kRun);
  DecodedBatch b;
  Notice n;
  EXPECT_EQ(d.decode(true, bytes("not zstd at all"), b, n), FrameDecoder::Kind::kInvalid);
  EXPECT_EQ(d.decode(true, bytes(compress(R"({"t":"pong","id":1})", true)), b, n),
            FrameDecoder::Kind::kInvalid);  // binary frames carry batches only
  std::string truncated = compress(kBatch, false);
  truncated.resize(truncated.size() / 2);
  EXPECT_EQ(d.decode(true, bytes(truncated), b, n), FrameDecoder::Kind::kInvalid);
  EXPECT_EQ(d.decode(false, bytes("{\"t\":"), b, n), FrameDecoder::Kind::kInvalid);
  EXPECT_EQ(d.decode(false, bytes("[1,2]"), b, n), FrameDecoder::Kind::kInvalid);
  EXPECT_EQ(d.decode(false, bytes(R"({"t":"batch","room":"r","msgs":[]})"), b, n),
            FrameDecoder::Kind::kInvalid);
  EXPECT_EQ(
      d.decode(false, bytes(R"({"t":"batch","room":"r","seq":1,"msgs":[{"t":"msg"}]})"), b, n),
      FrameDecoder::Kind::kInvalid);
  EXPECT_FALSE(d.error().empty());
}

}  // namespace
}  // namespace tg::bots

namespace tg::bots {
namespace {

// A v2 room stream as the gateway writes it: flag byte, room name, zstd bytes flushed
// per batch, a new frame at each keyframe.
class V2Stream {
 public:
  V2Stream() : cctx_(ZSTD_createCCtx()) {}
  ~V2Stream() { ZSTD_freeCCtx(cctx_); }
  V2Stream(const V2Stream&) = delete;
  V2Stream& operator=(const V2Stream&) = delete;

  std::string frame(const std::string& room, const std::string& json, bool key) {
    if (key) ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_only);
    std::string out(1, static_cast<char>(key ? 1 : 0));
    out.push_back(static_cast<char>(room.size()));
    out += room;
    std::string z(ZSTD_compressBound(json.size()) + 64, '\0');
    ZSTD_inBuffer in{json.data(), json.size(), 0};
    ZSTD_outBuffer o{z.data(), z.size(), 0};
    while (ZSTD_compressStream2(cctx_, &o, &in, ZSTD_e_flush) != 0) {
    }
    return out + z.substr(0, o.pos);
  }

 private:
  ZSTD_CCtx* cctx_;
};

TEST(FrameDecoderV2, DecodesARoomStreamFromItsKeyframesPerRoom) {
  FrameDecoder d(kRun);
  d.set_v2(true);
  V2Stream a, b;
  std::string batch_b = kBatch;
  batch_b.replace(batch_b.find("bots-0"), 6, "bots-1");
  DecodedBatch batch;
  Notice notice;
  // Interleaved rooms, each with its own decoder; the second frame of each needs the first.
  std::string a1 = a.frame("bots-0", kBatch, true), b1 = b.frame("bots-1", batch_b, true);
  std::string a2 = a.frame("bots-0", kBatch, false), b2 = b.frame("bots-1", batch_b, false);
  EXPECT_LT(a2.size(), a1.size());
  for (const std::string* f : {&a1, &b1, &a2, &b2}) {
    ASSERT_EQ(d.decode(true, bytes(*f), batch, notice), FrameDecoder::Kind::kBatch) << d.error();
    EXPECT_EQ(batch.batch_seq, 7u);
  }
  // A frame of a room whose keyframe the decoder never saw is refused, not guessed at.
  V2Stream c;
  c.frame("bots-2", kBatch, true);
  std::string c2 = c.frame("bots-2", kBatch, false);
  EXPECT_EQ(d.decode(true, bytes(c2), batch, notice), FrameDecoder::Kind::kInvalid);
  std::string bad = a1;
  bad[0] = 0x02;  // a reserved flag bit
  EXPECT_EQ(d.decode(true, bytes(bad), batch, notice), FrameDecoder::Kind::kInvalid);
}

}  // namespace
}  // namespace tg::bots

namespace tg::bots {
namespace {

std::string deflate(const std::string& text) {
  ws::MessageDeflater deflater(15, 6);
  std::string out;
  deflater.compress(text, out);
  return out;
}

TEST(FrameDecoderDeflate, InflatesADeflatedBatchLikeItsJson) {
  FrameDecoder d(kRun);
  d.set_deflate(true);
  DecodedBatch b;
  Notice n;
  const std::string wire = deflate(kBatch);
  EXPECT_LT(wire.size(), std::strlen(kBatch));
  ASSERT_EQ(d.decode_deflated(bytes(wire), b, n), FrameDecoder::Kind::kBatch) << d.error();
  expect_sample_batch(b);
  // Every message inflates on its own (no context takeover): the same bytes again.
  ASSERT_EQ(d.decode_deflated(bytes(wire), b, n), FrameDecoder::Kind::kBatch) << d.error();
  expect_sample_batch(b);
  // An uncompressed text batch (RSV1 clear) still goes the plain way.
  ASSERT_EQ(d.decode(false, bytes(kBatch), b, n), FrameDecoder::Kind::kBatch) << d.error();
  ASSERT_EQ(d.decode_deflated(bytes(deflate(R"({"t":"pong","id":3,"window_ms":1})")), b, n),
            FrameDecoder::Kind::kNotice);
  EXPECT_EQ(n.type, Notice::Type::kPong);
}

TEST(FrameDecoderDeflate, RefusesRsv1WithoutNegotiationAndBadData) {
  DecodedBatch b;
  Notice n;
  const std::string wire = deflate(kBatch);
  FrameDecoder plain(kRun);  // permessage-deflate not agreed
  EXPECT_EQ(plain.decode_deflated(bytes(wire), b, n), FrameDecoder::Kind::kInvalid);
  EXPECT_NE(plain.error().find("RSV1"), std::string_view::npos);

  FrameDecoder d(kRun);
  d.set_deflate(true);
  EXPECT_EQ(d.decode_deflated(bytes(std::string("\xff\xff\xff garbage")), b, n),
            FrameDecoder::Kind::kInvalid);
  // Over the bots' largest message: an error, with at most that much inflated.
  const std::string bomb = deflate(std::string(FrameDecoder::kMaxDecodedBytes + 1, ' '));
  EXPECT_EQ(d.decode_deflated(bytes(bomb), b, n), FrameDecoder::Kind::kInvalid);
  EXPECT_NE(d.error().find("too large"), std::string_view::npos);
  // And the decoder still works after both.
  ASSERT_EQ(d.decode_deflated(bytes(wire), b, n), FrameDecoder::Kind::kBatch) << d.error();
}

// What a loop does with the v2 frames its bots receive (Bot::on_ws_message): a receiver
// keeps its place after its keyframe; the cache is looked up by bytes and place; a miss
// is decoded at that place.
struct V2Receiver {
  FrameDecoder::V2Place place;

  // The batch seq delivered, or 0 when the frame was counted as an error.
  uint64_t receive(const std::string& frame, BatchCache& cache, FrameDecoder& decoder) {
    if ((frame[0] & 0x01) != 0) {
      place = {BatchCache::hash_of(bytes(frame)), 0};
    } else {
      ++place.index;
    }
    std::vector<uint8_t> key(frame.begin(), frame.end());
    const uint64_t p[2] = {place.chain, place.index};
    key.insert(key.end(), reinterpret_cast<const uint8_t*>(p),
               reinterpret_cast<const uint8_t*>(p) + sizeof p);
    const uint64_t hash = BatchCache::hash_of(key);
    if (const DecodedBatch* hit = cache.find(hash, key)) return hit->batch_seq;
    DecodedBatch batch;
    Notice notice;
    if (decoder.decode_v2(bytes(frame), place, batch, notice) != FrameDecoder::Kind::kBatch) {
      return 0;
    }
    return cache.insert(hash, key, std::move(batch))->batch_seq;
  }
};

std::string batch_json(uint64_t seq) {
  return R"({"t":"batch","room":"r","seq":)" + std::to_string(seq) + R"(,"msgs":[{"seq":)" +
         std::to_string(seq) + R"(,"t":"msg","from":"a","text":"the same words again","ts":1}]})";
}

TEST(FrameDecoderV2, AReplayFromAKeyframeTheCacheForgotLeavesTheLiveStreamIntact) {
  // Two chains: keyframe 1 with frames 2-3, keyframe 4 with frames 5-9 (batch seq = index
  // in the log). The cache holds 3 frames: a joiner's replay from keyframe 1 misses all
  // of chain 1 and the start of chain 2.
  V2Stream stream;
  std::vector<std::string> log;
  for (uint64_t seq = 1; seq <= 12; ++seq) {
    log.push_back(stream.frame("r", batch_json(seq), seq == 1 || seq == 4));
  }
  BatchCache cache(3);
  FrameDecoder decoder(kRun);
  decoder.set_v2(true);
  V2Receiver live, joiner;
  for (uint64_t seq = 1; seq <= 9; ++seq)
    ASSERT_EQ(live.receive(log[seq - 1], cache, decoder), seq);
  // The joiner is replayed from keyframe 1 while live frames keep coming.
  for (uint64_t seq = 1; seq <= 9; ++seq) {
    ASSERT_EQ(joiner.receive(log[seq - 1], cache, decoder), seq) << decoder.error();
    if (seq == 2) {
      ASSERT_EQ(live.receive(log[9], cache, decoder), 10u) << decoder.error();
    }
  }
  // Then the joiner is live too (frame 10 came to the live bot during the replay).
  ASSERT_EQ(joiner.receive(log[9], cache, decoder), 10u) << decoder.error();
  for (uint64_t seq = 11; seq <= 12; ++seq) {
    ASSERT_EQ(live.receive(log[seq - 1], cache, decoder), seq) << decoder.error();
    ASSERT_EQ(joiner.receive(log[seq - 1], cache, decoder), seq) << decoder.error();
  }
}

}  // namespace
}  // namespace tg::bots
