// Tests for server frame headers (RFC 6455 5.2 length encodings).
#include "pool/ws_frame.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tg::pool {

TEST(WsFrame, HeaderUsesTheShortestLengthEncoding) {
  uint8_t h[kMaxWsHeader];
  EXPECT_EQ(write_ws_header(WsOpcode::kText, 125, h), 2u);
  EXPECT_EQ(h[0], 0x81);
  EXPECT_EQ(h[1], 125);
  EXPECT_EQ(write_ws_header(WsOpcode::kBinary, 126, h), 4u);
  EXPECT_EQ(h[0], 0x82);
  EXPECT_EQ(h[1], 126);
  EXPECT_EQ((h[2] << 8) | h[3], 126);
  EXPECT_EQ(write_ws_header(WsOpcode::kBinary, 65535, h), 4u);
  EXPECT_EQ(write_ws_header(WsOpcode::kBinary, 65536, h), 10u);
  EXPECT_EQ(h[1], 127);
  EXPECT_EQ(h[7], 0x01);  // 65536 = 0x00..010000
  EXPECT_EQ(h[8], 0x00);
  EXPECT_EQ(h[9], 0x00);
}

TEST(WsFrame, FrameIsUnmaskedHeaderPlusPayload) {
  std::string payload(300, 'z');
  SharedFrame f = make_ws_frame(WsOpcode::kText, payload);
  ASSERT_EQ(f.size(), 4 + payload.size());
  EXPECT_EQ(static_cast<uint8_t>(f.data()[1]) & 0x80, 0);  // mask bit clear
  EXPECT_EQ(ws_header_length(f.data()), 4u);
  EXPECT_EQ(std::string(f.data() + 4, payload.size()), payload);

  std::string out;
  append_ws_frame(WsOpcode::kText, "hi", out);
  EXPECT_EQ(out, std::string("\x81\x02hi", 4));
}

}  // namespace tg::pool

namespace tg::pool {

TEST(WsFrame, CompressedFramesHaveRsv1AndTheSameLength) {
  SharedFrame plain = make_ws_frame(WsOpcode::kText, "abc");
  SharedFrame deflated = make_ws_frame(WsOpcode::kText, "abc", true);
  EXPECT_EQ(static_cast<uint8_t>(plain.data()[0]), 0x81);
  EXPECT_EQ(static_cast<uint8_t>(deflated.data()[0]), 0xC1);  // FIN, RSV1, text
  EXPECT_EQ(deflated.view().substr(1), plain.view().substr(1));
  EXPECT_EQ(ws_header_length(deflated.data()), 2u);
}

}  // namespace tg::pool
