// client_command.cpp -- parsing client frames with rapidjson.
#include "protocol/client_command.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace tg::protocol {

namespace {

constexpr size_t kMaxCidBytes = 64;
constexpr size_t kMaxPingIdBytes = 64;

using Object = rapidjson::Value::ConstObject;

// Reads an optional string member. Returns false when present but not a string.
bool get_string(const Object& obj, const char* key, std::string& out) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return true;
  if (!it->value.IsString()) return false;
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

ClientCommand invalid(const char* why) {
  ClientCommand c;
  c.error = why;
  return c;
}

ClientCommand parse_object(const Object& obj) {
  std::string t;
  if (!get_string(obj, "t", t) || t.empty()) return invalid("missing \"t\"");
  ClientCommand c;
  if (t == "msg") {
    c.kind = CommandKind::kMsg;
    auto text = obj.FindMember("text");
    if (text == obj.MemberEnd() || !text->value.IsString()) return invalid("msg needs \"text\"");
    c.text.assign(text->value.GetString(), text->value.GetStringLength());
    if (!get_string(obj, "room", c.room) || !get_string(obj, "cid", c.cid))
      return invalid("\"room\" and \"cid\" must be strings");
    if (c.cid.size() > kMaxCidBytes) return invalid("\"cid\" is too long");
  } else if (t == "join" || t == "leave") {
    c.kind = t == "join" ? CommandKind::kJoin : CommandKind::kLeave;
    if (!get_string(obj, "room", c.room) || c.room.empty()) return invalid("needs \"room\"");
    auto since = obj.FindMember("since");
    if (since != obj.MemberEnd()) {
      if (!since->value.IsUint64()) return invalid("\"since\" must be a message seq");
      c.since = since->value.GetUint64();
    }
    auto epoch = obj.FindMember("epoch");
    if (epoch != obj.MemberEnd()) {
      if (!epoch->value.IsUint64()) return invalid("\"epoch\" must be a number");
      c.epoch = epoch->value.GetUint64();
    }
  } else if (t == "name") {
    c.kind = CommandKind::kName;
    if (!get_string(obj, "name", c.name) || c.name.empty()) return invalid("needs \"name\"");
  } else if (t == "ping") {
    c.kind = CommandKind::kPing;
    auto id = obj.FindMember("id");
    if (id != obj.MemberEnd()) {
      if (!id->value.IsNumber() && !id->value.IsString()) return invalid("bad ping id");
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      id->value.Accept(w);
      if (sb.GetSize() > kMaxPingIdBytes) return invalid("ping id is too long");
      c.ping_id.assign(sb.GetString(), sb.GetSize());
    }
  } else if (t == "refresh") {
    c.kind = CommandKind::kRefresh;
    if (!get_string(obj, "token", c.token) || c.token.empty()) return invalid("needs \"token\"");
  } else {
    return invalid("unknown \"t\"");
  }
  return c;
}

}  // namespace

ClientCommand parse_client_command(std::string_view frame) {
  rapidjson::Document doc;
  doc.Parse(frame.data(), frame.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    ClientCommand c;
    c.kind = CommandKind::kMsg;
    c.text.assign(frame);
    return c;
  }
  const rapidjson::Document& cdoc = doc;
  return parse_object(cdoc.GetObject());
}

}  // namespace tg::protocol
