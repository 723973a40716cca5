// ws_codec_test.cpp -- WsCodec fed scripted server frames (also byte by byte) and its masked
// output.
#include "client/ws_codec.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/frame_builder.hpp"

namespace tg::client {
namespace {

struct Recorder : WsCodec::Handler {
  std::vector<std::pair<bool, std::string>> messages;
  std::vector<uint16_t> closes;
  void on_ws_message(bool binary, std::span<const uint8_t> data) override {
    messages.emplace_back(binary, std::string(data.begin(), data.end()));
  }
  void on_ws_close(uint16_t status) override { closes.push_back(status); }
};

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// An unmasked frame, as a server sends them (RFC 6455 §5.1).
std::string frame(uint8_t opcode, const std::string& payload) {
  return client_frame(opcode, payload, true, false);
}

// Decodes one masked client frame; returns its unmasked payload.
std::string unmask(const std::string& f, uint8_t* opcode) {
  *opcode = static_cast<uint8_t>(f[0]) & 0x0F;
  EXPECT_TRUE(static_cast<uint8_t>(f[1]) & 0x80) << "client frames must be masked";
  const size_t len = static_cast<uint8_t>(f[1]) & 0x7F;
  EXPECT_LT(len, 126u);
  std::string out;
  for (size_t i = 0; i < len; ++i) out += static_cast<char>(f[6 + i] ^ f[2 + i % 4]);
  EXPECT_EQ(f.size(), 6 + len);
  return out;
}

TEST(WsCodec, DeliversTextAndBinaryMessages) {
  Recorder r;
  WsCodec codec(r, 42);
  const std::string big(300, 'z');
  ASSERT_TRUE(codec.feed(bytes(frame(0x1, "hello") + frame(0x2, big))));
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0], std::make_pair(false, std::string("hello")));
  EXPECT_EQ(r.messages[1], std::make_pair(true, big));
}

TEST(WsCodec, DeliversWhenFedOneByteAtATime) {
  Recorder r;
  WsCodec codec(r, 42);
  const std::string wire = frame(0x1, "abc") + frame(0x2, std::string(200, 'q'));
  for (char c : wire) ASSERT_TRUE(codec.feed(bytes(std::string(1, c))));
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].second, "abc");
  EXPECT_EQ(r.messages[1].second.size(), 200u);
}

TEST(WsCodec, ReassemblesFragments) {
  Recorder r;
  WsCodec codec(r, 1);
  std::string first = frame(0x1, "hel");
  first[0] = 0x01;  // FIN clear
  ASSERT_TRUE(codec.feed(bytes(first + frame(0x0, "lo"))));
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].second, "hello");
}

TEST(WsCodec, QueuedTextIsOneMaskedFrame) {
  Recorder r;
  WsCodec codec(r, 99);
  ASSERT_TRUE(codec.queue_text(R"({"t":"ping","id":1})"));
  std::string out;
  ASSERT_TRUE(codec.drain(out));
  uint8_t opcode = 0;
  EXPECT_EQ(unmask(out, &opcode), R"({"t":"ping","id":1})");
  EXPECT_EQ(opcode, 0x1);
  EXPECT_EQ(static_cast<uint8_t>(out[0]) & 0x80, 0x80);  // FIN
}

TEST(WsCodec, AnswersPingWithPong) {
  Recorder r;
  WsCodec codec(r, 5);
  ASSERT_TRUE(codec.feed(bytes(frame(0x9, "p1"))));
  std::string out;
  ASSERT_TRUE(codec.drain(out));
  uint8_t opcode = 0;
  EXPECT_EQ(unmask(out, &opcode), "p1");
  EXPECT_EQ(opcode, 0xA);
}

TEST(WsCodec, ServerCloseIsReportedAndAnswered) {
  Recorder r;
  WsCodec codec(r, 5);
  ASSERT_TRUE(codec.feed(bytes(frame(0x8, std::string("\x03\xe9", 2)))));  // 1001
  ASSERT_EQ(r.closes.size(), 1u);
  EXPECT_EQ(r.closes[0], 1001);
  std::string out;
  ASSERT_TRUE(codec.drain(out));
  uint8_t opcode = 0;
  unmask(out, &opcode);
  EXPECT_EQ(opcode, 0x8);
  EXPECT_TRUE(codec.finished());
}

TEST(WsCodec, MaskedServerFrameIsAProtocolError) {
  Recorder r;
  WsCodec codec(r, 5);
  std::string f = frame(0x1, "hi");
  f[1] = static_cast<char>(0x80 | 2);
  f.insert(2, std::string(4, '\0'));  // RFC 6455 §5.1: a client closes on a masked frame
  const bool ok = codec.feed(bytes(f));
  std::string out;
  const bool drained = codec.drain(out);
  EXPECT_TRUE(r.messages.empty());
  EXPECT_TRUE(!ok || (drained && !out.empty() && (static_cast<uint8_t>(out[0]) & 0x0F) == 0x8));
}

TEST(WsCodec, RawBytesKeepTheirPlaceAmongQueuedFrames) {
  Recorder r;
  WsCodec codec(r, 3);
  const std::string raw = client_frame(0x1, "bad", true, false);  // unmasked: malformed
  ASSERT_TRUE(codec.queue_text("a"));
  ASSERT_TRUE(codec.queue_raw(raw));
  ASSERT_TRUE(codec.queue_text("b"));
  std::string out;
  ASSERT_TRUE(codec.drain(out));
  ASSERT_EQ(out.size(), 7 + raw.size() + 7);
  uint8_t opcode = 0;
  EXPECT_EQ(unmask(out.substr(0, 7), &opcode), "a");
  EXPECT_EQ(out.substr(7, raw.size()), raw);
  EXPECT_EQ(unmask(out.substr(7 + raw.size()), &opcode), "b");
  out.clear();
  ASSERT_TRUE(codec.drain(out));
  EXPECT_TRUE(out.empty());  // each byte goes out once
}

TEST(WsCodec, RawBytesAreRefusedOnceTheCloseIsSent) {
  Recorder r;
  WsCodec codec(r, 3);
  ASSERT_TRUE(codec.queue_raw(client_frame(0x8, close_payload(1000))));
  std::string out;
  ASSERT_TRUE(codec.drain(out));
  EXPECT_FALSE(codec.finished());  // wslay did not see the raw close
  ASSERT_TRUE(codec.queue_close(1000));
  ASSERT_TRUE(codec.drain(out));
  EXPECT_FALSE(codec.queue_raw("x"));
}

}  // namespace
}  // namespace tg::client
