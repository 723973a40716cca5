// chat_client.cpp -- protocol v1 on top of the test WebSocket client.
#include "chat_client.hpp"

#include <rapidjson/document.h>

#include <chrono>

namespace tg::test {

namespace {
std::string str(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}
}  // namespace

bool ChatClient::connect(uint16_t port, const std::string& query, bool zstd, int rcvbuf) {
  zstd_ = zstd;
  int status =
      ws_.connect(port, "/ws" + query, zstd ? "tidegate.v1.zstd" : "tidegate.v1.json", rcvbuf);
  if (status != 101) {
    error_ = "handshake status " + std::to_string(status);
    return false;
  }
  auto m = ws_.recv(10000);
  rapidjson::Document d;
  if (m) d.Parse(m->data.c_str());
  if (!m || d.HasParseError() || !d.IsObject() || str(d, "t") != "hello") {
    error_ = "no hello";
    return false;
  }
  hello_seq_ = d["seq"].GetUint64();
  epoch_ = d["epoch"].GetUint64();
  name_ = str(d, "name");
  next_seq_ = hello_seq_ + 1;
  return true;
}

void ChatClient::handle(const WsMessage& m) {
  if (m.opcode == 8) {
    close_code_ = m.close_code;
    return;
  }
  if (m.opcode == 2 && !zstd_) error_ = "binary frame on the json subprotocol";
  rapidjson::Document d;
  d.Parse(m.data.c_str());
  if (d.HasParseError() || !d.IsObject()) {
    error_ = "not a JSON object: " + m.data.substr(0, 80);
    return;
  }
  std::string t = str(d, "t");
  if (t == "gap") {
    GapNotice g{d["from"].GetUint64(), d["to"].GetUint64()};
    if (g.from != next_seq_) error_ = "gap does not start at the next expected seq";
    gaps_.push_back(g);
    next_seq_ = g.to + 1;
  } else if (t == "batch") {
    if (m.opcode != (zstd_ ? 2 : 1)) error_ = "batch in the wrong frame type";
    for (const auto& e : d["msgs"].GetArray()) {
      uint64_t seq = e["seq"].GetUint64();
      if (seq < next_seq_) continue;  // replayed from a shared batch: already seen
      if (seq > next_seq_ && error_.empty())
        error_ = "unannounced hole: expected " + std::to_string(next_seq_) + " got " +
                 std::to_string(seq);
      next_seq_ = seq + 1;
      ChatEvent ev{seq, str(e, "t"), str(e, "from"), str(e, "text"), str(e, "cid")};
      if (ev.type == "msg") ++msg_count_;
      events_.push_back(std::move(ev));
    }
  } else {
    notices_.push_back(m.data);
  }
}

bool ChatClient::read_one(int timeout_ms) {
  auto m = ws_.recv(timeout_ms);
  if (!m) return false;
  handle(*m);
  return true;
}

bool ChatClient::read_until_msgs(size_t n, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (msg_count_ < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !read_one(static_cast<int>(left.count()))) return false;
  }
  return true;
}

int ChatClient::read_until_closed(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (close_code_ < 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return -1;
    if (!read_one(static_cast<int>(left.count()))) {
      if (ws_.closed()) return close_code_ < 0 ? 0 : close_code_;
      return -1;
    }
  }
  return close_code_;
}

std::vector<ChatEvent> ChatClient::msgs() const {
  std::vector<ChatEvent> out;
  for (const auto& e : events_)
    if (e.type == "msg") out.push_back(e);
  return out;
}

}  // namespace tg::test
