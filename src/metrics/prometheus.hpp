// prometheus.hpp -- MetricsCollector: the prometheus::Collectable that turns a StatsSnapshot,
// taken at scrape time, into tidegate_* metric families (served by prometheus-cpp's
// Exposer on --metrics-listen).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <vector>

#include "metrics/gateway_stats.hpp"
#include "metrics/stats_snapshot.hpp"

namespace tg::metrics {

class MetricsCollector final : public prometheus::Collectable {
 public:
  // `stats` must outlive the collector's registration with an Exposer.
  explicit MetricsCollector(const GatewayStats& stats) : stats_(stats) {}

  // Called by the Exposer's HTTP thread on every scrape.
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const GatewayStats& stats_;
};

// The metric families of one snapshot; every label set is bounded (worker index, a fixed
// list of reasons and statuses), never per client or per room.
std::vector<prometheus::MetricFamily> metric_families(const StatsSnapshot& s);

}  // namespace tg::metrics
