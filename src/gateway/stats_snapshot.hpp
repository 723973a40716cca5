// stats_snapshot.hpp -- StatsSnapshot: every Shard's and the Batcher's counters read at
// one moment, as plain numbers; what metrics scrapes and GET /stats are built from.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "common/histogram.hpp"
#include "gateway/connection.hpp"
#include "gateway/shard.hpp"

namespace tg::gateway {

struct StatsSnapshot {
  static constexpr size_t kCloseReasons = static_cast<size_t>(CloseReason::kCount);
  static constexpr size_t kRejectReasons = static_cast<size_t>(RejectReason::kCount);

  // One Shard's counters (see ShardCounters for what each means).
  struct Worker {
    uint64_t accepted = 0;
    uint64_t upgraded = 0;
    int64_t open = 0;
    uint64_t messages_in = 0;
    uint64_t deliveries = 0;
    uint64_t bytes_out = 0;
    uint64_t writes = 0;
    uint64_t gaps = 0;
    uint64_t skipped_msgs = 0;
    uint64_t clients_behind = 0;
    uint64_t log_bytes = 0;
    double busy = 0;
    uint64_t refused_full = 0;
    uint64_t refused_addr = 0;
    uint64_t accept_errors = 0;
    std::array<uint64_t, kCloseReasons> closed{};
    std::array<uint64_t, kRejectReasons> rejected{};
    std::array<uint64_t, kHandshakeStatusSlots> handshake_failed{};
  };

  std::vector<Worker> workers;
  Histogram::Snapshot latency_ns;  // every Shard's, added up
  uint64_t connection_limit = 0;     // --max-connections in force (0: none)
  uint64_t connections_counted = 0;  // connections counted against it now (WebSocket or HTTP)

  // The Batcher's (see BatcherCounters).
  double window_ms = 0;
  uint64_t flushes = 0;
  uint64_t events = 0;
  uint64_t batches = 0;
  uint64_t raw_bytes = 0;
  uint64_t compressed_bytes = 0;
  uint64_t rooms = 0;
  Histogram::Snapshot batch_msgs;
  Histogram::Snapshot batch_bytes;
  Histogram::Snapshot encode_ns;
  Histogram::Snapshot flush_ns;

  int64_t open_total() const {
    int64_t n = 0;
    for (const Worker& w : workers) n += w.open;
    return n;
  }
  uint64_t messages_in_total() const {
    uint64_t n = 0;
    for (const Worker& w : workers) n += w.messages_in;
    return n;
  }
  uint64_t deliveries_total() const {
    uint64_t n = 0;
    for (const Worker& w : workers) n += w.deliveries;
    return n;
  }
};

}  // namespace tg::gateway
