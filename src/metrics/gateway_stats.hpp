// gateway_stats.hpp -- GatewayStats: gathers every Shard's and the Batcher's counters into
// a StatsSnapshot at read time (metrics scrapes, GET /stats), from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "batcher/batcher.hpp"
#include "metrics/api_counters.hpp"
#include "metrics/shard_counters.hpp"
#include "metrics/stats_snapshot.hpp"

namespace tg::metrics {

// The connection limit in force (0: none) and the connections counted against it now.
struct ConnectionCount {
  uint64_t limit = 0;
  uint64_t counted = 0;
};

class GatewayStats {
 public:
  // `shards` (index = worker) and `batcher` must outlive this object; `connections` is
  // called from any thread.
  GatewayStats(std::vector<const ShardCounters*> shards, const batcher::Batcher& batcher,
               std::function<ConnectionCount()> connections);
  GatewayStats(const GatewayStats&) = delete;
  GatewayStats& operator=(const GatewayStats&) = delete;

  // Any thread, no lock: reads the single-writer counters (relaxed loads). Values of
  // different counters may be a few events apart; each one is monotonic.
  StatsSnapshot snapshot() const;
  // Before any scrape: the publish API's counters (it outlives this object's use).
  void set_api(const ApiCounters* api) { api_ = api; }

  // Any thread: the GET /stats body (see stats_json). messages/s is measured between
  // this call and the previous one at least 1 s before it (since start the first time).
  std::string stats_body();

  // Any thread: the expiry (Unix seconds) of the TLS certificate in use; 0: no TLS.
  void set_tls_cert_not_after(int64_t t) { tls_cert_not_after_.store(t); }

 private:
  double messages_per_s(uint64_t total, uint64_t now_ns);

  std::vector<const ShardCounters*> shards_;
  const batcher::Batcher& batcher_;
  std::function<ConnectionCount()> connections_;
  const ApiCounters* api_ = nullptr;
  std::mutex rate_mu_;  // GET /stats only; never on the data path
  uint64_t rate_total_ = 0;
  uint64_t rate_at_ns_;
  double rate_ = 0;
  bool measured_ = false;  // a full measurement (>= 1 s) was taken
  std::atomic<int64_t> tls_cert_not_after_{0};
};

// The JSON document of GET /stats, one line: {"clients":…,"rooms":…,"history_bytes":…,
// "window_ms":…,"messages_per_s":…,"messages_total":…,"deliveries_total":…,"workers":…}.
std::string stats_json(const StatsSnapshot& s, double messages_per_s);

}  // namespace tg::metrics
