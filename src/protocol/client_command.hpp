// client_command.hpp -- ClientCommand: one text frame from a client, parsed (rapidjson)
// into what it asks for. Pure: no I/O, no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tg::protocol {

enum class CommandKind { kMsg, kJoin, kLeave, kName, kPing, kRefresh, kInvalid };

struct ClientCommand {
  CommandKind kind = CommandKind::kInvalid;
  std::string room;               // kMsg (empty: current room), kJoin, kLeave
  std::string text;               // kMsg
  std::string cid;                // kMsg, optional
  std::string name;               // kName
  std::optional<uint64_t> since;  // kJoin, optional
  std::optional<uint64_t> epoch;  // kJoin, optional: the epoch `since` was learnt in
  std::string ping_id;            // kPing: the id as JSON text ("7", "\"a\""), or empty
  std::string token;              // kRefresh: the new token, unverified
  std::string error;              // kInvalid: why, for the error notice
};

// Parses a client's text frame. A frame that is not a JSON object is a chat message
// to the current room with the frame as its text (docs/PROTOCOL.md).
ClientCommand parse_client_command(std::string_view frame);

}  // namespace tg::protocol
