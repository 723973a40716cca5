// Tests for WsSession fed scripted client bytes (whole and one byte at a time).
#include "ws/session.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "client/frame_builder.hpp"

namespace tg::ws {
namespace {

using client::client_frame;
using client::close_payload;

struct Frame {
  uint8_t opcode;
  std::string payload;
};

// Splits unmasked server output into frames.
std::vector<Frame> server_frames(const std::string& out) {
  std::vector<Frame> frames;
  size_t i = 0;
  while (i + 2 <= out.size()) {
    uint8_t op = out[i] & 0x0F;
    size_t len = static_cast<uint8_t>(out[i + 1]) & 0x7F;
    size_t h = 2;
    if (len == 126) {
      len = (static_cast<uint8_t>(out[i + 2]) << 8) | static_cast<uint8_t>(out[i + 3]);
      h = 4;
    }
    frames.push_back({op, out.substr(i + h, len)});
    i += h + len;
  }
  return frames;
}

uint16_t close_code(const Frame& f) {
  if (f.payload.size() < 2) return 1005;  // no status code (RFC 6455 7.1.5)
  return static_cast<uint16_t>((static_cast<uint8_t>(f.payload[0]) << 8) |
                               static_cast<uint8_t>(f.payload[1]));
}

class Recorder : public WsSession::Handler {
 public:
  void on_ws_text(std::string_view payload) override { texts.emplace_back(payload); }
  std::vector<std::string> texts;
};

class WsSessionTest : public ::testing::Test {
 protected:
  void feed(const std::string& bytes, bool one_at_a_time = false) {
    if (!one_at_a_time) {
      ASSERT_TRUE(session.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out));
      return;
    }
    for (char c : bytes) {
      auto r = session.feed(reinterpret_cast<const uint8_t*>(&c), 1, out);
      ASSERT_TRUE(r);
    }
  }
  // The close code the session sent, or 0.
  uint16_t sent_close() {
    for (const Frame& f : server_frames(out))
      if (f.opcode == 0x8) return close_code(f);
    return 0;
  }

  Recorder rec;
  WsSession session{rec, 1024};
  std::string out;
};

}  // namespace

TEST_F(WsSessionTest, DeliversTextMessages) {
  feed(client_frame(0x1, "hello") + client_frame(0x1, "world"));
  EXPECT_EQ(rec.texts, (std::vector<std::string>{"hello", "world"}));
  EXPECT_TRUE(out.empty());
}

TEST_F(WsSessionTest, DeliversTextFedOneByteAtATime) {
  feed(client_frame(0x1, std::string(300, 'a')), true);
  ASSERT_EQ(rec.texts.size(), 1u);
  EXPECT_EQ(rec.texts[0], std::string(300, 'a'));
}

TEST_F(WsSessionTest, ReassemblesFragmentsWithAPingInBetween) {
  feed(client_frame(0x1, "frag", false) + client_frame(0x9, "p") + client_frame(0x0, "men", false) +
       client_frame(0x0, "ted", true));
  EXPECT_EQ(rec.texts, (std::vector<std::string>{"fragmented"}));
  auto frames = server_frames(out);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, 0xA);  // pong
  EXPECT_EQ(frames[0].payload, "p");
}

TEST_F(WsSessionTest, AnswersClientCloseAndFinishes) {
  feed(client_frame(0x8, close_payload(1000)));
  EXPECT_TRUE(session.close_received());
  EXPECT_TRUE(session.close_sent());
  EXPECT_EQ(sent_close(), 1000);
  EXPECT_TRUE(session.finished());
}

TEST_F(WsSessionTest, UnmaskedClientFrameIsProtocolError) {
  feed(client_frame(0x1, "naked", true, false));
  EXPECT_TRUE(rec.texts.empty());
  EXPECT_EQ(sent_close(), 1002);
}

TEST_F(WsSessionTest, ReservedBitsAreProtocolError) {
  feed(client_frame(0x1, "rsv", true, true, 0x4));
  EXPECT_TRUE(rec.texts.empty());
  EXPECT_EQ(sent_close(), 1002);
}

TEST_F(WsSessionTest, UnknownOpcodeIsProtocolError) {
  feed(client_frame(0x3, "?"));
  EXPECT_EQ(sent_close(), 1002);
}

