// main.cpp -- tidegate's command line: flags (CLI11) into a Config, then the Server.
#include <openssl/crypto.h>
#include <uv.h>
#include <wslay/wslayver.h>
#include <zstd.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "auth/verifier.hpp"
#include "build_info.hpp"
#include "common/cli_config.hpp"
#include "common/cli_flags.hpp"
#include "common/log.hpp"
#include "gateway/config.hpp"
#include "gateway/server.hpp"

namespace {

using tg::flag;
using tg::gateway::Config;

// Splits "HOST:PORT" or "[V6]:PORT".
bool split_listen(const std::string& s, Config& c) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 == s.size()) return false;
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    size_t used = 0;
    int port = std::stoi(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1 || port < 0 || port > 65535) return false;
    c.listen_port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    return false;
  }
  c.listen_host = host;
  return !host.empty();
}

// The publish API's flags (docs/PROTOCOL.md, Publish API).
void add_api_flags(CLI::App& app, Config& c) {
  flag(app, "--api-listen", c.api_listen,
       "Serve the publish API for backends (POST /api/publish, GET /api/rooms, GET "
       "/api/rooms/ROOM/history) on this separate address, HOST:PORT (port 0: any free port, "
       "printed as `api HOST:PORT`); needs --api-key-file. Empty: off");
  flag(app, "--api-key-file", c.api_key_file,
       "File whose first line is the publish API's bearer key (at least 16 bytes, white space "
       "trimmed); read at startup and again on SIGHUP");
  flag(app, "--api-max-connections", c.api_max_connections, size_t{1}, size_t{100000},
       "Publish API connections at once; more are closed unanswered");
  flag(app, "--api-max-body-bytes", c.api_max_body_bytes, size_t{1024}, size_t{1} << 30,
       "Largest publish API request body; larger ones get 413 (each message's text is also "
       "bounded by --max-message-bytes: 400)");
  flag(app, "--api-max-batch", c.api_max_batch, size_t{1}, size_t{100000},
       "Messages one array publish may carry");
  flag(app, "--api-max-inflight", c.api_max_inflight, size_t{1}, size_t{10000000},
       "Publish API messages waiting for their seqs at once; more get 429");
  flag(app, "--api-request-timeout-ms", c.api_request_timeout_ms, 100u, 600000u,
       "A publish API request must arrive and be answered within this (else 408, or 504 with "
       "what is known)");
  flag(app, "--api-idle-timeout-s", c.api_idle_timeout_s, 1u, 86400u,
       "A publish API keep-alive connection without a request for this long is closed");
}

