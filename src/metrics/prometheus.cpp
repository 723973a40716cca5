// prometheus.cpp -- building the tidegate_* metric families from a StatsSnapshot. Names and
// units follow Prometheus's conventions (https://prometheus.io/docs/practices/naming/):
// base units (seconds, bytes), counters end in _total.
#include "metrics/prometheus.hpp"

#include <cmath>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>

namespace tg::metrics {

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
  } else if (f.type == MetricType::Untyped) {
    m.untyped.value = v;
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

// One counter per label value (slot i is labelled `values[i]`), each the sum
// over workers of `get(worker, slot)`: reasons and statuses, not per worker, to keep label
// cardinality low.
template <typename Get>
MetricFamily summed_by(const StatsSnapshot& s, const char* name, const char* help,
                       const char* label, std::span<const char* const> values, Get get) {
  MetricFamily f = family(name, help, MetricType::Counter);
  for (size_t slot = 0; slot < values.size(); ++slot) {
    uint64_t sum = 0;
    for (const Worker& w : s.workers) sum += get(w, slot);
    add_value(f, {{label, values[slot]}}, static_cast<double>(sum));
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

}  // namespace

std::vector<MetricFamily> metric_families(const StatsSnapshot& s) {
  std::vector<MetricFamily> out;
  // Every Shard's counters: per worker, or summed by label.
#define TG_SCALAR_FAMILY(field, type, kind, name, help) \
  out.push_back(                                        \
      per_worker(s, name, help, MetricType::kind, [](const Worker& w) { return w.field; }));
  TG_SHARD_SCALARS(TG_SCALAR_FAMILY)
#undef TG_SCALAR_FAMILY
#define TG_LABELED_FAMILY(field, labels, label, name, help) \
  out.push_back(summed_by(s, name, help, label, labels,     \
                          [](const Worker& w, size_t i) { return w.field[i]; }));
  TG_SHARD_BY_LABEL(TG_LABELED_FAMILY)
#undef TG_LABELED_FAMILY
  out.push_back(
      histogram("tidegate_delivery_latency_seconds",
                "Server-side latency: receive of a write's oldest event to the write's completion",
                s.latency_ns, kNs));
  out.push_back(single("tidegate_connection_limit",
                       "Connections allowed at once (--max-connections)", MetricType::Gauge,
                       double(s.connection_limit)));
  out.push_back(single("tidegate_connections_counted",
                       "Connections counted against the limit now (WebSocket clients and "
                       "requests still in HTTP)",
                       MetricType::Gauge, double(s.connections_counted)));
  out.push_back(single("tidegate_malloc_trims_total",
                       "Times freed heap was given back to the system (malloc_trim)",
                       MetricType::Counter, double(s.malloc_trims)));
  out.push_back(single("tidegate_malloc_trim_seconds_total", "Time spent in those malloc_trims",
                       MetricType::Counter, double(s.malloc_trim_ns) / 1e9));

  if (s.tls_cert_not_after != 0)
    out.push_back(single("tidegate_tls_certificate_expiry_timestamp_seconds",
                         "When the --tls-cert certificate in use expires (its notAfter), Unix "
                         "seconds; absent without TLS",
                         MetricType::Gauge, double(s.tls_cert_not_after)));

  // The Batcher's.
  out.push_back(single("tidegate_window_seconds", "The widest room window of the latest flush",
                       MetricType::Gauge, s.window_ms / 1000.0));
#define TG_SCALAR_FAMILY(field, type, kind, name, help) \
  out.push_back(single(name, help, MetricType::kind, double(s.field)));
  TG_BATCHER_SCALARS(TG_SCALAR_FAMILY)
#undef TG_SCALAR_FAMILY
  out.push_back(single("tidegate_rooms",
                       "Rooms alive: created by a join, not yet expired (--room-ttl-s)",
                       MetricType::Gauge, double(s.rooms)));
  {
    // A gauge histogram: rooms by the bytes their log holds, cumulative like a histogram's
    // buckets (histogram_quantile() reads it), but a current count that goes down, with
    // no label per room. The text format has no gauge-histogram type: it is untyped, as
    // `le` on a gauge is reserved for histograms (promtool's lint).
    MetricFamily f = family("tidegate_rooms_by_history_bytes",
                            "Rooms whose log holds at most `le` bytes, a gauge histogram "
                            "recomputed every second",
                            MetricType::Untyped);
    for (size_t i = 0; i < s.rooms_by_bytes.size(); ++i) {
      std::string le = "+Inf";
      if (i < std::size(batcher::kRoomBytesBounds))
        le = std::to_string(batcher::kRoomBytesBounds[i]);
      add_value(f, {{"le", le}}, double(s.rooms_by_bytes[i]));
    }
    out.push_back(std::move(f));
  }
#define TG_HISTOGRAM_FAMILY(field, bounds, name, help, scale) \
  out.push_back(histogram(name, help, s.field, scale));
  TG_BATCHER_HISTOGRAMS(TG_HISTOGRAM_FAMILY)
#undef TG_HISTOGRAM_FAMILY

  // The publish API's (--api-listen), only when it is on.
  if (s.api) {
    MetricFamily f =
        family("tidegate_api_requests_total",
               "Publish API requests answered, by route and HTTP status", MetricType::Counter);
    for (size_t r = 0; r < kApiRoutes; ++r)
      for (size_t i = 0; i < kApiStatusSlots; ++i)
        add_value(f, {{"route", kApiRouteNames[r]}, {"status", kApiStatusNames[i]}},
                  double(s.api_requests[r][i]));
    out.push_back(std::move(f));
    out.push_back(single("tidegate_api_published_messages_total",
                         "Messages published through the API that got their seq",
                         MetricType::Counter, double(s.api_published)));
    out.push_back(single("tidegate_api_refused_messages_total",
                         "Messages published through the API that were not sent (backplane "
                         "unreachable, shutdown, or no seq before the request timeout)",
                         MetricType::Counter, double(s.api_refused)));
    out.push_back(single("tidegate_api_connections", "Publish API connections open now",
                         MetricType::Gauge, double(s.api_connections)));
    out.push_back(histogram("tidegate_api_request_duration_seconds",
                            "Publish API requests: the request read to its answer queued",
                            s.api_latency_ns, kNs));
  }
  return out;
}

std::vector<MetricFamily> MetricsCollector::Collect() const {
  return metric_families(stats_.snapshot());
}

}  // namespace tg::metrics
