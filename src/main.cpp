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
      fflush(stdout);
    });
  } catch (const std::exception& e) {
    fprintf(stderr, "tidegate: %s\n", e.what());
    return 1;
  }
}
