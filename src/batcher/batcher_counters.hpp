// batcher_counters.hpp -- what the Batcher thread counts about its flushes and batches, in
// one table: each row is a field of BatcherCounters (written only by that thread), of
// StatsSnapshot, and a Prometheus family (metrics/). Adding a counter is adding a row.
#pragma once

#include "common/counter.hpp"
#include "common/histogram.hpp"

namespace tg::batcher {

// X(field, type, metric type, metric name, help).
#define TG_BATCHER_SCALARS(X)                                                                      \
  X(flushes, Counter, Counter, "tidegate_flushes_total", "Flushes that had events")                \
  X(events, Counter, Counter, "tidegate_events_flushed_total",                                     \
    "Events (messages, joins, leaves, renames) flushed")                                           \
  X(batches, Counter, Counter, "tidegate_batches_total", "Batches built (one per room per flush)") \
  X(raw_bytes, Counter, Counter, "tidegate_batch_raw_bytes_total",                                 \
    "JSON bytes of built batches, before compression")                                             \
  X(compressed_bytes, Counter, Counter, "tidegate_batch_compressed_bytes_total",                   \
    "Bytes of the zstd frames of built batches")                                                   \
  X(rooms, Gauge<uint64_t>, Gauge, "tidegate_rooms",                                               \
    "Rooms with at least one member (as of their last batch)")

// X(field, bucket bounds, metric name, help, factor from the recorded unit to the
// metric's). Per batch: events it carries and bytes of its zstd frame; per flush, in ns:
// building (encode + compress + frame) and the whole flush.
#define TG_BATCHER_HISTOGRAMS(X)                                                                \
  X(batch_msgs, Histogram::exponential(1, 2, 14) /* 1 .. 8192 */, "tidegate_batch_events",      \
    "Events per batch", 1)                                                                      \
  X(batch_bytes, Histogram::exponential(64, 2, 18) /* 64 B .. 8 MiB */, "tidegate_batch_bytes", \
    "Bytes of a batch's zstd frame", 1)                                                         \
  X(encode_ns, Histogram::exponential(1000, 2, 20) /* 1 us .. 0.5 s */,                         \
    "tidegate_encode_duration_seconds",                                                         \
    "Time a flush spent encoding, compressing and framing its batches", 1e-9)                   \
  X(room_window_us, Histogram::exponential(500, 2, 10) /* 0.5 ms .. 256 ms */,                  \
    "tidegate_room_window_seconds",                                                             \
    "The window each flushed room batch was collected over (0: the next loop turn)", 1e-6)      \
  X(flush_ns, Histogram::exponential(1000, 2, 20), "tidegate_flush_duration_seconds",           \
    "Time a flush took, building and handing batches to the workers", 1e-9)

struct BatcherCounters {
  TG_BATCHER_SCALARS(TG_COUNTER_FIELD)
#define TG_HISTOGRAM_FIELD(field, bounds, name, help, scale) Histogram field{bounds};
  TG_BATCHER_HISTOGRAMS(TG_HISTOGRAM_FIELD)
#undef TG_HISTOGRAM_FIELD
};

}  // namespace tg::batcher