void add_flags(CLI::App& app, Config& c, std::string& listen, std::string& slow, std::string& level,
               std::string& format) {
  flag(app, "--listen", listen,
       "Address to serve HTTP and WebSocket on, HOST:PORT (port 0: any free port)");
  flag(app, "--workers", c.workers, 0, 256,
       "Worker threads, each with its own loop and listening socket (0: one per online CPU)");
  app.add_flag("--pin,!--no-pin", c.pin, "Pin each worker thread to one core")
      ->capture_default_str();
  app.add_option("--window-ms", c.window_ms,
                 "Force a fixed flush window in ms (0: flush on the next loop turn); without it "
                 "the window adapts to load")
      ->check(CLI::Range(0.0, 10000.0));
  flag(app, "--window-max-ms", c.window_max_ms, 1.0, 10000.0,
       "Upper bound of a room's adaptive window in ms, reached only while the loops are "
       "above --target-cpu");
  flag(app, "--latency-target-ms", c.latency_target_ms, 0.0, 10000.0,
       "While the loops are below --target-cpu, no room's adaptive window is wider than this "
       "(a p99 goal for the delay the window adds)");
  flag(app, "--target-cpu", c.target_cpu, 0.05, 1.0,
       "Loop busy fraction the adaptive window aims to stay under");
  flag(app, "--latency-weight", c.latency_weight, 0.001, 1000.0,
       "What 1 ms of added latency is worth to the adaptive window, in percent of a "
       "core: higher keeps windows narrower, lower saves more CPU under load");
  flag(app, "--history-bytes", c.history_bytes, size_t{1024}, size_t{1} << 40,
       "Bytes of recent batches each room's log keeps for slow and resuming clients");
  flag(app, "--history-total-bytes", c.history_total_bytes, size_t{1024}, size_t{1} << 44,
       "Bytes of recent batches all room logs together keep (each batch counted once: its "
       "binary and JSON frames); over it the least recently active rooms lose their oldest "
       "batches first. Default: an eighth of physical memory, at most 4 GiB");
  flag(app, "--room-ttl-s", c.room_ttl_s, 0u, 86400u * 365,
       "A room without members and messages for this long is forgotten, its history with it "
       "(0: never)");
  flag(app, "--max-rooms", c.max_rooms,
       "Rooms alive at once; joining a new room over it is refused (error too_many_rooms, or "
       "503 on connect), joining an existing one always works (0: no limit)");
  flag(app, "--client-inflight", c.client_inflight, size_t{1024}, size_t{1} << 32,
       "Bytes a client may have written but not yet acknowledged by the kernel");
  app.add_option("--slow-policy", slow,
                 "What happens to a client whose next batch left the log: skip (gap notice) or "
                 "close (1008)")
      ->capture_default_str()
      ->check(CLI::IsMember({"skip", "close"}));
  flag(app, "--max-message-bytes", c.max_message_bytes, size_t{64}, size_t{64} << 20,
       "Largest client message; larger ones are closed with 1009");
  flag(app, "--max-header-bytes", c.max_header_bytes, size_t{512}, size_t{1} << 20,
       "Largest HTTP request head; larger ones get 431");
  flag(app, "--handshake-timeout-ms", c.handshake_timeout_ms, 100u, 600000u,
       "Time a client has to send its HTTP request");
  flag(app, "--idle-timeout-s", c.idle_timeout_s, 0u, 86400u,
       "A client silent this long is pinged; silent as long again, it is closed with "
       "1001 (0: never)");
  flag(app, "--slow-close-grace-ms", c.slow_close_grace_ms, 0u, 600000u,
       "Under --slow-policy close, how long a slow client has to read its close frame "
       "before the connection is dropped");
  flag(app, "--drain-timeout-ms", c.drain_timeout_ms, 0u, 600000u,
       "On SIGINT/SIGTERM, how long clients get to receive what is pending");
  flag(app, "--socket-sndbuf", c.socket_sndbuf, 0, 64 << 20,
       "SO_SNDBUF of client sockets in bytes (0: kernel default)");
  flag(app, "--zstd-level", c.zstd_level, -5, 19, "zstd compression level of batches");
  flag(app, "--max-rooms-per-client", c.max_rooms_per_client, size_t{1}, size_t{1024},
       "Rooms one connection may be in at once");
  flag(app, "--max-connections", c.max_connections,
       "Connections served at once, WebSocket or HTTP; more are answered 503 (0: as many "
       "as the open-file limit allows, which is raised to its hard limit)");
  flag(app, "--max-connections-per-ip", c.max_connections_per_ip,
       "Connections served at once from one source address (an IPv6 /64 counts as one); "
       "more are answered 429 (0: no limit; mind clients behind one NAT or proxy)");
  flag(app, "--metrics-listen", c.metrics_listen,
       "Address to serve Prometheus metrics on (GET /metrics), HOST:PORT (port 0: any "
       "free port, printed as `metrics HOST:PORT`); empty or off: no metrics");
  flag(app, "--rate-limit", c.rate_limit, 0.0, 1e6,
       "Messages per second one client may send (0: no limit); over it messages are dropped with "
       "an error notice, and after 5 s of that the client is closed with 1008");
  flag(app, "--rate-burst", c.rate_burst, 1.0, 1e6,
       "Messages a client may send at once before --rate-limit applies");
  app.add_option("--allowed-origin", c.allowed_origins,
                 "A browser Origin allowed to open the WebSocket, e.g. https://chat.example.com "
                 "(repeatable; * allows any). Default: only pages served by this host; clients "
                 "that send no Origin are always allowed");
  flag(app, "--redis", c.redis,
       "Cluster mode: share every room's ordered log with the other gateways through Redis "
       "Streams at this URL, redis://[[USER]:PASSWORD@]HOST:PORT[/DB] or "
       "unix:///PATH/redis.sock[?db=N]. Empty: a single node, history in memory");
  flag(app, "--redis-password-file", c.redis_password_file,
       "File whose first line is the Redis password (instead of one in --redis)");
  flag(app, "--redis-log-ttl-s", c.redis_log_ttl_s, 60u, 86400u * 365,
       "Cluster mode: a room's log in Redis is deleted this long after its last message (a "
       "later join starts a new epoch)");
  add_api_flags(app, c);
  app.add_option("--log-level", level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("--log-format", format,
                 "Log lines on stderr: text, or json (one object a line: time, level, msg and "
                 "fields such as conn, peer, room, reason)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  flag(app, "--tls-cert", c.tls_cert,
       "PEM file of the certificate chain (the server's first, then intermediates): the "
       "listener then speaks TLS 1.2/1.3 only (https://, wss://); SIGHUP reads it again. "
       "Needs --tls-key");
  flag(app, "--tls-key", c.tls_key, "PEM file of --tls-cert's private key");
  flag(app, "--zstd-keyframe-bytes", c.zstd_keyframe_bytes, size_t{1024}, size_t{16} << 20,
       "tidegate.v2.zstd: a room's stream starts a new zstd frame (a keyframe, where a "
       "client may start decoding) once its current frame has this many bytes");
  flag(app, "--zstd-keyframe-ms", c.zstd_keyframe_ms, 100u, 3'600'000u,
       "tidegate.v2.zstd: a room's stream starts a new zstd frame once its current frame "
       "is this old, if --zstd-keyframe-bytes did not start one first (a room quiet this "
       "long releases its stream)");
  flag(app, "--zstd-v2-level", c.zstd_v2_level, -5, 19,
       "tidegate.v2.zstd: zstd level of the room streams (each batch is compressed once "
       "per room, so a higher level than --zstd-level costs little per delivery)");
}

// Authentication's flags (docs/PROTOCOL.md, Authentication; docs/OPERATIONS.md).
void add_auth_flags(CLI::App& app, Config& c, std::string& mode, std::string& anonymous) {
  app.add_option("--auth", mode,
                 "Client authentication with JWTs: off (anonymous chat), optional (a token makes "
                 "a user authenticated; without one a client is anonymous, limited to "
                 "--anonymous-rooms) or required (no valid token: 401)")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "optional", "required"}));
  flag(app, "--jwt-hs256-secret-file", c.jwt_hs256_secret_file,
       "File holding the HS256 secret (its bytes, one trailing line end dropped; at least 32 "
       "bytes): HS256 tokens are accepted, signed with it");
  flag(app, "--jwt-public-key", c.jwt_public_key,
       "PEM file of a public key: RSA (2048 bits or more) accepts RS256 tokens, EC P-256 "
       "ES256 tokens. --auth optional or required needs it or --jwt-hs256-secret-file; SIGHUP "
       "reads both files again (a file that fails to load keeps the old keys)");
  flag(app, "--jwt-leeway-s", c.jwt_leeway_s, 0u, 3600u,
       "Seconds of clock slack for a token's exp and nbf");
  flag(app, "--anonymous-rooms", anonymous,
       "Under --auth optional, the rooms clients without a token may join and send to: "
       "comma-separated room names or prefix.* patterns (* for all, empty for none)");
}

