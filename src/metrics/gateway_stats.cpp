// gateway_stats.cpp -- reading the counters of every Shard and of the Batcher, and the
// GET /stats document.
#include "metrics/gateway_stats.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/clock.hpp"
#include "common/memory.hpp"

namespace tg::metrics {

namespace {
constexpr uint64_t kRateMinNs = 1000000000;  // measure messages/s over at least 1 s

StatsSnapshot::Worker read_worker(const ShardCounters& counters) {
  StatsSnapshot::Worker snapshot;
  TG_SHARD_SCALARS(TG_READ_VALUE)
#define TG_READ_LABELED(field, ...) \
  for (size_t i = 0; i < snapshot.field.size(); ++i) snapshot.field[i] = counters.field[i].get();
  TG_SHARD_BY_LABEL(TG_READ_LABELED)
#undef TG_READ_LABELED
  return snapshot;
}

void read_batcher(const batcher::BatcherCounters& counters, StatsSnapshot& snapshot) {
  TG_BATCHER_SCALARS(TG_READ_VALUE)
  for (size_t i = 0; i < snapshot.rooms_by_bytes.size(); ++i)
    snapshot.rooms_by_bytes[i] = counters.rooms_by_bytes[i].get();
#define TG_READ_HISTOGRAM(field, ...) snapshot.field = counters.field.snapshot();
  TG_BATCHER_HISTOGRAMS(TG_READ_HISTOGRAM)
#undef TG_READ_HISTOGRAM
}
}  // namespace

GatewayStats::GatewayStats(std::vector<const ShardCounters*> shards,
                           const batcher::Batcher& batcher,
                           std::function<ConnectionCount()> connections)
    : shards_(std::move(shards)),
      batcher_(batcher),
      connections_(std::move(connections)),
      rate_at_ns_(mono_ns()) {}

StatsSnapshot GatewayStats::snapshot() const {
  StatsSnapshot s;
  for (const ShardCounters* c : shards_) {
    s.workers.push_back(read_worker(*c));
    s.latency_ns.merge(c->latency_ns.snapshot());
  }
  ConnectionCount n = connections_();
  s.connection_limit = n.limit;
  s.connections_counted = n.counted;
  s.malloc_trims = memory::trims_total();
  s.malloc_trim_ns = memory::trim_ns_total();
  s.tls_cert_not_after = tls_cert_not_after_.load();
  s.window_ms = batcher_.window_ms();
  read_batcher(batcher_.counters(), s);
  s.rooms = batcher_.rooms().size();
  if (api_) {
    s.api = true;
    for (size_t r = 0; r < kApiRoutes; ++r)
      for (size_t i = 0; i < kApiStatusSlots; ++i)
        s.api_requests[r][i] = api_->requests[r][i].get();
    s.api_published = api_->published.get();
    s.api_refused = api_->refused.get();
    s.api_connections = api_->connections.get();
    s.api_latency_ns = api_->latency_ns.snapshot();
  }
  return s;
}

double GatewayStats::messages_per_s(uint64_t total, uint64_t now_ns) {
  std::lock_guard lock(rate_mu_);
  uint64_t dt = now_ns - rate_at_ns_;
  if (dt >= kRateMinNs) {  // a new measurement: from the previous one to now
    rate_ = static_cast<double>(total - rate_total_) * 1e9 / static_cast<double>(dt);
    rate_total_ = total;
    rate_at_ns_ = now_ns;
    measured_ = true;
  } else if (!measured_ && dt > 0) {  // the first second: since start
    rate_ = static_cast<double>(total) * 1e9 / static_cast<double>(dt);
  }
  return rate_;
}

std::string GatewayStats::stats_body() {
  StatsSnapshot s = snapshot();
  return stats_json(s, messages_per_s(s.messages_in_total(), mono_ns()));
}

std::string stats_json(const StatsSnapshot& s, double messages_per_s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("clients");
  w.Int64(s.open_total());
  w.Key("rooms");
  w.Uint64(s.rooms);
  w.Key("history_bytes");
  w.Uint64(s.history_bytes);
  w.Key("window_ms");
  w.Double(s.window_ms);
  w.Key("messages_per_s");
  w.Double(messages_per_s);
  w.Key("messages_total");
  w.Uint64(s.messages_in_total());
  w.Key("deliveries_total");
  w.Uint64(s.deliveries_total());
  w.Key("workers");
  w.Uint64(s.workers.size());
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

}  // namespace tg::metrics
