// server.cpp -- binding, signals, and the order in which a server starts and stops.
#include "gateway/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <future>
#include <random>
#include <stdexcept>
#include <string>

#include <prometheus/exposer.h>

#include "batcher/window_controller.hpp"
#include "cluster/redis_backplane.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/memory.hpp"
#include "gateway/reload.hpp"

namespace tg::gateway {

namespace {

// The adaptive window's knobs as the flags set them (at start and at each reload).
batcher::WindowOptions window_options(const Config& c) {
  return {c.window_max_ms, c.target_cpu, c.latency_weight, c.latency_target_ms};
}
// Fills `ss`/`len` with numeric IPv4 or IPv6 `host` and `port`. False when `host` is
// neither.
bool make_sockaddr(const std::string& host, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  ss = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
    return true;
  }
  return false;
}

// Connects to HOST:PORT and closes at once (blocking; loopback, so immediate). A wildcard
// host is reached on loopback.
void poke(std::string host, uint16_t port) {
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!make_sockaddr(host, port, ss, len)) return;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  close(fd);
}

// File descriptors kept for other than client sockets: listeners, epoll, eventfds, the
// metrics server and its scrapes, logs.
constexpr size_t kSpareFds = 64;
// Connections over a limit that may be answered (503/429) at once; each holds a socket.
constexpr size_t kRefusalSlots = 256;
// Giving freed heap back (memory::Trimmer): looked at every second on the main thread,
// done when at least 2 MiB were released since the last trim and that was 5 s ago or
// more. A trim walks every arena's free memory and holds each arena's lock meanwhile
// (a few ms for a heap of a few hundred MiB), so it is not done at every close.
constexpr uint64_t kTrimCheckMs = 1000;
constexpr memory::Trimmer::Policy kTrimPolicy{2u << 20, 5000000000};

// Raises the soft open-file limit as far as `max_connections` needs (up to the hard
// limit) and returns the connection limit to enforce: `max_connections`, or when that
// is 0, as many as the limit allows. Warns when an explicit limit cannot be met: accept
// then meets EMFILE first, which libuv survives by closing the newest connections.
size_t plan_open_files(size_t max_connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return max_connections;
  const rlim_t reserve = kSpareFds + kRefusalSlots;
  rlim_t want = max_connections > 0 ? max_connections + reserve : rl.rlim_max;
  if (want == RLIM_INFINITY || want > (rlim_t{1} << 20)) want = rlim_t{1} << 20;
  if (rl.rlim_cur < want) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  size_t room = rl.rlim_cur > reserve ? static_cast<size_t>(rl.rlim_cur - reserve) : 1;
  if (max_connections == 0) {
    TG_LOG(kInfo, "connection limit %zu (open-file limit %lu)", room,
           static_cast<unsigned long>(rl.rlim_cur));
    return room;
  }
  if (max_connections > room)
    TG_LOG(kWarn,
           "--max-connections %zu wants an open-file limit of %zu, but it is %lu and "
           "cannot be raised: accept will meet EMFILE first and shed new connections "
           "(raise ulimit -n)",
           max_connections, max_connections + static_cast<size_t>(reserve),
           static_cast<unsigned long>(rl.rlim_cur));
  return max_connections;
}

uint64_t epoch_now() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}
}  // namespace

// Cluster mode: the Redis backplane of --redis (and --redis-password-file). Throws
// std::runtime_error with what is wrong with them.
std::unique_ptr<batcher::Backplane> make_backplane(const Config& config) {
  std::string error;
  auto url = cluster::parse_redis_url(config.redis, error);
  if (!url) throw std::runtime_error("--redis: " + error);
  if (!config.redis_password_file.empty()) {
    std::ifstream in(config.redis_password_file);
    std::string line;
    if (!in || !std::getline(in, line))
      throw std::runtime_error("--redis-password-file: cannot read " + config.redis_password_file);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    url->password = line;
  }
  cluster::RedisBackplane::Options o;
  o.url = *url;
  o.log_ttl_ms = uint64_t{config.redis_log_ttl_s} * 1000;
  o.log_bytes = config.history_bytes;
  return std::make_unique<cluster::RedisBackplane>(std::move(o));
}