// permessage-deflate's flags (docs/PROTOCOL.md, permessage-deflate).
void add_deflate_flags(CLI::App& app, Config& c, std::string& mode) {
  app.add_option("--permessage-deflate", mode,
                 "on: a client that offers permessage-deflate (RFC 7692) and names no tidegate "
                 "sub-protocol (a browser's own WebSocket, a generic library) gets each batch "
                 "deflated once per worker and written to every such client; off: never agreed")
      ->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  flag(app, "--deflate-level", c.deflate_level, 1, 9,
       "zlib level of permessage-deflate's batches (1 fastest .. 9 smallest); each batch is "
       "deflated once per worker, not once per client");
}

// The auth flags' values into `config`, the key files loaded; false with `error` set
// when they do not fit together or a key does not load.
bool apply_auth_flags(Config& config, const std::string& mode, const std::string& anonymous,
                      std::string& error) {
  using tg::gateway::AuthMode;
  config.auth = mode == "required"   ? AuthMode::kRequired
                : mode == "optional" ? AuthMode::kOptional
                                     : AuthMode::kOff;
  auto rooms = tg::auth::parse_pattern_list(anonymous);
  if (!rooms) {
    error = "--anonymous-rooms wants comma-separated room names or prefix.* patterns, got '" +
            anonymous + "'";
    return false;
  }
  config.anonymous_rooms = std::move(*rooms);
  if (config.auth == AuthMode::kOff) return true;
  if (config.jwt_hs256_secret_file.empty() && config.jwt_public_key.empty()) {
    error = "--auth " + mode + " needs a key: --jwt-hs256-secret-file or --jwt-public-key";
    return false;
  }
  std::string why;
  auto verifier =
      tg::auth::Verifier::load(config.jwt_hs256_secret_file, config.jwt_public_key, why);
  if (!verifier) {
    error = "cannot load the JWT key: " + why;
    return false;
  }
  config.verifier = std::move(verifier);
  return true;
}

