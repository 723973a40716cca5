// frame_builder_test.cpp -- client_frame() against RFC 6455's own frame bytes (§5.7), its
// masking and reserved bits, and its frames read back by WsCodec.
#include "client/frame_builder.hpp"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "client/ws_codec.hpp"

namespace tg::client {
namespace {

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0F];
  }
  return out;
}

TEST(FrameBuilder, UnmaskedFramesAreTheRfcExamples) {
  EXPECT_EQ(hex(client_frame(0x1, "Hello", true, false)), "810548656c6c6f");
  EXPECT_EQ(hex(client_frame(0x1, "Hel", false, false)), "010348656c");
  EXPECT_EQ(hex(client_frame(0x0, "lo", true, false)), "80026c6f");
  EXPECT_EQ(hex(client_frame(0x9, "Hello", true, false)), "890548656c6c6f");
}

TEST(FrameBuilder, LengthTakesTheSixteenAndSixtyFourBitForms) {
  const std::string f256 = client_frame(0x2, std::string(256, 'x'), true, false);
  EXPECT_EQ(hex(f256.substr(0, 4)), "827e0100");
  EXPECT_EQ(f256.size(), 4u + 256);
  const std::string f64k = client_frame(0x2, std::string(65536, 'x'), true, false);
  EXPECT_EQ(hex(f64k.substr(0, 10)), "827f0000000000010000");
  EXPECT_EQ(f64k.size(), 10u + 65536);
  EXPECT_EQ(hex(client_frame(0x2, std::string(65535, 'x'), true, false).substr(0, 4)), "827effff");
}

TEST(FrameBuilder, MasksWithTheFixedKey) {
  const std::string f = client_frame(0x1, "Hello");
  ASSERT_EQ(f.size(), 2u + 4 + 5);
  EXPECT_EQ(hex(f.substr(0, 6)), "818512345678");
  std::string payload;
  for (size_t i = 0; i < 5; ++i) payload += static_cast<char>(f[6 + i] ^ f[2 + i % 4]);
  EXPECT_EQ(payload, "Hello");
  // The mask bit and key come after the 16-bit length too.
  EXPECT_EQ(hex(client_frame(0x1, std::string(126, 'a')).substr(0, 8)), "81fe007e12345678");
}

TEST(FrameBuilder, SetsReservedBitsAndKeepsFieldsInTheirBits) {
  EXPECT_EQ(hex(client_frame(0x1, "", true, true, 0x4).substr(0, 2)), "c180");
  EXPECT_EQ(hex(client_frame(0x1, "", false, false, 0x7).substr(0, 2)), "7100");
  EXPECT_EQ(hex(client_frame(0x13, "", true, false, 0x9).substr(0, 2)), "9300");
}

TEST(FrameBuilder, ClosePayloadIsTheCodeInNetworkOrder) {
  EXPECT_EQ(hex(close_payload(1000)), "03e8");
  EXPECT_EQ(hex(close_payload(5000)), "1388");
}

struct Messages : WsCodec::Handler {
  std::vector<std::string> texts;
  std::vector<uint16_t> closes;
  void on_ws_message(bool, std::span<const uint8_t> data) override {
    texts.emplace_back(data.begin(), data.end());
  }
  void on_ws_close(uint16_t status) override { closes.push_back(status); }
};

TEST(FrameBuilder, UnmaskedFramesReadBackThroughTheCodec) {
  Messages m;
  WsCodec codec(m, 7);
  const std::string big(70000, 'b');
  const std::string wire =
      client_frame(0x1, "frag", false, false) + client_frame(0x0, "mented", true, false) +
      client_frame(0x2, big, true, false) + client_frame(0x8, close_payload(1001), true, false);
  ASSERT_TRUE(codec.feed({reinterpret_cast<const uint8_t*>(wire.data()), wire.size()}));
  ASSERT_EQ(m.texts.size(), 2u);
  EXPECT_EQ(m.texts[0], "fragmented");
  EXPECT_EQ(m.texts[1], big);
  ASSERT_EQ(m.closes.size(), 1u);
  EXPECT_EQ(m.closes[0], 1001);
}

}  // namespace
}  // namespace tg::client
