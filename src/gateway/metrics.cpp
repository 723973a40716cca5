// metrics.cpp -- building the tidegate_* metric families from a StatsSnapshot. Names and
// units follow Prometheus's conventions (https://prometheus.io/docs/practices/naming/):
// base units (seconds, bytes), counters end in _total.
#include "gateway/metrics.hpp"

#include <cmath>
#include <limits>
#include <string>

namespace tg::gateway {

namespace {
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Worker = StatsSnapshot::Worker;

constexpr double kNs = 1e-9;  // ns -> seconds

MetricFamily family(const char* name, const char* help, MetricType type) {
  return MetricFamily{name, help, type, {}};
}

void add_value(MetricFamily& f, std::vector<ClientMetric::Label> labels, double v) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  f.metric.push_back(std::move(m));
}

// One value per worker, labelled worker="<index>".
template <typename Get>
MetricFamily per_worker(const StatsSnapshot& s, const char* name, const char* help, MetricType type,
                        Get get) {
  MetricFamily f = family(name, help, type);
  for (size_t i = 0; i < s.workers.size(); ++i)
    add_value(f, {{"worker", std::to_string(i)}}, static_cast<double>(get(s.workers[i])));
  return f;
}

// One counter per value of `label` (slots 0..n-1, named by `name_of(slot)`), each the sum
// over workers of `get(worker, slot)`: reasons and statuses, not per worker, to keep label
// cardinality low.
template <typename NameOf, typename Get>
MetricFamily summed_by(const StatsSnapshot& s, const char* name, const char* help,
                       const char* label, size_t n, NameOf name_of, Get get) {
  MetricFamily f = family(name, help, MetricType::Counter);
  for (size_t slot = 0; slot < n; ++slot) {
    uint64_t sum = 0;
    for (const Worker& w : s.workers) sum += get(w, slot);
    add_value(f, {{label, name_of(slot)}}, static_cast<double>(sum));
  }
  return f;
}

MetricFamily single(const char* name, const char* help, MetricType type, double v) {
  MetricFamily f = family(name, help, type);
  add_value(f, {}, v);
  return f;
}

// A histogram family of one series; `scale` converts the recorded unit (ns -> s).
MetricFamily histogram(const char* name, const char* help, const Histogram::Snapshot& h,
                       double scale) {
  MetricFamily f = family(name, help, MetricType::Histogram);
  ClientMetric m;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    double bound = i < h.bounds.size() ? static_cast<double>(h.bounds[i]) * scale
                                       : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, bound});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(h.sum) * scale;
  f.metric.push_back(std::move(m));
  return f;
}

void connection_families(const StatsSnapshot& s, std::vector<MetricFamily>& out) {
  out.push_back(per_worker(s, "tidegate_connections_open", "WebSocket clients connected now",
                           MetricType::Gauge, [](const Worker& w) { return w.open; }));
  out.push_back(per_worker(s, "tidegate_connections_accepted_total", "TCP connections accepted",
                           MetricType::Counter, [](const Worker& w) { return w.accepted; }));
  out.push_back(per_worker(s, "tidegate_connections_upgraded_total",
                           "Connections upgraded to WebSocket", MetricType::Counter,
                           [](const Worker& w) { return w.upgraded; }));
  out.push_back(summed_by(
      s, "tidegate_connections_closed_total", "Connections closed, by reason", "reason",
      StatsSnapshot::kCloseReasons,
      [](size_t r) { return std::string(close_reason_name(static_cast<CloseReason>(r))); },
      [](const Worker& w, size_t r) { return w.closed[r]; }));
  out.push_back(summed_by(
      s, "tidegate_handshake_failures_total",
      "Requests refused before or at the WebSocket upgrade, by HTTP status", "status",
      kHandshakeStatusSlots,
      [](size_t i) {
        return i < std::size(kHandshakeStatuses) ? std::to_string(kHandshakeStatuses[i])
                                                 : std::string("other");
      },
      [](const Worker& w, size_t i) { return w.handshake_failed[i]; }));
  out.push_back(summed_by(
      s, "tidegate_connections_refused_total",
      "Connections refused for being over a limit (answered 503 or 429, or dropped when too "
      "many refusals were under way), by the limit they were over", "reason", 2,
      [](size_t i) { return std::string(i == 0 ? "max_connections" : "max_connections_per_ip"); },
      [](const Worker& w, size_t i) { return i == 0 ? w.refused_full : w.refused_addr; }));
  out.push_back(single("tidegate_connection_limit", "Connections allowed at once (--max-connections)",
                       MetricType::Gauge, double(s.connection_limit)));
  out.push_back(single("tidegate_connections_counted",
                       "Connections counted against the limit now (WebSocket clients and "
                       "requests still in HTTP)", MetricType::Gauge, double(s.connections_counted)));
  out.push_back(per_worker(s, "tidegate_accept_errors_total",
                           "Accepts that failed even after libuv shed the fd limit (EMFILE)",
                           MetricType::Counter, [](const Worker& w) { return w.accept_errors; }));
}