// Frames RFC 6455 makes protocol errors, which wslay alone would answer with a close
// frame carrying no status at all: the session answers them with 1002, whole or split
// at any byte, after delivering the message that came before.
TEST(WsSessionViolations, ControlFrameAndLengthViolationsAre1002) {
  struct Case {
    const char* what;
    std::string frame;
  };
  std::string top_bit = client_frame(0x1, "");
  top_bit[1] = static_cast<char>(0x80 | 127);
  top_bit.insert(2, std::string("\x80\0\0\0\0\0\0\x05", 8));
  const std::vector<Case> cases = {
      {"ping of 126 bytes", client_frame(0x9, std::string(126, 'p'))},
      {"fragmented ping", client_frame(0x9, "p", false)},
      {"fragmented close", client_frame(0x8, close_payload(1000), false)},
      {"close with a one-byte body", client_frame(0x8, "x")},
      {"64-bit length with the top bit set", top_bit},
  };
  for (const Case& c : cases) {
    for (bool bytewise : {false, true}) {
      Recorder rec;
      WsSession session(rec, 1024);
      std::string out;
      std::string bytes = client_frame(0x1, "before") + c.frame + client_frame(0x1, "after");
      size_t step = bytewise ? 1 : bytes.size();
      for (size_t i = 0; i < bytes.size(); i += step)
        ASSERT_TRUE(session.feed(reinterpret_cast<const uint8_t*>(bytes.data() + i),
                                 std::min(step, bytes.size() - i), out))
            << c.what;
      EXPECT_EQ(rec.texts, (std::vector<std::string>{"before"})) << c.what;
      auto frames = server_frames(out);
      ASSERT_EQ(frames.size(), 1u) << c.what;
      ASSERT_EQ(frames[0].opcode, 0x8) << c.what;
      EXPECT_EQ(close_code(frames[0]), 1002) << c.what << (bytewise ? " (bytewise)" : "");
      EXPECT_EQ(session.close_code_sent(), 1002) << c.what;
    }
  }
}

TEST(WsSessionViolations, CloseCodesOnlyTheRfcAllowsAreEchoed) {
  // RFC 6455 7.4: 1000-1003, 1007-1011 and 3000-4999 may be sent; 1004-1006, 1015 and
  // anything below 1000 or from 5000 on may not.
  for (uint16_t code : {999, 1004, 1005, 1006, 1012, 1015, 2999, 5000}) {
    Recorder rec;
    WsSession session(rec, 1024);
    std::string out;
    std::string f = client_frame(0x8, close_payload(code));
    ASSERT_TRUE(session.feed(reinterpret_cast<const uint8_t*>(f.data()), f.size(), out));
    EXPECT_EQ(session.close_code_sent(), 1002) << code;
  }
  for (uint16_t code : {1000, 1001, 1008, 3000, 4999}) {
    Recorder rec;
    WsSession session(rec, 1024);
    std::string out;
    std::string f = client_frame(0x8, close_payload(code));
    ASSERT_TRUE(session.feed(reinterpret_cast<const uint8_t*>(f.data()), f.size(), out));
    EXPECT_EQ(session.close_code_sent(), code);
    EXPECT_TRUE(session.finished());
  }
}

TEST_F(WsSessionTest, MessageOverTheLimitIs1009) {
  feed(client_frame(0x1, std::string(1025, 'b')));
  EXPECT_TRUE(rec.texts.empty());
  EXPECT_EQ(sent_close(), 1009);
}

TEST_F(WsSessionTest, FragmentsAddingUpOverTheLimitAre1009) {
  feed(client_frame(0x1, std::string(600, 'b'), false) + client_frame(0x0, std::string(600, 'b')));
  EXPECT_TRUE(rec.texts.empty());
  EXPECT_EQ(sent_close(), 1009);
}

TEST_F(WsSessionTest, InvalidUtf8Is1007EvenAcrossFragments) {
  // U+00E9 split between two fragments is valid...
  feed(client_frame(0x1, "caf\xC3", false) + client_frame(0x0, "\xA9"));
  EXPECT_EQ(rec.texts, (std::vector<std::string>{"caf\xC3\xA9"}));
  // ...a stray continuation byte is not.
  feed(client_frame(0x1, "bad \x80 byte"));
  EXPECT_EQ(rec.texts.size(), 1u);
  EXPECT_EQ(sent_close(), 1007);
}

TEST_F(WsSessionTest, BinaryMessagesAreRefusedWith1003) {
  feed(client_frame(0x2, "bin"));
  EXPECT_EQ(sent_close(), 1003);
}

TEST_F(WsSessionTest, ServerCloseSendsTheCodeOnce) {
  session.close(1001, "server shutting down", out);
  session.close(1000, "again", out);
  auto frames = server_frames(out);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(close_code(frames[0]), 1001);
  EXPECT_EQ(frames[0].payload.substr(2), "server shutting down");
  EXPECT_EQ(session.close_code_sent(), 1001);
  EXPECT_FALSE(session.finished());  // waiting for the client's close
  feed(client_frame(0x8, close_payload(1001)));
  EXPECT_TRUE(session.finished());
}

