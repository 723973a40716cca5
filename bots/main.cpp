// main.cpp -- tidegate-bots: command-line flags, the swarm run, and the reports it writes.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>

#include "bots/report.hpp"
#include "bots/swarm.hpp"

namespace {

volatile int g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

void add_flags(CLI::App& app, tg::bots::SwarmConfig& c) {
  app.add_option("--url", c.urls,
                 "gateway WebSocket URL, ws://IPv4:port/path or wss://IPv4:port/path; repeat it "
                 "for a cluster's nodes: "
                 "client i starts on the (i mod n)th (and is in room i mod --rooms: a room "
                 "count coprime with the URL count spreads every room over every node)")
      ->capture_default_str();
  app.add_option("--clients", c.clients, "connections to open")->capture_default_str();
  app.add_option("--senders", c.senders, "how many of the clients send (default: all)");
  app.add_option("--rate", c.rate, "messages per second per sender (fractional allowed)")
      ->capture_default_str();
  app.add_option("--size", c.size, "text bytes per message")->capture_default_str();
  app.add_option("--rooms", c.rooms, "clients are spread over this many rooms")
      ->capture_default_str();
  app.add_option("--duration", c.duration, "seconds of sending")->capture_default_str();
  app.add_option("--ramp", c.ramp, "connects are spread over this many seconds")
      ->capture_default_str();
  app.add_option("--subprotocol", c.subprotocol,
                 "zstd (tidegate.v1.zstd), json (tidegate.v1.json), v2 (tidegate.v2.zstd: "
                 "room-stream zstd; batch bytes per delivery are its wire bytes) or deflate "
                 "(no sub-protocol, permessage-deflate offered as a browser does; the run "
                 "fails if the gateway does not accept it)")
      ->check(CLI::IsMember({"zstd", "json", "v2", "deflate"}))
      ->capture_default_str();
  app.add_option("--threads", c.threads, "event loops (0: online CPUs)")->capture_default_str();
  app.add_option("--json", c.json_path, "write the machine-readable report to this file");
  app.add_option("--csv", c.csv_path, "write one row per second to this file");
  app.add_flag("--ping", c.ping, "every client also pings once a second; report RTT");
  app.add_option("--slow-fraction", c.slow_fraction, "share of clients that read slowly (0..1)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--slow-read-bps", c.slow_read_bps, "read rate of a slow client, bytes/s")
      ->capture_default_str();
  app.add_option("--drain", c.drain, "max seconds to wait for deliveries after sending")
      ->capture_default_str();
  app.add_option("--connect-timeout", c.connect_timeout, "seconds for TCP+upgrade+hello")
      ->capture_default_str();
  app.add_option("--source-ips", c.source_ips,
                 "spread connections over 127.0.0.1..N (0: as the port range needs)")
      ->capture_default_str();
  app.add_option("--max-connecting", c.max_connecting, "connects in flight per loop")
      ->capture_default_str();
  app.add_option("--room-prefix", c.room_prefix, "room names are <prefix><index>")
      ->capture_default_str();
  app.add_flag("--quiet", c.quiet, "no per-second lines");
  app.add_flag_callback(
      "--no-reconnect", [&c] { c.reconnect = false; },
      "a lost connection is final (default: while sending and draining, a bot whose "
      "gateway went away reconnects to the next --url and resumes its room)");
  app.add_flag("--sink", c.sink,
               "after the upgrade only count frames and bytes received: no hello, no "
               "decoding, no delivery checks (to drive tidegate-floor)");
  app.add_option("--tls-ca", c.tls_ca,
                 "wss:// URLs: PEM file of the CA (or the self-signed certificate) the "
                 "gateway's certificate must chain to (default: the system's CAs)");
  app.add_flag("--tls-insecure", c.tls_insecure,
               "wss:// URLs: do not verify the gateway's certificate (self-signed tests)");
  app.add_option("--corpus", c.corpus_path,
                 "message texts from this file instead of random words: entries separated "
                 "by lines of % (fortune files, e.g. /usr/share/games/fortunes/fortunes), "
                 "each one line, at most --size bytes; every bot sends them in its own "
                 "order, the same for the same --corpus-seed")
      ->check(CLI::ExistingFile);
  app.add_option("--corpus-seed", c.corpus_seed, "seed of the bots' orders through --corpus")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tidegate-bots: a WebSocket chat swarm that loads and checks a tidegate gateway"};
  tg::bots::SwarmConfig config;
  add_flags(app, config);
  app.footer(
      "Exit status: 0 clean; 1 unannounced loss, seq holes, duplicates or reordering; "
      "2 bad flags or no client connected; 3 connect failures or connections dropped for "
      "good (other than 1008 slow-consumer closes; a connection that reconnected is not "
      "dropped).");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);  // a peer reset must be an error code, not a signal
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    tg::bots::Swarm swarm(config);
    const tg::bots::RunTotals totals = swarm.run(g_stop);
    const tg::bots::Report report(swarm.config(), totals);
    std::fputs(report.summary().c_str(), stdout);
    std::fflush(stdout);
    if (!config.json_path.empty()) {
      std::ofstream out(config.json_path);
      out << report.json();
      if (!out) throw std::runtime_error("cannot write " + config.json_path);
    }
    return report.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tidegate-bots: %s\n", e.what());
    return 2;
  }
}
