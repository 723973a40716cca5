// Tests for BatchEncoder: JSON once, zstd once, framed once, and back again.
#include "batcher/batch_encoder.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <vector>

#include "pool/ws_frame.hpp"

namespace tg::batcher {
namespace {

Inbound msg(std::string from, std::string text, std::string cid = "") {
  Inbound e;
  e.kind = InboundKind::kMsg;
  e.room = "lobby";
  e.from = std::move(from);
  e.text = std::move(text);
  e.cid = std::move(cid);
  e.ts_ms = 1700000000123;
  return e;
}

std::string payload_of(const pool::SharedFrame& f) {
  size_t h = pool::ws_header_length(f.data());
  return std::string(f.data() + h, f.size() - h);
}

}  // namespace

TEST(BatchEncoder, ZstdFrameDecodesToTheJsonBatch) {
  Inbound rename;
  rename.kind = InboundKind::kRename;
  rename.room = "lobby";
  rename.from = "robert";
  rename.text = "bob";
  std::vector<Inbound> events = {msg("alice", "hi \"there\" \xC3\xA9", "c-1"), msg("bob", "yo"),
                                 rename};
  std::vector<const Inbound*> ptrs;
  for (auto& e : events) ptrs.push_back(&e);

  BatchEncoder enc(1);
  Batch b = enc.encode("lobby", {42, 1000, 3}, ptrs, true);
  EXPECT_EQ(b.seq, 42u);
  EXPECT_EQ(b.first_msg, 1000u);
  EXPECT_EQ(b.last_msg, 1002u);
  EXPECT_EQ(b.msg_count(), 3u);
  EXPECT_EQ(static_cast<uint8_t>(b.zstd.data()[0]), 0x82);  // FIN + binary
  EXPECT_EQ(static_cast<uint8_t>(b.json.data()[0]), 0x81);  // FIN + text

  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::string json;
  ASSERT_TRUE(decompress_batch(d, payload_of(b.zstd), b.raw_bytes, json));
  ZSTD_freeDCtx(d);
  EXPECT_EQ(json, payload_of(b.json));
  EXPECT_EQ(json.size(), b.raw_bytes);

  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["t"].GetString(), "batch");
  EXPECT_STREQ(doc["room"].GetString(), "lobby");
  EXPECT_EQ(doc["seq"].GetUint64(), 42u);
  EXPECT_EQ(doc["online"].GetUint(), 3u);
  const auto& msgs = doc["msgs"];
  ASSERT_EQ(msgs.Size(), 3u);
  EXPECT_EQ(msgs[0]["seq"].GetUint64(), 1000u);
  EXPECT_STREQ(msgs[0]["t"].GetString(), "msg");
  EXPECT_STREQ(msgs[0]["text"].GetString(), "hi \"there\" \xC3\xA9");
  EXPECT_STREQ(msgs[0]["cid"].GetString(), "c-1");
  EXPECT_EQ(msgs[0]["ts"].GetInt64(), 1700000000123);
  EXPECT_FALSE(msgs[1].HasMember("cid"));
  EXPECT_STREQ(msgs[2]["t"].GetString(), "name");
  EXPECT_STREQ(msgs[2]["from"].GetString(), "robert");
  EXPECT_STREQ(msgs[2]["old"].GetString(), "bob");
}

TEST(BatchEncoder, JsonFrameIsBuiltOnlyWhenAsked) {
  Inbound e = msg("a", "b");
  const Inbound* p = &e;
  BatchEncoder enc(1);
  Batch b = enc.encode("r", {1, 1, 1}, {&p, 1}, false);
  EXPECT_TRUE(b.zstd);
  EXPECT_FALSE(b.json);
}

TEST(BatchEncoder, DecompressRejectsGarbageAndOversize) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  std::string out;
  EXPECT_FALSE(decompress_batch(d, "not zstd at all", 1000, out));
  Inbound e = msg("a", std::string(500, 'q'));
  const Inbound* p = &e;
  BatchEncoder enc(1);
  Batch b = enc.encode("r", {1, 1, 1}, {&p, 1}, false);
  EXPECT_FALSE(decompress_batch(d, payload_of(b.zstd), 10, out));
  ZSTD_freeDCtx(d);
}

}  // namespace tg::batcher
