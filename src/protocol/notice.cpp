// notice.cpp -- JSON (rapidjson) and framing of direct notices.
#include "protocol/notice.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "pool/ws_frame.hpp"

namespace tg::protocol {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void str(Writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

// Runs `fill` between StartObject/EndObject after a "t" member, and frames the result.
template <typename Fill>
void append_notice(std::string& out, std::string_view type, Fill&& fill) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  w.Key("t");
  str(w, type);
  fill(w);
  w.EndObject();
  pool::append_ws_frame(pool::WsOpcode::kText, {sb.GetString(), sb.GetSize()}, out);
}

}  // namespace

void append_hello(std::string& out, const HelloInfo& h) {
  append_notice(out, "hello", [&](Writer& w) {
    w.Key("id");
    w.Uint64(h.id);
    w.Key("name");
    str(w, h.name);
    w.Key("room");
    str(w, h.room);
    w.Key("seq");
    w.Uint64(h.seq);
    w.Key("window_ms");
    w.Double(h.window_ms);
    w.Key("proto");
    str(w, h.proto);
    w.Key("epoch");
    w.Uint64(h.epoch);
  });
}

void append_pong(std::string& out, std::string_view id_json, double window_ms) {
  append_notice(out, "pong", [&](Writer& w) {
    if (!id_json.empty()) {
      w.Key("id");
      w.RawValue(id_json.data(), id_json.size(), rapidjson::kNumberType);
    }
    w.Key("window_ms");
    w.Double(window_ms);
  });
}

void append_joined(std::string& out, std::string_view room, uint64_t seq, uint64_t epoch) {
  append_notice(out, "joined", [&](Writer& w) {
    w.Key("room");
    str(w, room);
    w.Key("seq");
    w.Uint64(seq);
    if (epoch != 0) {
      w.Key("epoch");
      w.Uint64(epoch);
    }
  });
}

void append_left(std::string& out, std::string_view room) {
  append_notice(out, "left", [&](Writer& w) {
    w.Key("room");
    str(w, room);
  });
}

void append_named(std::string& out, std::string_view name) {
  append_notice(out, "named", [&](Writer& w) {
    w.Key("name");
    str(w, name);
  });
}

void append_refreshed(std::string& out, int64_t exp) {
  append_notice(out, "refreshed", [&](Writer& w) {
    if (exp != 0) {
      w.Key("exp");
      w.Int64(exp);
    }
  });
}

void append_error(std::string& out, std::string_view code, std::string_view reason) {
  append_error(out, code, reason, {});
}

void append_error(std::string& out, std::string_view code, std::string_view reason,
                  std::string_view cid) {
  append_notice(out, "error", [&](Writer& w) {
    w.Key("code");
    str(w, code);
    w.Key("reason");
    str(w, reason);
    if (!cid.empty()) {
      w.Key("cid");
      str(w, cid);
    }
  });
}

void append_gap(std::string& out, std::string_view room, uint64_t from, uint64_t to) {
  append_notice(out, "gap", [&](Writer& w) {
    w.Key("room");
    str(w, room);
    w.Key("from");
    w.Uint64(from);
    w.Key("to");
    w.Uint64(to);
  });
}

}  // namespace tg::protocol
