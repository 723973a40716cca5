// batcher_counters.hpp -- BatcherCounters: what the Batcher thread counts about its
// flushes and batches; written only by that thread, read by metrics scrapes.
#pragma once

#include "common/counter.hpp"
#include "common/histogram.hpp"

namespace tg::batcher {

struct BatcherCounters {
  Counter flushes;           // flushes that had events
  Counter events;            // events flushed (messages and membership changes)
  Counter batches;           // batches built (one per room per flush)
  Counter raw_bytes;         // JSON bytes of the batches before compression
  Counter compressed_bytes;  // bytes of the zstd frames built from them
  Gauge<uint64_t> rooms;     // rooms with at least one member, as of their last batch
  // Per batch: events it carries, and bytes of its zstd frame.
  Histogram batch_msgs{Histogram::exponential(1, 2, 14)};    // 1 .. 8192
  Histogram batch_bytes{Histogram::exponential(64, 2, 18)};  // 64 B .. 8 MiB
  // Per flush, in ns: building (encode + compress + frame) and the whole flush.
  Histogram encode_ns{Histogram::exponential(1000, 2, 20)};  // 1 us .. 0.5 s
  Histogram flush_ns{Histogram::exponential(1000, 2, 20)};
};

}  // namespace tg::batcher