Server::Server(Config config) : config_(config), given_(std::move(config)) {
  if (config_.workers <= 0) {
    unsigned n = std::thread::hardware_concurrency();
    config_.workers = n > 0 ? static_cast<int>(n) : 1;
  }
  std::unique_ptr<batcher::WindowPolicy> policy;
  if (config_.window_ms >= 0) {
    policy =
        std::make_unique<batcher::FixedWindow>(static_cast<uint64_t>(config_.window_ms * 1000.0));
  } else {
    policy = std::make_unique<batcher::WindowController>(window_options(config_));
  }
  if (config_.history_total_bytes == 0) config_.history_total_bytes = default_history_total_bytes();
  batcher::Batcher::Options options;
  options.shards = config_.workers;
  options.zstd_level = config_.zstd_level;
  options.max_rooms = config_.max_rooms;
  options.room_history_bytes = config_.history_bytes;
  options.history_total_bytes = config_.history_total_bytes;
  options.room_ttl_ms = uint64_t{config_.room_ttl_s} * 1000;
  options.zstd_keyframe_bytes = config_.zstd_keyframe_bytes;
  options.zstd_keyframe_ms = config_.zstd_keyframe_ms;
  options.zstd_v2_level = config_.zstd_v2_level;
  batcher_ = std::make_unique<batcher::Batcher>(
      options, std::make_unique<batcher::LocalSequencer>(), std::move(policy));
  if (!config_.redis.empty()) {
    batcher_->set_backplane(make_backplane(config_));
    // Guest names are guest-<connection id>: in a cluster each node numbers its
    // connections from a random start (below 2^52, exact in JavaScript), so two nodes do
    // not hand out the same guest name.
    std::random_device rd;
    next_client_id_ = (uint64_t{rd() % (1u << 20)} + 1) << 32;
  }
  admission_ = std::make_unique<Admission>(plan_open_files(config_.max_connections),
                                           config_.max_connections_per_ip, kRefusalSlots);
  uint64_t epoch = epoch_now();
  for (int i = 0; i < config_.workers; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, config_, *batcher_, names_, *admission_,
                                              next_client_id_, epoch));
    batcher_->add_sink(shards_.back().get());
  }
  std::vector<const metrics::ShardCounters*> counters;
  for (auto& s : shards_) counters.push_back(&s->counters());
  const Admission& admission = *admission_;
  stats_ = std::make_unique<metrics::GatewayStats>(std::move(counters), *batcher_, [&admission] {
    return metrics::ConnectionCount{admission.max_total(), admission.open()};
  });
  for (auto& s : shards_) s->set_stats(stats_.get());
  if (!config_.api_listen.empty()) {
    std::string error;
    auto key = api::read_key_file(config_.api_key_file, error);
    if (!key) throw std::runtime_error("--api-key-file: " + error);
    api_ = std::make_unique<ApiServer>(config_, *shards_.front(), std::move(*key));
    shards_.front()->set_api(api_.get());
    stats_->set_api(&api_->counters());
  }
}

int Server::bind_api_socket() {
  const std::string& a = config_.api_listen;
  size_t colon = a.rfind(':');
  std::string host = a.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  uint16_t port = static_cast<uint16_t>(std::stoi(a.substr(colon + 1)));  // checked by main
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!make_sockaddr(host, port, ss, len))
    throw std::runtime_error("--api-listen: not a numeric IP address: " + host);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 128) != 0) {
    std::string err = strerror(errno);
    close(fd);
    throw std::runtime_error("cannot serve the publish API on " + a + " (--api-listen): " + err);
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  api_port_ = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return fd;
}

Server::~Server() {
  if (!stopped_ && port_ != 0) shutdown();
}

