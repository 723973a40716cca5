// chat_client.hpp -- ChatClient: a WsClient that speaks tidegate protocol v1 for tests
// and checks, as it reads, that message seqs have no holes the server did not announce.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ws_client.hpp"

namespace tg::test {

// `n` random letters: chat text that compresses poorly, so logs fill with real bytes.
inline std::string noise(std::mt19937& rng, size_t n) {
  std::string s(n, 'a');
  for (char& c : s) c = static_cast<char>('a' + rng() % 26);
  return s;
}

struct ChatEvent {
  uint64_t seq;
  std::string type;  // msg, join, leave, name
  std::string from;
  std::string text;
  std::string cid;
};

struct GapNotice {
  uint64_t from;
  uint64_t to;
};

class ChatClient {
 public:
  // Connects and reads hello. Returns false (with error()) when either fails.
  bool connect(uint16_t port, const std::string& query, bool zstd, int rcvbuf = 0);

  // Reads messages until `n` chat messages (t == "msg") arrived, the connection ends
  // or `timeout_ms` passes. Returns whether `n` were reached.
  bool read_until_msgs(size_t n, int timeout_ms);
  // Reads until the connection ends or `timeout_ms` passes; returns the close code
  // received (0 when the TCP connection ended without one, -1 on timeout).
  int read_until_closed(int timeout_ms);
  // Handles one message; returns false on timeout or end.
  bool read_one(int timeout_ms);

  bool send(const std::string& text) { return ws_.send_text(text); }
  WsClient& ws() { return ws_; }

  const std::vector<ChatEvent>& events() const { return events_; }
  std::vector<ChatEvent> msgs() const;
  const std::vector<GapNotice>& gaps() const { return gaps_; }
  const std::vector<std::string>& notices() const { return notices_; }
  const std::string& error() const { return error_; }
  uint64_t hello_seq() const { return hello_seq_; }
  uint64_t epoch() const { return epoch_; }
  const std::string& name() const { return name_; }

 private:
  void handle(const WsMessage& m);

  WsClient ws_;
  bool zstd_ = false;
  uint64_t hello_seq_ = 0;
  uint64_t epoch_ = 0;
  uint64_t next_seq_ = 0;  // next message seq expected
  std::string name_;
  size_t msg_count_ = 0;
  std::vector<ChatEvent> events_;
  std::vector<GapNotice> gaps_;
  std::vector<std::string> notices_;  // direct notices other than hello/gap, raw JSON
  std::string error_;
  int close_code_ = -1;
};

}  // namespace tg::test
