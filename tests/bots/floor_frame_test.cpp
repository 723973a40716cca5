// floor_frame_test.cpp -- the frame tidegate-floor pre-builds is one valid server frame.
#include "bots/floor/frame.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "client/ws_codec.hpp"

namespace tg::fanout {
namespace {

// What the swarm's own WebSocket codec makes of some bytes from the server.
struct Received : client::WsCodec::Handler {
  std::vector<std::pair<bool, std::string>> messages;
  void on_ws_message(bool binary, std::span<const uint8_t> data) override {
    messages.emplace_back(binary, std::string(data.begin(), data.end()));
  }
  void on_ws_close(uint16_t) override {}
};

TEST(FloorFrame, IsOneBinaryFrameOfThePayloadSizeForEveryLengthEncoding) {
  // 7-bit, 16-bit and 64-bit payload lengths (RFC 6455 5.2), and their edges.
  for (size_t payload : {size_t{0}, size_t{1}, size_t{125}, size_t{126}, size_t{65535},
                         size_t{65536}, size_t{100000}}) {
    const std::string frame = build_binary_frame(payload, 7);
    const size_t header = payload < 126 ? 2 : payload <= 65535 ? 4 : 10;
    ASSERT_EQ(frame.size(), header + payload) << payload;
    EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x82) << payload;      // FIN, binary
    EXPECT_EQ(static_cast<uint8_t>(frame[1]) & 0x80, 0) << payload;  // not masked

    Received got;
    client::WsCodec codec(got, 1);
    ASSERT_TRUE(codec.feed({reinterpret_cast<const uint8_t*>(frame.data()), frame.size()}));
    ASSERT_EQ(got.messages.size(), 1u) << payload;
    EXPECT_TRUE(got.messages[0].first);
    EXPECT_EQ(got.messages[0].second, frame.substr(header)) << payload;
  }
}

TEST(FloorFrame, PayloadDependsOnTheSeedOnly) {
  EXPECT_EQ(build_binary_frame(300, 1), build_binary_frame(300, 1));
  EXPECT_NE(build_binary_frame(300, 1), build_binary_frame(300, 2));
}

TEST(FloorFrame, PayloadLooksRandom) {
  // Not a run of one byte, which compression or the kernel would treat unlike a batch.
  const std::string frame = build_binary_frame(4096, 3);
  std::vector<int> seen(256, 0);
  for (size_t i = 4; i < frame.size(); ++i) ++seen[static_cast<uint8_t>(frame[i])];
  int distinct = 0;
  for (int n : seen) distinct += n > 0;
  EXPECT_GT(distinct, 200);
}

}  // namespace
}  // namespace tg::fanout
