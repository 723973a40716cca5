// server.hpp -- Server: owns the Shards, the Batcher and the name registry; binds the
// listening sockets, runs until SIGINT/SIGTERM, then drains and stops everything.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace prometheus {
class Exposer;
}

#include "batcher/batcher.hpp"
#include "gateway/admission.hpp"
#include "gateway/api_server.hpp"
#include "gateway/config.hpp"
#include "gateway/name_registry.hpp"
#include "gateway/service_notify.hpp"
#include "gateway/shard.hpp"
#include "metrics/gateway_stats.hpp"
#include "metrics/prometheus.hpp"

namespace tg::gateway {

class Server {
 public:
  explicit Server(Config config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds one SO_REUSEPORT socket per worker, serves /metrics on --metrics-listen (unless
  // empty) and starts every thread. Throws std::runtime_error with a readable message
  // (bad address, port in use, ...).
  void start();
  // The bound port (useful with --listen HOST:0).
  uint16_t port() const { return port_; }
  // The bound metrics port (useful with --metrics-listen HOST:0); 0 when metrics are off.
  uint16_t metrics_port() const { return metrics_port_; }
  // The bound publish API port (useful with --api-listen HOST:0); 0 when the API is off.
  uint16_t api_port() const { return api_port_; }
  // Calls `on_ready` once signal handlers are in place, blocks until SIGINT or
  // SIGTERM, then: stop accepting, flush the pending window,
  // close every client with 1001, drain up to --drain-timeout-ms. Returns the exit code.
  int run_until_signal(const std::function<void()>& on_ready);
  // The shutdown sequence itself (also for tests that do not use signals).
  void shutdown();

  // What SIGHUP reads: the configuration the flags, environment and file give now, or
  // why they give none (the running configuration then stays).
  struct Reloaded {
    std::optional<Config> config;
    std::string error;
  };
  void set_reloader(std::function<Reloaded()> reloader) { reloader_ = std::move(reloader); }
  // Main thread (SIGHUP): reads the configuration again, applies what can change while
  // running (reload.hpp), and logs what changed and what needs a restart.
  void reload();

 private:
  int bind_socket(uint16_t port);
  int bind_api_socket();  // --api-listen, on Shard 0's loop
  void start_metrics();
  void stop_metrics();
  template <typename Fn>
  void on_every_shard_and_wait(Fn fn);
  void watchdog_tick();
  void reload_api_key();
  // --tls-cert: reads the certificate and key (at start: throws when they are unusable;
  // at a reload: logs why and keeps the pair in use) and hands the context to the Shards.
  void load_tls(bool at_start);

  Config config_;
  Config
      given_;  // the configuration as read (before defaults are resolved): what a reload compares
  std::function<Reloaded()> reloader_;
  ServiceNotify notify_;
  std::atomic<size_t> watchdog_answers_{0};  // Shards that answered the latest watchdog tick
  bool watchdog_asked_ = false;
  NameRegistry names_;
  std::atomic<uint64_t> next_client_id_{1};
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<batcher::Batcher> batcher_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<metrics::GatewayStats> stats_;
  std::shared_ptr<metrics::MetricsCollector> collector_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // after collector_: stops first
  uint16_t port_ = 0;
  uint16_t metrics_port_ = 0;
  std::unique_ptr<ApiServer> api_;  // --api-listen
  uint16_t api_port_ = 0;
  bool stopped_ = false;
  std::shared_ptr<tls::TlsContext> tls_;  // the pair new connections get; null: plaintext
};

}  // namespace tg::gateway
