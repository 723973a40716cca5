// Tests for parsing client frames into commands.
#include "protocol/client_command.hpp"

#include <gtest/gtest.h>

namespace tg::protocol {

TEST(ClientCommand, NonObjectFrameIsAPlainMessage) {
  for (const char* frame : {"hello there", "[1,2]", "42", "\"quoted\"", "{not json"}) {
    ClientCommand c = parse_client_command(frame);
    EXPECT_EQ(c.kind, CommandKind::kMsg) << frame;
    EXPECT_EQ(c.text, frame);
    EXPECT_TRUE(c.room.empty());
  }
}

TEST(ClientCommand, ParsesMsgWithRoomAndCid) {
  ClientCommand c = parse_client_command(R"({"t":"msg","room":"lobby","text":"hi","cid":"c-17"})");
  EXPECT_EQ(c.kind, CommandKind::kMsg);
  EXPECT_EQ(c.room, "lobby");
  EXPECT_EQ(c.text, "hi");
  EXPECT_EQ(c.cid, "c-17");
}

TEST(ClientCommand, ParsesJoinLeaveNamePing) {
  ClientCommand j = parse_client_command(R"({"t":"join","room":"r","since":12})");
  EXPECT_EQ(j.kind, CommandKind::kJoin);
  EXPECT_EQ(j.room, "r");
  EXPECT_EQ(j.since, 12u);
  EXPECT_EQ(parse_client_command(R"({"t":"leave","room":"r"})").kind, CommandKind::kLeave);
  ClientCommand n = parse_client_command(R"({"t":"name","name":"alice"})");
  EXPECT_EQ(n.kind, CommandKind::kName);
  EXPECT_EQ(n.name, "alice");
  ClientCommand p = parse_client_command(R"({"t":"ping","id":7})");
  EXPECT_EQ(p.kind, CommandKind::kPing);
  EXPECT_EQ(p.ping_id, "7");
  EXPECT_EQ(parse_client_command(R"({"t":"ping","id":"x"})").ping_id, "\"x\"");
  EXPECT_EQ(parse_client_command(R"({"t":"ping"})").ping_id, "");
}

TEST(ClientCommand, MalformedObjectsAreInvalidWithAReason) {
  for (const char* frame :
       {R"({"text":"no t"})", R"({"t":"msg"})", R"({"t":"msg","text":5})", R"({"t":"join"})",
        R"({"t":"join","room":"r","since":-1})", R"({"t":"name"})", R"({"t":"ping","id":{"a":1}})",
        R"({"t":"dance"})", R"({"t":"msg","text":"x","cid":1})"}) {
    ClientCommand c = parse_client_command(frame);
    EXPECT_EQ(c.kind, CommandKind::kInvalid) << frame;
    EXPECT_FALSE(c.error.empty()) << frame;
  }
}

TEST(ClientCommand, AJoinMayNameTheEpochItsSinceIsFrom) {
  ClientCommand j =
      parse_client_command(R"({"t":"join","room":"r","since":12,"epoch":1796075178881577})");
  ASSERT_EQ(j.kind, CommandKind::kJoin);
  EXPECT_EQ(j.since, 12u);
  EXPECT_EQ(j.epoch, 1796075178881577u);
  EXPECT_FALSE(parse_client_command(R"({"t":"join","room":"r"})").epoch.has_value());
  EXPECT_EQ(parse_client_command(R"({"t":"join","room":"r","epoch":"x"})").kind,
            CommandKind::kInvalid);
}

TEST(ClientCommand, RefreshCarriesAToken) {
  ClientCommand r = parse_client_command(R"({"t":"refresh","token":"a.b.c"})");
  EXPECT_EQ(r.kind, CommandKind::kRefresh);
  EXPECT_EQ(r.token, "a.b.c");
  EXPECT_EQ(parse_client_command(R"({"t":"refresh"})").kind, CommandKind::kInvalid);
  EXPECT_EQ(parse_client_command(R"({"t":"refresh","token":""})").kind, CommandKind::kInvalid);
  EXPECT_EQ(parse_client_command(R"({"t":"refresh","token":7})").kind, CommandKind::kInvalid);
}

}  // namespace tg::protocol
