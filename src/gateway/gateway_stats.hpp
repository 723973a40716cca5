// gateway_stats.hpp -- GatewayStats: gathers every Shard's and the Batcher's counters into
// a StatsSnapshot at read time (metrics scrapes, GET /stats), from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "batcher/batcher.hpp"
#include "gateway/admission.hpp"
#include "gateway/stats_snapshot.hpp"

namespace tg::gateway {

class Shard;

class GatewayStats {
 public:
  // `shards` (index = worker), `batcher` and `admission` must outlive this object.
  GatewayStats(std::vector<Shard*> shards, const batcher::Batcher& batcher,
               const Admission& admission);
  GatewayStats(const GatewayStats&) = delete;
  GatewayStats& operator=(const GatewayStats&) = delete;

  // Any thread, no lock: reads the single-writer counters (relaxed loads). Values of
  // different counters may be a few events apart; each one is monotonic.
  StatsSnapshot snapshot() const;

  // Any thread: the GET /stats body (see stats_json). messages/s is measured between
  // this call and the previous one at least 1 s before it (since start the first time).
  std::string stats_body();

 private:
  double messages_per_s(uint64_t total, uint64_t now_ns);

  std::vector<Shard*> shards_;
  const batcher::Batcher& batcher_;
  const Admission& admission_;
  std::mutex rate_mu_;  // GET /stats only; never on the data path
  uint64_t rate_total_ = 0;
  uint64_t rate_at_ns_;
  double rate_ = 0;
  bool measured_ = false;  // a full measurement (>= 1 s) was taken
};

// The JSON document of GET /stats, one line: {"clients":…,"rooms":…,"window_ms":…,
// "messages_per_s":…,"messages_total":…,"deliveries_total":…,"workers":…}.
std::string stats_json(const StatsSnapshot& s, double messages_per_s);

}  // namespace tg::gateway
