// config.hpp -- Config: every setting of the gateway, filled from flags by main.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/log.hpp"

namespace tg::auth {
class Verifier;
}

namespace tg::gateway {

enum class SlowPolicy { kSkip, kClose };
// --auth: off (no tokens), optional (anonymous users in --anonymous-rooms), required.
enum class AuthMode { kOff, kOptional, kRequired };

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  int workers = 0;  // 0: one per online CPU
  bool pin = true;
  double window_ms = -1;  // < 0: adaptive (WindowController); >= 0: fixed
  double window_max_ms = 100;
  double target_cpu = 0.7;
  double latency_weight = 1.0;
  double latency_target_ms = 50;
  size_t history_bytes = 64u << 20;
  size_t history_total_bytes = 0;  // all rooms' logs together; 0: default_history_total_bytes()
  uint32_t room_ttl_s = 300;       // an empty room is forgotten after this long; 0: never
  size_t max_rooms = 10000;        // rooms alive at once; 0: no limit
  size_t client_inflight = 1u << 20;
  SlowPolicy slow_policy = SlowPolicy::kSkip;
  size_t max_message_bytes = 64u << 10;
  size_t max_header_bytes = 8u << 10;
  uint32_t handshake_timeout_ms = 10000;
  uint32_t drain_timeout_ms = 5000;
  uint32_t slow_close_grace_ms = 10000;
  uint32_t idle_timeout_s = 60;  // 0: never ping idle clients
  int socket_sndbuf = 0;         // 0: kernel default
  int zstd_level = 1;
  size_t max_rooms_per_client = 16;
  size_t max_connections = 0;         // 0: as many as the open-file limit allows
  size_t max_connections_per_ip = 0;  // 0: no limit per source address
  double rate_limit = 20;             // frames per second per client; 0: no limit
  double rate_burst = 40;
  std::vector<std::string> allowed_origins;  // empty: the page's own host only
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kText;
  std::string metrics_listen = "127.0.0.1:9464";  // HOST:PORT of /metrics; empty: none
  std::string redis;                 // cluster mode: the backplane's Redis URL; empty: single node
  std::string redis_password_file;   // the Redis password, instead of one in the URL
  uint32_t redis_log_ttl_s = 86400;  // a room's log in Redis outlives its last append this long
  // The publish API (api_server.hpp): off while api_listen is empty.
  std::string api_listen;                // HOST:PORT
  std::string api_key_file;              // the bearer key's file (required with api_listen)
  size_t api_max_connections = 64;       // API connections at once
  size_t api_max_body_bytes = 4u << 20;  // a request body's bytes
  size_t api_max_batch = 1000;           // messages in one array publish
  size_t api_max_inflight = 10000;       // messages waiting for their seqs, all requests
  uint32_t api_request_timeout_ms = 10000;
  uint32_t api_idle_timeout_s = 60;  // a keep-alive connection without a request
  // Authentication (docs/PROTOCOL.md, Authentication).
  AuthMode auth = AuthMode::kOff;
  std::string jwt_hs256_secret_file;
  std::string jwt_public_key;                         // PEM file: RSA (RS256) or EC P-256 (ES256)
  uint32_t jwt_leeway_s = 30;                         // slack for exp and nbf
  std::vector<std::string> anonymous_rooms{"lobby"};  // room patterns, under --auth optional
  // The keys read from the files above (main.cpp, at startup and at each SIGHUP); null
  // under --auth off.
  std::shared_ptr<const auth::Verifier> verifier;
  std::string tls_cert;  // PEM certificate chain: the listener speaks TLS; empty: plaintext
  std::string tls_key;   // its PEM private key (both or neither)
  // tidegate.v2.zstd (batcher/room_stream.hpp): a room stream's keyframe every so many
  // output bytes or milliseconds, whichever comes first.
  size_t zstd_keyframe_bytes = 64u << 10;
  uint32_t zstd_keyframe_ms = 10000;
  int zstd_v2_level = 1;
  // permessage-deflate (RFC 7692) for clients without a tidegate sub-protocol.
  bool permessage_deflate = true;
  int deflate_level = 6;  // zlib level, 1..9
};

// The default of --history-total-bytes: an eighth of the physical memory, at most 4 GiB
// (and 64 MiB when the memory size cannot be read).
size_t default_history_total_bytes();

}  // namespace tg::gateway
