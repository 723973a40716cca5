// swarm_config.hpp -- every knob of one swarm run, as parsed from the command line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tg::bots {

// Plain settings; main.cpp fills them from CLI11 flags, Swarm reads them.
struct SwarmConfig {
  // Gateways (several: one cluster's nodes); client i starts on urls[i % n].
  std::vector<std::string> urls = {"ws://127.0.0.1:8080/ws"};
  uint32_t clients = 100;
  int64_t senders = -1;  // -1: every client sends
  double rate = 1.0;     // messages per second per sender
  uint32_t size = 32;    // text bytes per message
  uint32_t rooms = 1;
  double duration = 10.0;            // seconds of sending
  double ramp = 1.0;                 // connects spread over this many seconds
  std::string subprotocol = "zstd";  // zstd | json | v2 | deflate (no sub-protocol)
  uint32_t threads = 0;              // 0: online CPUs
  std::string json_path;
  std::string csv_path;
  bool ping = false;
  double slow_fraction = 0.0;      // share of clients that read slowly
  double slow_read_bps = 20480.0;  // read budget of a slow client, bytes per second
  double drain = 5.0;              // max seconds to wait for deliveries after sending
  double connect_timeout = 10.0;   // per connection, seconds
  uint32_t source_ips = 0;         // 0: as many 127.0.0.x as the port range needs
  uint32_t max_connecting = 256;   // per loop, connects in flight at once
  std::string room_prefix = "bots-";
  bool quiet = false;  // no per-second lines
  // Connect and upgrade, then only count what arrives: no hello, no decoding, no
  // delivery checks (for tidegate-floor, which sends pre-built frames and no protocol).
  bool sink = false;
  // While sending and draining, a bot whose gateway went away (reconnect.hpp) reconnects
  // to the next URL and resumes its room; false: a lost connection is final.
  bool reconnect = true;
  // wss:// URLs: verify the gateway's certificate against this PEM file (empty: the
  // system's CAs), or not at all with tls_insecure (self-signed test certificates).
  std::string tls_ca;
  bool tls_insecure = false;
  // Message texts from this file (corpus.hpp) instead of random words, each cut to at
  // most `size` bytes; every bot walks it in an order drawn from corpus_seed and its id.
  std::string corpus_path;
  uint64_t corpus_seed = 1;

  uint32_t sender_count() const {
    return senders < 0 || senders > static_cast<int64_t>(clients) ? clients
                                                                  : static_cast<uint32_t>(senders);
  }
  uint32_t slow_count() const { return static_cast<uint32_t>(slow_fraction * clients + 0.5); }
};

}  // namespace tg::bots