// wslay's context exists only while the session needs it: from the first bytes to the
// next point between messages where release_idle() is called.
TEST_F(WsSessionTest, IdleSessionHoldsNoContext) {
  EXPECT_FALSE(session.holds_context());
  EXPECT_FALSE(session.close_sent());
  EXPECT_FALSE(session.close_received());
  EXPECT_EQ(session.close_code_sent(), 0);
  EXPECT_FALSE(session.finished());
  feed(client_frame(0x1, "hello"));
  EXPECT_TRUE(session.holds_context());
  EXPECT_TRUE(session.release_idle());
  EXPECT_FALSE(session.holds_context());
  feed(client_frame(0x1, "again"));  // a fresh context picks up where the old one was
  EXPECT_EQ(rec.texts, (std::vector<std::string>{"hello", "again"}));
}

TEST_F(WsSessionTest, ContextIsKeptWhileAMessageIsInProgressAndReleasedAfter) {
  std::string first = client_frame(0x1, "frag", false);
  std::string rest = client_frame(0x9, "p") + client_frame(0x0, "ment", true);
  feed(first);
  EXPECT_FALSE(session.release_idle()) << "a fragmented message is in progress";
  EXPECT_TRUE(session.holds_context());
  feed(rest.substr(0, 3));  // the ping frame, cut short
  EXPECT_FALSE(session.release_idle());
  feed(rest.substr(3));
  EXPECT_EQ(rec.texts, (std::vector<std::string>{"fragment"}));
  EXPECT_TRUE(session.release_idle()) << "the message is complete";
  EXPECT_FALSE(session.holds_context());
  std::string half = client_frame(0x1, "split in two");
  feed(half.substr(0, 5));  // part of a single frame: its state is in the context
  EXPECT_FALSE(session.release_idle());
  feed(half.substr(5));
  EXPECT_TRUE(session.release_idle());
  EXPECT_EQ(rec.texts.back(), "split in two");
}

TEST_F(WsSessionTest, ContextIsKeptOnceClosing) {
  feed(client_frame(0x8, close_payload(1000)));
  EXPECT_FALSE(session.release_idle());
  EXPECT_TRUE(session.close_received());
  EXPECT_EQ(session.close_code_sent(), 1000);
}

// Releasing after every single byte changes nothing a client can see: the same
// messages, the same replies, the same close codes as a session that keeps its context.
TEST(WsSessionRelease, ReleasingAfterEveryByteAnswersLikeKeeping) {
  std::string top_bit = client_frame(0x1, "");
  top_bit[1] = static_cast<char>(0x80 | 127);
  top_bit.insert(2, std::string("\x80\0\0\0\0\0\0\x05", 8));
  const std::vector<std::string> streams = {
      client_frame(0x1, "a") + client_frame(0x1, std::string(300, 'b')) + client_frame(0x9, "p"),
      client_frame(0x1, "frag", false) + client_frame(0xA, "unasked pong") +
          client_frame(0x0, "men", false) + client_frame(0x0, "ted") + client_frame(0x1, "next"),
      client_frame(0x1, "caf\xC3", false) + client_frame(0x0, "\xA9") +
          client_frame(0x1, "bad \x80"),
      client_frame(0x1, std::string(600, 'x'), false) + client_frame(0x0, std::string(600, 'x')),
      client_frame(0x1, "ok") + client_frame(0x0, "continuation with nothing to continue"),
      client_frame(0x1, "ok") + client_frame(0x9, std::string(126, 'p')),
      client_frame(0x1, "ok") + top_bit,
      client_frame(0x1, "ok") + client_frame(0x1, "naked", true, false),
      client_frame(0x1, "ok") + client_frame(0x1, "rsv", true, true, 0x4),
      client_frame(0x1, "ok") + client_frame(0x2, "binary"),
      client_frame(0x1, "ok") + client_frame(0x1, std::string(1025, 'b')),
      client_frame(0x1, "bye") + client_frame(0x8, close_payload(1001)) + client_frame(0x1, "late"),
  };
  for (const std::string& bytes : streams) {
    Recorder kept_rec, released_rec;
    WsSession kept(kept_rec, 1024), released(released_rec, 1024);
    std::string kept_out, released_out;
    for (char c : bytes) {
      auto* b = reinterpret_cast<const uint8_t*>(&c);
      bool kept_ok = static_cast<bool>(kept.feed(b, 1, kept_out));
      bool released_ok = static_cast<bool>(released.feed(b, 1, released_out));
      released.release_idle();
      ASSERT_EQ(kept_ok, released_ok);
    }
    EXPECT_EQ(kept_rec.texts, released_rec.texts);
    EXPECT_EQ(kept_out, released_out);
    EXPECT_EQ(kept.close_code_sent(), released.close_code_sent());
    EXPECT_EQ(kept.finished(), released.finished());
  }
}

}  // namespace tg::ws