// What --version prints: this build, and the libraries it runs with (the versions the
// loaded shared libraries report; wslay has no such call, so its headers' version).
std::string version_text() {
  std::string out = "tidegate " TG_VERSION " (commit " TG_GIT_COMMIT ", " TG_BUILD_TYPE ")\n";
  out += "libuv ";
  out += uv_version_string();
  out += ", wslay " WSLAY_VERSION " (headers), zstd ";
  out += ZSTD_versionString();
  out += ", ";
  out += OpenSSL_version(OPENSSL_VERSION);
  out += ", CLI11 " CLI11_VERSION;
  return out;
}

// The outcome of reading the flags: a Config, or the exit status to stop with (help,
// version, --print-config: 0 with the output written; a bad flag or file: 2 with
// `error` set, the file's name and line in it when the file is at fault).
struct Parsed {
  std::optional<Config> config;
  int exit_code = 0;
  std::string error;
};

// Reads the command line, the TIDEGATE_* environment and the --config file, as at
// startup and again at each SIGHUP (`reload`: help, version and --print-config are then
// ignored, their output already given).
Parsed parse(const std::vector<std::string>& args, bool reload) {
  CLI::App app{
      "tidegate: a WebSocket broadcast gateway for chat traffic.\n"
      "Serves the chat page at /, WebSocket at /ws, /healthz, /readyz and /stats;\n"
      "Prometheus metrics at /metrics on --metrics-listen."};
  Config config;
  config.history_total_bytes = tg::gateway::default_history_total_bytes();
  std::string listen = "127.0.0.1:8080", slow = "skip", level = "info", format = "text";
  add_flags(app, config, listen, slow, level, format);
  std::string auth_mode = "off", anonymous_rooms = "lobby";
  add_auth_flags(app, config, auth_mode, anonymous_rooms);
  std::string deflate_mode = "on";
  add_deflate_flags(app, config, deflate_mode);
  app.set_version_flag("--version", version_text,
                       "Print the version, the git commit, the build "
                       "type and the library versions, and exit")
      ->configurable(false);
  CLI::Option* config_opt = app.set_config(
      "--config", "",
      "Read flags from a TOML file: one `name = value` per line, the flag's name without "
      "the dashes (e.g. workers = 2). Every flag can also come from an environment "
      "variable TIDEGATE_<NAME> (e.g. TIDEGATE_WORKERS=2). Precedence: command line, "
      "environment, file, default. SIGHUP reads them again (docs/OPERATIONS.md)");
  app.allow_config_extras(CLI::config_extras_mode::error);  // an unknown key is an error
  bool print_config = false;
  app.add_flag("--print-config", print_config,
               "Print the effective configuration (every flag, in the --config file format) "
               "and exit")
      ->configurable(false);

  // The environment goes in as arguments ahead of the real ones (tg::env_arguments).
  std::vector<std::string> given = tg::env_arguments(app, args, "TIDEGATE");
  given.insert(given.end(), args.begin(), args.end());
  std::vector<const char*> argv{"tidegate"};
  for (const std::string& a : given) argv.push_back(a.c_str());
  Parsed out;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0 && !reload) {  // --help, --version
      out.exit_code = app.exit(e);
      return out;
    }
    std::string file = config_opt->count() > 0 ? config_opt->as<std::string>() : "";
    out.error = tg::locate_in_config(file, e.what(), app, given);
    out.exit_code = 2;
    return out;
  }
  if (print_config && !reload) {
    fputs(tg::print_config(app).c_str(), stdout);
    return out;
  }
  if (!split_listen(listen, config)) {
    out.error = "--listen wants HOST:PORT, got '" + listen + "'";
    out.exit_code = 2;
    return out;
  }
  if (Config m; !config.metrics_listen.empty() && config.metrics_listen != "off" &&
                !split_listen(config.metrics_listen, m)) {
    out.error =
        "--metrics-listen wants HOST:PORT, empty or off, got '" + config.metrics_listen + "'";
    out.exit_code = 2;
    return out;
  }
  if (!config.api_listen.empty()) {
    if (Config a; !split_listen(config.api_listen, a)) {
      out.error = "--api-listen wants HOST:PORT, got '" + config.api_listen + "'";
      out.exit_code = 2;
      return out;
    }
    if (config.api_key_file.empty()) {
      out.error = "--api-listen needs --api-key-file (the backends' bearer key)";
      out.exit_code = 2;
      return out;
    }
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    out.error = config.tls_cert.empty() ? "--tls-key needs --tls-cert (both or neither)"
                                        : "--tls-cert needs --tls-key (both or neither)";
    out.exit_code = 2;
    return out;
  }
  config.slow_policy =
      slow == "close" ? tg::gateway::SlowPolicy::kClose : tg::gateway::SlowPolicy::kSkip;
  config.log_level = *tg::parse_log_level(level);
  config.log_format = *tg::parse_log_format(format);
  if (!apply_auth_flags(config, auth_mode, anonymous_rooms, out.error)) {
    out.exit_code = 2;
    return out;
  }
  config.permessage_deflate = deflate_mode == "on";
  out.config = std::move(config);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  Parsed parsed = parse(args, false);
  if (!parsed.config) {
    if (!parsed.error.empty()) fprintf(stderr, "tidegate: %s\n", parsed.error.c_str());
    return parsed.exit_code;
  }
  Config& config = *parsed.config;
  tg::g_log_level = config.log_level;
  tg::g_log_format = config.log_format;
  signal(SIGPIPE, SIG_IGN);  // a peer that vanished is an error code, not a signal

  try {
    tg::gateway::Server server(config);
    server.start();
    if (config.verifier) {
      TG_LOG(kInfo, "auth %s: tokens signed with %s accepted, leeway %u s",
             config.auth == tg::gateway::AuthMode::kRequired ? "required" : "optional",
             config.verifier->algorithms().c_str(), config.jwt_leeway_s);
    } else if (!config.jwt_hs256_secret_file.empty() || !config.jwt_public_key.empty()) {
      TG_LOG(kWarn, "JWT key files are ignored under --auth off: anyone may connect");
    }
    // SIGHUP: the same sources read again; a configuration that does not parse changes
    // nothing (the Server logs why).
    server.set_reloader([&args]() -> tg::gateway::Server::Reloaded {
      Parsed again = parse(args, true);
      return {std::move(again.config), again.error};
    });
    return server.run_until_signal([&] {
      // Machine-readable, for scripts and tests that start us on port 0.
      printf("listening %s:%u\n", config.listen_host.c_str(), server.port());
      if (server.metrics_port() != 0) {
        const std::string& m = config.metrics_listen;
        printf("metrics %s:%u\n", m.substr(0, m.rfind(':')).c_str(), server.metrics_port());
      }
      if (server.api_port() != 0) {
        const std::string& a = config.api_listen;
        printf("api %s:%u\n", a.substr(0, a.rfind(':')).c_str(), server.api_port());
      }
      fflush(stdout);
    });
  } catch (const std::exception& e) {
    fprintf(stderr, "tidegate: %s\n", e.what());
    return 1;
  }
}
