// stats_snapshot.hpp -- StatsSnapshot: every Shard's and the Batcher's counters read at
// one moment, as plain numbers; what metrics scrapes and GET /stats are built from. Its
// fields come from the counter tables (metrics/shard_counters.hpp,
// batcher/batcher_counters.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "batcher/batcher_counters.hpp"
#include "common/histogram.hpp"
#include "metrics/api_counters.hpp"
#include "metrics/shard_counters.hpp"

namespace tg::metrics {

struct StatsSnapshot {
  // One Shard's counters (see TG_SHARD_SCALARS and TG_SHARD_BY_LABEL).
  struct Worker {
    TG_SHARD_SCALARS(TG_VALUE_FIELD)
#define TG_LABELED_FIELD(field, labels, ...) std::array<uint64_t, std::size(labels)> field{};
    TG_SHARD_BY_LABEL(TG_LABELED_FIELD)
#undef TG_LABELED_FIELD
  };

  std::vector<Worker> workers;
  Histogram::Snapshot latency_ns;    // every Shard's, added up
  uint64_t connection_limit = 0;     // --max-connections in force (0: none)
  uint64_t connections_counted = 0;  // connections counted against it now (WebSocket or HTTP)
  uint64_t malloc_trims = 0;         // heap given back to the system (common/memory.hpp)
  uint64_t malloc_trim_ns = 0;       // time those trims took
  int64_t tls_cert_not_after =
      0;  // --tls-cert: the loaded certificate's expiry (Unix s); 0: no TLS

  // The Batcher's (see TG_BATCHER_SCALARS and TG_BATCHER_HISTOGRAMS).
  double window_ms = 0;
  TG_BATCHER_SCALARS(TG_VALUE_FIELD)
  uint64_t rooms = 0;  // rooms alive (the room directory)
  // Rooms whose log holds at most each of batcher::kRoomBytesBounds (the last: all).
  std::array<uint64_t, batcher::kRoomBytesBuckets> rooms_by_bytes{};
#define TG_HISTOGRAM_FIELD(field, bounds, name, help, scale) Histogram::Snapshot field;
  TG_BATCHER_HISTOGRAMS(TG_HISTOGRAM_FIELD)
#undef TG_HISTOGRAM_FIELD

  // The publish API's (api_counters.hpp), when --api-listen is set.
  bool api = false;
  std::array<std::array<uint64_t, kApiStatusSlots>, kApiRoutes> api_requests{};
  uint64_t api_published = 0;
  uint64_t api_refused = 0;
  int64_t api_connections = 0;
  Histogram::Snapshot api_latency_ns;

  int64_t open_total() const {
    return sum(&Worker::open);
  }
  uint64_t messages_in_total() const {
    return sum(&Worker::messages_in);
  }
  uint64_t deliveries_total() const {
    return sum(&Worker::deliveries);
  }

 private:
  template <typename T>
  T sum(T Worker::*field) const {
    T n{};
    for (const Worker& w : workers) n += w.*field;
    return n;
  }
};

}  // namespace tg::metrics