int Server::bind_socket(uint16_t port) {
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!make_sockaddr(config_.listen_host, port, ss, len))
    throw std::runtime_error("--listen: not a numeric IP address: " + config_.listen_host);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Every Shard listens on the same address; the kernel spreads connections over them.
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, 1024) != 0) {
    std::string err = strerror(errno);
    close(fd);
    throw std::runtime_error("cannot listen on " + config_.listen_host + ":" +
                             std::to_string(port) + ": " + err);
  }
  if (port == 0) {
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    port_ = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  } else {
    port_ = port;
  }
  return fd;
}

// prometheus-cpp's Exposer (civetweb) serves GET /metrics on its own thread; every scrape
// calls MetricsCollector::Collect(), which reads the counters then.
void Server::start_metrics() {
  const std::string& addr = config_.metrics_listen;
  if (addr.empty() || addr == "off") return;
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(addr, 1);
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot serve metrics on " + addr +
                             " (--metrics-listen): " + e.what());
  }
  collector_ = std::make_shared<metrics::MetricsCollector>(*stats_);
  exposer_->RegisterCollectable(collector_);
  auto ports = exposer_->GetListeningPorts();
  metrics_port_ = ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
  TG_LOG(kInfo, "metrics on http://%s/metrics (port %u)", addr.c_str(), metrics_port_);
}

