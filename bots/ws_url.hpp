// ws_url.hpp -- parses the ws:// or wss:// URL the swarm connects to.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tg::bots {

// A parsed `ws://A.B.C.D:PORT/path` or `wss://...` (IPv4 literal only: the swarm never
// resolves names).
struct WsUrl {
  std::string host;       // "127.0.0.1"
  uint16_t port = 80;     // 443 by default for wss://
  bool tls = false;       // wss://
  std::string path;       // "/ws", query excluded
  sockaddr_in address{};  // host:port, ready for connect(2)

  // True when the host is in 127.0.0.0/8, where spreading over source addresses works.
  bool loopback() const;
  // "host:port" for the Host header.
  std::string authority() const;
};

// Returns the parsed URL, or nullopt if it is not ws:// or wss://, the host is not an IPv4
// literal, or the port is not 1..65535.
std::optional<WsUrl> parse_ws_url(std::string_view url);

}  // namespace tg::bots
