// Tests for permessage-deflate (RFC 7692): choosing among offers, the answer, the codecs,
// and WsSession inflating compressed client messages.
#include "ws/deflate.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "client/frame_builder.hpp"
#include "common/upgrade_request.hpp"
#include "ws/session.hpp"

namespace tg::ws {
namespace {

using client::client_frame;

std::optional<DeflateParams> offer(std::initializer_list<std::string> headers) {
  http::HttpRequest r = test::upgrade_request();
  for (const std::string& h : headers) r.headers.emplace_back("sec-websocket-extensions", h);
  return choose_deflate(r);
}

// A client's side: raw deflate of `text`, sync flush, tail removed (RFC 7692 7.2.1).
std::string client_deflate(const std::string& text, int level = Z_DEFAULT_COMPRESSION) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, text.size()) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  EXPECT_EQ(out.substr(out.size() - 4), std::string("\x00\x00\xff\xff", 4));
  out.resize(out.size() - 4);
  return out;
}

// What a client does with a server payload: put the tail back and inflate.
std::string client_inflate(const std::string& payload, int window_bits = 15) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -window_bits), Z_OK);
  std::string in = payload + std::string("\x00\x00\xff\xff", 4);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rv = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(rv == Z_OK || rv == Z_STREAM_END);
  EXPECT_EQ(z.avail_in, 0u);
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

TEST(DeflateOffer, NoHeaderOrOtherExtensionsMeanNone) {
  EXPECT_FALSE(offer({}));
  EXPECT_FALSE(offer({"x-webkit-deflate-frame", "permessage-foo; bar"}));
}