// The Exposer's thread reads the Shards' counters: it is stopped while they exist.
// civetweb's accept thread sees the stop only when its poll() returns, which takes up to
// its 2 s quantum when idle; connections make it return at once.
void Server::stop_metrics() {
  if (!exposer_) return;
  std::atomic<bool> stopped{false};
  std::string host = config_.metrics_listen.substr(0, config_.metrics_listen.rfind(':'));
  std::thread waker([&] {
    for (int i = 0; i < 200 && !stopped.load(); ++i) {  // bounded: 200 x 10 ms
      poke(host, metrics_port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  exposer_.reset();
  stopped = true;
  waker.join();
}

void Server::start() {
  if (!config_.tls_cert.empty()) load_tls(true);
  std::vector<int> fds;
  for (size_t i = 0; i < shards_.size(); ++i)
    fds.push_back(bind_socket(i == 0 ? config_.listen_port : port_));
  int api_fd = -1;
  try {
    if (api_) api_fd = bind_api_socket();
    start_metrics();
  } catch (...) {
    for (int fd : fds) close(fd);
    if (api_fd >= 0) close(api_fd);
    port_ = 0;  // nothing started: nothing for ~Server to shut down
    throw;
  }
  for (size_t i = 0; i < shards_.size(); ++i) shards_[i]->open(fds[i]);
  if (api_) {
    api_->open(api_fd);
    TG_LOG(kInfo, "publish API on %s (port %u)", config_.api_listen.c_str(), api_port_);
  }
  batcher_->start();
  for (auto& shard : shards_) shard->start();
  if (config_.window_ms >= 0) {
    TG_LOG(kInfo, "listening on %s:%u with %d workers, fixed window %.1f ms",
           config_.listen_host.c_str(), port_, config_.workers, config_.window_ms);
  } else {
    TG_LOG(kInfo,
           "listening on %s:%u with %d workers, adaptive windows per room (latency target "
           "%.0f ms, up to %.0f ms above %.0f%% cpu)",
           config_.listen_host.c_str(), port_, config_.workers, config_.latency_target_ms,
           config_.window_max_ms, config_.target_cpu * 100);
  }
  TG_LOG(kInfo,
         "history: %zu bytes in all rooms (--history-total-bytes), %zu per room, rooms expire "
         "after %u s without members (0: never), at most %zu rooms (0: no limit)",
         config_.history_total_bytes, config_.history_bytes, config_.room_ttl_s, config_.max_rooms);
}

template <typename Fn>
void Server::on_every_shard_and_wait(Fn fn) {
  std::vector<std::future<void>> done;
  for (auto& s : shards_) {
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    Shard* shard = s.get();
    shard->post([shard, p, fn] {
      fn(*shard);
      p->set_value();
    });
  }
  for (auto& f : done) f.wait();
}

void Server::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  TG_LOG(kInfo, "shutting down: flushing and closing clients");
  // 1. No new connections, no new messages (refused with an error notice).
  on_every_shard_and_wait([](Shard& s) { s.stop_intake(); });
  // 2. The pending window goes out to every Shard.
  batcher_->stop();
  // 3. Each client gets what the log holds for it, then close 1001.
  for (auto& s : shards_) {
    Shard* shard = s.get();
    shard->post([shard] { shard->begin_drain(); });
  }
  for (auto& s : shards_) s->join();
  stop_metrics();
  uint64_t delivered = 0;
  for (auto& s : shards_) delivered += s->counters().deliveries.get();
  TG_LOG(kInfo, "stopped; %lu deliveries in total", delivered);
}

int Server::run_until_signal(const std::function<void()>& on_ready) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_signal_t sigint, sigterm, sighup;
  auto stop_cb = [](uv_signal_t* h, int signum) {
    TG_LOG(kInfo, "received %s", signum == SIGINT ? "SIGINT" : "SIGTERM");
    static_cast<Server*>(h->data)->notify_.stopping("draining clients");
    uv_stop(h->loop);
  };
  uv_signal_init(&loop, &sigint);
  uv_signal_init(&loop, &sigterm);
  uv_signal_init(&loop, &sighup);
  sigint.data = sigterm.data = this;
  uv_signal_start(&sigint, stop_cb, SIGINT);
  uv_signal_start(&sigterm, stop_cb, SIGTERM);
  sighup.data = this;
  uv_signal_start(
      &sighup, [](uv_signal_t* h, int) { static_cast<Server*>(h->data)->reload(); }, SIGHUP);
  uv_timer_t watchdog;
  uv_timer_init(&loop, &watchdog);
  watchdog.data = this;
  if (notify_.watchdog_usec() > 0) {
    // Half the interval systemd allows, as sd_watchdog_enabled(3) advises.
    uint64_t ms = std::max<uint64_t>(notify_.watchdog_usec() / 2000, 1);
    TG_LOG(kInfo, "systemd watchdog: a keep-alive every %lu ms while every worker answers",
           static_cast<unsigned long>(ms));
    uv_timer_start(
        &watchdog, [](uv_timer_t* t) { static_cast<Server*>(t->data)->watchdog_tick(); }, 0, ms);
  }
  // The one place freed heap is given back: this thread does nothing else meanwhile,
  // so no client waits for a trim but through an arena lock.
  memory::Trimmer trimmer(kTrimPolicy);
  uv_timer_t trim_timer;
  uv_timer_init(&loop, &trim_timer);
  trim_timer.data = &trimmer;
  uv_timer_start(
      &trim_timer,
      [](uv_timer_t* t) {
        uint64_t released = memory::released_since_trim();
        uint64_t start = mono_ns();
        if (static_cast<memory::Trimmer*>(t->data)->maybe_trim(start))
          TG_LOG(kDebug, "malloc_trim after %lu KiB released: %.1f ms", released / 1024,
                 (mono_ns() - start) / 1e6);
      },
      kTrimCheckMs, kTrimCheckMs);
  on_ready();  // signals are handled from here on
  std::string status = "listening on ";
  status += config_.listen_host;
  status += ':';
  status += std::to_string(port_);
  status += ", ";
  status += std::to_string(shards_.size());
  status += " workers";
  notify_.ready(status);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_timer_stop(&watchdog);
  shutdown();
  uv_close(reinterpret_cast<uv_handle_t*>(&trim_timer), nullptr);
  for (uv_signal_t* h : {&sigint, &sigterm, &sighup})
    uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&watchdog), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return 0;
}

void Server::reload() {
  if (!reloader_) {
    TG_LOG(kInfo, "SIGHUP: no configuration to read again");
    return;
  }
  notify_.send_reloading();
  if (tls_) load_tls(false);  // the files are read again even when the flags are unchanged
  Reloaded r = reloader_();
  if (!r.config) {
    TG_LOG(kError, "reload failed, the running configuration stays: %s", r.error.c_str());
    notify_.status("reload failed: " + r.error);
    return;
  }
  const Config& next = *r.config;
  ReloadPlan plan = plan_reload(given_, next);
  if (plan.applied.empty()) reload_api_key();
  for (const std::string& change : plan.restart)
    TG_LOG(kWarn, "reload: %s needs a restart; not applied", change.c_str());
  if (plan.applied.empty()) {
    TG_LOG(kInfo, "reload: nothing to apply (%zu settings need a restart)", plan.restart.size());
    notify_.ready("reloaded");
    return;
  }
  reload_api_key();
  apply_reloadable(config_, next);
  apply_reloadable(given_, next);
  g_log_level = config_.log_level;
  g_log_format = config_.log_format;
  admission_->set_limits(plan_open_files(config_.max_connections), config_.max_connections_per_ip);
  batcher_->reconfigure_window(window_options(config_));
  for (auto& s : shards_) {
    Shard* shard = s.get();
    shard->post([shard, c = config_] { shard->reconfigure(c); });
  }
  for (const std::string& change : plan.applied)
    TG_LOG(kInfo, "reload: applied %s", change.c_str());
  notify_.ready("reloaded");
}

// SIGHUP: the publish API's key file is read again; a file that cannot be read, or holds
// no usable key, leaves the running key in place.
void Server::reload_api_key() {
  if (!api_) return;
  std::string error;
  auto key = api::read_key_file(config_.api_key_file, error);
  if (!key) {
    TG_LOG(kError, "reload: --api-key-file: %s; the running key stays", error.c_str());
    return;
  }
  api_->set_key(std::move(*key));
  TG_LOG(kInfo, "reload: the publish API key was read again");
}

void Server::load_tls(bool at_start) {
  std::string error;
  auto ctx = tls::TlsContext::server(config_.tls_cert, config_.tls_key, error);
  if (!ctx) {
    if (at_start) throw std::runtime_error("--tls-cert/--tls-key: " + error);
    TG_LOG(kError, "reload: TLS certificate not reloaded, the one in use stays: %s", error.c_str());
    return;
  }
  const tls::CertInfo& cert = ctx->cert();
  char expiry[32] = "?";
  time_t t = static_cast<time_t>(cert.not_after);
  tm utc{};
  if (gmtime_r(&t, &utc) != nullptr) strftime(expiry, sizeof expiry, "%Y-%m-%dT%H:%M:%SZ", &utc);
  TG_LOG(kInfo, "%s TLS certificate %s (serial %s, expires %s) from %s",
         at_start ? "serving" : "reload: new connections get", cert.subject.c_str(),
         cert.serial.c_str(), expiry, config_.tls_cert.c_str());
  if (cert.not_after < time(nullptr))
    TG_LOG(kWarn, "the TLS certificate %s expired at %s", cert.subject.c_str(), expiry);
  tls_ = ctx;
  if (stats_) stats_->set_tls_cert_not_after(cert.not_after);
  // Each Shard takes it on its own thread; connections already open keep their context.
  for (auto& s : shards_) {
    Shard* shard = s.get();
    if (at_start)
      shard->set_tls(ctx);  // the loops do not run yet
    else
      shard->post([shard, ctx] { shard->set_tls(ctx); });
  }
}

// The keep-alive proves every worker loop still turns, not just this thread: each tick
// asks every Shard to answer, and WATCHDOG=1 goes out only if all answered the previous
// tick's question. A Shard stuck for longer than WatchdogSec gets the service restarted.
void Server::watchdog_tick() {
  if (watchdog_asked_ && watchdog_answers_.load() < shards_.size()) {
    TG_LOG(kWarn, "systemd watchdog: %zu of %zu workers answered; no keep-alive",
           static_cast<size_t>(watchdog_answers_.load()), shards_.size());
  } else if (watchdog_asked_) {
    notify_.watchdog();
  }
  watchdog_answers_.store(0);
  watchdog_asked_ = true;
  for (auto& s : shards_) s->post([this] { watchdog_answers_.fetch_add(1); });
}

}  // namespace tg::gateway
