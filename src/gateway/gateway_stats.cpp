// gateway_stats.cpp -- reading the counters of every Shard and of the Batcher, and the
// GET /stats document.
#include "gateway/gateway_stats.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <uv.h>

#include "gateway/shard.hpp"

namespace tg::gateway {

namespace {
constexpr uint64_t kRateMinNs = 1000000000;  // measure messages/s over at least 1 s

StatsSnapshot::Worker read_worker(ShardCounters& c) {
  StatsSnapshot::Worker w;
  w.accepted = c.accepted.get();
  w.upgraded = c.upgraded.get();
  w.open = c.open.get();
  w.messages_in = c.messages_in.get();
  w.deliveries = c.deliveries.get();
  w.bytes_out = c.bytes_out.get();
  w.writes = c.writes.get();
  w.gaps = c.gaps.get();
  w.skipped_msgs = c.skipped_msgs.get();
  w.clients_behind = c.clients_behind.get();
  w.log_bytes = c.log_bytes.get();
  w.busy = c.busy.get();
  w.refused_full = c.refused_full.get();
  w.refused_addr = c.refused_addr.get();
  w.accept_errors = c.accept_errors.get();
  for (size_t i = 0; i < w.closed.size(); ++i) w.closed[i] = c.closed[i].get();
  for (size_t i = 0; i < w.rejected.size(); ++i) w.rejected[i] = c.rejected[i].get();
  for (size_t i = 0; i < w.handshake_failed.size(); ++i)
    w.handshake_failed[i] = c.handshake_failed[i].get();
  return w;
}
}  // namespace

GatewayStats::GatewayStats(std::vector<Shard*> shards, const batcher::Batcher& batcher,
                           const Admission& admission)
    : shards_(std::move(shards)),
      batcher_(batcher),
      admission_(admission),
      rate_at_ns_(uv_hrtime()) {}

StatsSnapshot GatewayStats::snapshot() const {
  StatsSnapshot s;
  for (Shard* shard : shards_) {
    ShardCounters& c = shard->counters();
    s.workers.push_back(read_worker(c));
    s.latency_ns.merge(c.latency_ns.snapshot());
  }
  s.connection_limit = admission_.max_total();
  s.connections_counted = admission_.open();
  const batcher::BatcherCounters& b = batcher_.counters();
  s.window_ms = batcher_.window_ms();
  s.flushes = b.flushes.get();
  s.events = b.events.get();
  s.batches = b.batches.get();
  s.raw_bytes = b.raw_bytes.get();
  s.compressed_bytes = b.compressed_bytes.get();
  s.rooms = b.rooms.get();
  s.batch_msgs = b.batch_msgs.snapshot();
  s.batch_bytes = b.batch_bytes.snapshot();
  s.encode_ns = b.encode_ns.snapshot();
  s.flush_ns = b.flush_ns.snapshot();
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
  return stats_json(s, messages_per_s(s.messages_in_total(), uv_hrtime()));
}

std::string stats_json(const StatsSnapshot& s, double messages_per_s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("clients");
  w.Int64(s.open_total());
  w.Key("rooms");
  w.Uint64(s.rooms);
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

}  // namespace tg::gateway