TEST(DeflateOffer, BrowsersPlainOfferIsAcceptedWithBothNoContextTakeovers) {
  auto p = offer({"permessage-deflate; client_max_window_bits"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_window_bits, 15);
  EXPECT_EQ(deflate_answer(*p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}

TEST(DeflateOffer, ServerWindowBitsAreHonouredAndAnswered) {
  auto p = offer({"permessage-deflate; server_max_window_bits=10; client_no_context_takeover"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_window_bits, 10);
  EXPECT_EQ(deflate_answer(*p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10");
  auto q = offer({"permessage-deflate; server_max_window_bits=\"12\""});  // quoted form
  ASSERT_TRUE(q);
  EXPECT_EQ(q->server_window_bits, 12);
}

TEST(DeflateOffer, TheFirstAcceptableOfferWins) {
  // Declined in turn: 8 bits (zlib cannot), an unknown parameter, a duplicate.
  auto p = offer({"permessage-deflate; server_max_window_bits=8, permessage-deflate; foo",
                  "permessage-deflate; server_no_context_takeover; server_no_context_takeover, "
                  "permessage-deflate; server_max_window_bits=11, permessage-deflate"});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_window_bits, 11);
}

TEST(DeflateOffer, MalformedParametersDeclineTheOffer) {
  for (const char* bad :
       {"permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=x",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=15; client_max_window_bits",
        "permessage-deflate; client_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover=\"\"",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover"})
    EXPECT_FALSE(offer({bad})) << bad;
  EXPECT_TRUE(offer({"Permessage-Deflate ; Client_Max_Window_Bits = 9"}));
}

TEST(DeflateCodec, DeflatedMessagesInflateBackForEveryWindow) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += R"({"type":"msg","seq":)" + std::to_string(i) + "}";
  for (int bits = kMinServerWindowBits; bits <= kMaxWindowBits; ++bits) {
    MessageDeflater d(bits, 6);
    std::string payload;
    d.compress(text, payload);
    EXPECT_LT(payload.size(), text.size() / 4);
    EXPECT_EQ(client_inflate(payload, bits), text) << bits;
    std::string again;  // no context takeover: the same bytes every time
    d.compress(text, again);
    EXPECT_EQ(again, payload);
  }
}

TEST(DeflateCodec, InflaterIsBoundedAndRejectsGarbage) {
  MessageInflater inf;
  std::string text(5000, 'a');
  std::string payload = client_deflate(text);
  EXPECT_EQ(inf.inflate(payload, 5000), MessageInflater::Result::kOk);
  EXPECT_EQ(inf.output(), text);
  EXPECT_EQ(inf.inflate(payload, 4999), MessageInflater::Result::kTooBig);
  EXPECT_LE(inf.output().size(), 5000u);
  // A bomb: 10 MiB of zeros in about 10 KiB, against a 1 MiB limit.
  std::string bomb = client_deflate(std::string(10 << 20, '\0'), 9);
  EXPECT_LT(bomb.size(), 20000u);
  EXPECT_EQ(inf.inflate(bomb, 1 << 20), MessageInflater::Result::kTooBig);
  EXPECT_LE(inf.output().size(), (1u << 20) + 1);
  EXPECT_EQ(inf.inflate(std::string("\xff\xff\xff\xff", 4), 1000),
            MessageInflater::Result::kCorrupt);
  // The inflater is reset for every message: a good one after garbage inflates.
  EXPECT_EQ(inf.inflate(client_deflate("hi"), 1000), MessageInflater::Result::kOk);
  EXPECT_EQ(inf.output(), "hi");
}

class Recorder : public WsSession::Handler {
 public:
  void on_ws_text(std::string_view payload) override { texts.emplace_back(payload); }
  std::vector<std::string> texts;
};

// The status code of the first close frame in unmasked server output, or 0.
uint16_t first_close(const std::string& out) {
  size_t i = 0;
  while (i + 2 <= out.size()) {
    uint8_t op = out[i] & 0x0F;
    size_t len = static_cast<uint8_t>(out[i + 1]) & 0x7F;
    if (op == 0x8)
      return len < 2 ? 1005
                     : static_cast<uint16_t>((static_cast<uint8_t>(out[i + 2]) << 8) |
                                             static_cast<uint8_t>(out[i + 3]));
    i += 2 + len;
  }
  return 0;
}

struct DeflateSession {
  explicit DeflateSession(bool deflate) {
    if (deflate) session.enable_deflate(inflater);
  }
  uint16_t feed(const std::string& bytes) {
    EXPECT_TRUE(session.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out));
    return first_close(out);
  }
  MessageInflater inflater;
  Recorder rec;
  WsSession session{rec, 1024};
  std::string out;
};

TEST(DeflateSession, CompressedAndPlainMessagesAreDelivered) {
  DeflateSession s(true);
  EXPECT_EQ(s.feed(client_frame(0x1, client_deflate("hello"), true, true, 0x4) +
                   client_frame(0x1, "plain") +
                   // RSV1 on the first frame only, for the whole message (RFC 7692 6.1)
                   client_frame(0x1, client_deflate("fragmented").substr(0, 3), false, true, 0x4) +
                   client_frame(0x0, client_deflate("fragmented").substr(3))),
            0);
  EXPECT_EQ(s.rec.texts, (std::vector<std::string>{"hello", "plain", "fragmented"}));
}

TEST(DeflateSession, RsvOneWithoutDeflateIsAProtocolError) {
  DeflateSession s(false);
  EXPECT_EQ(s.feed(client_frame(0x1, client_deflate("hello"), true, true, 0x4)), 1002);
  EXPECT_TRUE(s.rec.texts.empty());
}

TEST(DeflateSession, RsvOneOnControlOrContinuationFramesIsAProtocolError) {
  DeflateSession ping(true);
  EXPECT_EQ(ping.feed(client_frame(0x9, "x", true, true, 0x4)), 1002);
  DeflateSession cont(true);
  EXPECT_EQ(cont.feed(client_frame(0x1, "ab", false) + client_frame(0x0, "c", true, true, 0x4)),
            1002);
  EXPECT_TRUE(cont.rec.texts.empty());
}

TEST(DeflateSession, ABombIs1009AndGarbageIs1007) {
  DeflateSession bomb(true);  // 512 KiB of 0x61 in less than the 1024-byte limit
  std::string payload = client_deflate(std::string(512 << 10, 0x61), 9);
  ASSERT_LT(payload.size(), 1024u);
  EXPECT_EQ(bomb.feed(client_frame(0x1, payload, true, true, 0x4)), 1009);
  EXPECT_TRUE(bomb.rec.texts.empty());
  DeflateSession bad(true);
  EXPECT_EQ(bad.feed(client_frame(0x1, std::string("\xff\xff\xff\xff", 4), true, true, 0x4)), 1007);
  DeflateSession utf8(true);  // inflated text is checked as UTF-8 too
  EXPECT_EQ(utf8.feed(client_frame(0x1, client_deflate("\xc3"), true, true, 0x4)), 1007);
}

}  // namespace
}  // namespace tg::ws
