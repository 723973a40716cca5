// main.cpp -- tidegate-floor: flags, listening sockets, the workers, and the totals at exit.
#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "bots/floor/floor_config.hpp"
#include "bots/floor/frame.hpp"
#include "bots/floor/worker.hpp"
#include "common/cli_flags.hpp"

namespace {

using tg::fanout::FloorConfig;

// A non-blocking SO_REUSEPORT listener on host:port (every worker has one on the same
// port, as tidegate's do). Returns the fd; `*bound` gets the port (port 0: the kernel's).
int listen_on(const std::string& host, uint16_t port, uint16_t* bound) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);  // checked by parse_listen
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 1024) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + why);
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound = ntohs(addr.sin_port);
  return fd;
}

tg::fanout::FloorRooms build_rooms(const FloorConfig& config) {
  tg::fanout::FloorRooms out;
  out.rooms = tg::fanout::expand_rooms(config.groups);
  for (uint32_t r = 0; r < out.rooms.size(); ++r) {
    const auto& group = config.groups[out.rooms[r].group];
    out.frames.push_back(tg::fanout::build_binary_frame(group.frame_bytes, r + 1));
    out.index.emplace(out.rooms[r].name, r);
  }
  return out;
}

void describe(const FloorConfig& config, uint16_t port) {
  std::fprintf(stderr, "tidegate-floor: %s:%u, %d worker(s)\n", config.listen.host.c_str(), port,
               config.workers);
  for (const auto& g : config.groups) {
    std::fprintf(stderr,
                 "  rooms %s0..%s%u: %g windows/s each, %zu-byte frames, %g msgs per frame, "
                 "writes/s per member %g (0: a write per window)\n",
                 g.prefix.c_str(), g.prefix.c_str(), g.rooms - 1, g.batches_per_s, g.frame_bytes,
                 g.msgs_per_batch, g.writes_per_s);
  }
}

// The machine-readable last line (bots/bench reads it): deliveries = Σ frames × msgs.
void print_totals(const FloorConfig& config, const tg::fanout::WorkerTotals& t) {
  uint64_t frames = 0;
  double deliveries = 0;
  for (size_t g = 0; g < t.frames.size(); ++g) {
    frames += t.frames[g];
    deliveries += static_cast<double>(t.frames[g]) * config.groups[g].msgs_per_batch;
  }
  std::printf(
      "totals frames=%llu deliveries=%.0f writes=%llu skipped=%llu late_windows=%llu "
      "upgrades=%llu refused=%llu write_errors=%llu bytes_read=%llu\n",
      (unsigned long long)frames, deliveries, (unsigned long long)t.writes,
      (unsigned long long)t.skipped, (unsigned long long)t.late_windows,
      (unsigned long long)t.upgrades, (unsigned long long)t.refused,
      (unsigned long long)t.write_errors, (unsigned long long)t.bytes_read);
  std::fflush(stdout);
}

int run(FloorConfig& config) {
  const tg::fanout::FloorRooms rooms = build_rooms(config);
  rlimit files{};  // a socket per client: as many as the hard limit allows, as tidegate does
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  // Block SIGINT/SIGTERM before any thread starts, so only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  uint16_t port = config.listen.port;
  std::vector<std::unique_ptr<tg::fanout::Worker>> workers;
  for (int i = 0; i < config.workers; ++i) {
    const int fd = listen_on(config.listen.host, port, &port);
    workers.push_back(std::make_unique<tg::fanout::Worker>(i, config, rooms, fd));
  }
  for (auto& w : workers) w->start();
  describe(config, port);
  std::printf("listening %s:%u\n", config.listen.host.c_str(), port);  // as tidegate prints it
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  for (auto& w : workers) w->stop();
  tg::fanout::WorkerTotals totals;
  for (auto& w : workers) {
    w->join();
    totals.add(w->totals());
  }
  print_totals(config, totals);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tidegate-floor: the physical floor of fan-out. Serves WebSocket clients (the swarm "
      "with --sink) and at every window writes one pre-built binary frame to every member "
      "of a room: no parsing, sequencing or encoding. Its CPU per delivery is the floor "
      "for that window on this machine (bots/bench --floor). SIGINT/SIGTERM: prints "
      "`totals frames=... deliveries=... skipped=...` and exits 0."};
  FloorConfig config;
  tg::fanout::RoomGroup first;
  std::string listen = "127.0.0.1:8090";
  std::vector<std::string> more_groups;
  tg::flag(app, "--listen", listen, "HOST:PORT, IPv4 (port 0: any free port, printed)");
  tg::flag(app, "--workers", config.workers, 1, 256,
           "threads, each with a loop and a SO_REUSEPORT socket");
  app.add_flag("--pin,!--no-pin", config.pin,
               "pin worker k to core k, as tidegate does (default: on)")
      ->capture_default_str();
  tg::flag(app, "--rooms", first.rooms, 1u, 1000000u,
           "rooms, named <room-prefix>0..N-1 as the swarm names them");
  tg::flag(app, "--room-prefix", first.prefix, "room names are <prefix><index>");
  tg::flag(app, "--batches-per-s", first.batches_per_s, 0.0, 1e6, "windows a second in each room");
  tg::flag(app, "--frame-bytes", first.frame_bytes, size_t{0}, size_t{64} << 20,
           "payload bytes of the frame each window writes");
  tg::flag(app, "--msgs-per-batch", first.msgs_per_batch, 0.0, 1e9,
           "deliveries one frame written to one member counts as");
  tg::flag(app, "--writes-per-s", first.writes_per_s, 0.0, 1e6,
           "at most this many writes a second to each member, each carrying every window due "
           "since the last, as the gateway's writes coalesce batches (0: a write per window)");
  app.add_option("--group", more_groups,
                 "another group of rooms, "
                 "PREFIX:ROOMS:BATCHES_PER_S:FRAME_BYTES:MSGS_PER_BATCH[:WRITES_PER_S] "
                 "(repeatable; e.g. quiet-:24:0.5:180:1)");
  tg::flag(app, "--socket-sndbuf", config.socket_sndbuf, 0, 64 << 20,
           "SO_SNDBUF of client sockets in bytes (0: kernel default)");
  CLI11_PARSE(app, argc, argv);

  const auto address = tg::fanout::parse_listen(listen);
  if (!address) {
    std::fprintf(stderr, "tidegate-floor: --listen wants IPv4:PORT, got '%s'\n", listen.c_str());
    return 2;
  }
  config.listen = *address;
  config.groups.push_back(first);
  for (const std::string& text : more_groups) {
    std::string error;
    const auto group = tg::fanout::parse_group(text, &error);
    if (!group) {
      std::fprintf(stderr, "tidegate-floor: --group: %s\n", error.c_str());
      return 2;
    }
    config.groups.push_back(*group);
  }
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client is an error code, not a signal
  try {
    return run(config);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tidegate-floor: %s\n", e.what());
    return 2;
  }
}