void message_families(const StatsSnapshot& s, std::vector<MetricFamily>& out) {
  out.push_back(per_worker(s, "tidegate_messages_received_total",
                           "Chat messages accepted from clients", MetricType::Counter,
                           [](const Worker& w) { return w.messages_in; }));
  out.push_back(summed_by(
      s, "tidegate_messages_rejected_total", "Client messages not sent on, by reason", "reason",
      StatsSnapshot::kRejectReasons,
      [](size_t r) { return std::string(reject_reason_name(static_cast<RejectReason>(r))); },
      [](const Worker& w, size_t r) { return w.rejected[r]; }));
  out.push_back(per_worker(s, "tidegate_deliveries_total",
                           "Events delivered to clients (events x clients), at write completion",
                           MetricType::Counter, [](const Worker& w) { return w.deliveries; }));
  out.push_back(per_worker(s, "tidegate_socket_writes_total",
                           "Completed socket writes (one per writev)", MetricType::Counter,
                           [](const Worker& w) { return w.writes; }));
  out.push_back(per_worker(s, "tidegate_written_bytes_total", "Bytes written to client sockets",
                           MetricType::Counter, [](const Worker& w) { return w.bytes_out; }));
}

void batcher_families(const StatsSnapshot& s, std::vector<MetricFamily>& out) {
  out.push_back(single("tidegate_window_seconds", "Flush window in force", MetricType::Gauge,
                       s.window_ms / 1000.0));
  out.push_back(single("tidegate_flushes_total", "Flushes that had events", MetricType::Counter,
                       double(s.flushes)));
  out.push_back(single("tidegate_events_flushed_total",
                       "Events (messages, joins, leaves, renames) flushed", MetricType::Counter,
                       double(s.events)));
  out.push_back(single("tidegate_batches_total", "Batches built (one per room per flush)",
                       MetricType::Counter, double(s.batches)));
  out.push_back(single("tidegate_batch_raw_bytes_total",
                       "JSON bytes of built batches, before compression", MetricType::Counter,
                       double(s.raw_bytes)));
  out.push_back(single("tidegate_batch_compressed_bytes_total",
                       "Bytes of the zstd frames of built batches", MetricType::Counter,
                       double(s.compressed_bytes)));
  out.push_back(histogram("tidegate_batch_events", "Events per batch", s.batch_msgs, 1));
  out.push_back(
      histogram("tidegate_batch_bytes", "Bytes of a batch's zstd frame", s.batch_bytes, 1));
  out.push_back(histogram("tidegate_encode_duration_seconds",
                          "Time a flush spent encoding, compressing and framing its batches",
                          s.encode_ns, kNs));
  out.push_back(histogram("tidegate_flush_duration_seconds",
                          "Time a flush took, building and handing batches to the workers",
                          s.flush_ns, kNs));
  out.push_back(
      histogram("tidegate_delivery_latency_seconds",
                "Server-side latency: receive of a write's oldest event to the write's completion",
                s.latency_ns, kNs));
  out.push_back(per_worker(s, "tidegate_loop_busy_ratio",
                           "Fraction of time the worker's loop was busy (last 50 ms)",
                           MetricType::Gauge, [](const Worker& w) { return w.busy; }));
}

void slow_client_families(const StatsSnapshot& s, std::vector<MetricFamily>& out) {
  out.push_back(per_worker(s, "tidegate_clients_behind",
                           "Clients with batches due but not yet written", MetricType::Gauge,
                           [](const Worker& w) { return w.clients_behind; }));
  out.push_back(per_worker(s, "tidegate_gaps_total", "Gap notices sent to clients",
                           MetricType::Counter, [](const Worker& w) { return w.gaps; }));
  out.push_back(per_worker(s, "tidegate_skipped_messages_total", "Messages clients lost in gaps",
                           MetricType::Counter, [](const Worker& w) { return w.skipped_msgs; }));
  out.push_back(per_worker(s, "tidegate_room_log_bytes",
                           "Frame bytes held by the worker's room logs (workers share the frames, "
                           "so memory is about one worker's value)",
                           MetricType::Gauge, [](const Worker& w) { return w.log_bytes; }));
  out.push_back(single("tidegate_rooms", "Rooms with at least one member", MetricType::Gauge,
                       double(s.rooms)));
}
}  // namespace

std::vector<MetricFamily> metric_families(const StatsSnapshot& s) {
  std::vector<MetricFamily> out;
  connection_families(s, out);
  message_families(s, out);
  batcher_families(s, out);
  slow_client_families(s, out);
  return out;
}

std::vector<MetricFamily> MetricsCollector::Collect() const {
  return metric_families(stats_.snapshot());
}

}  // namespace tg::gateway
