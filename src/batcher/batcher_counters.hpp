// batcher_counters.hpp -- what the Batcher thread counts about its flushes and batches, in
// one table: each row is a field of BatcherCounters (written only by that thread), of
// StatsSnapshot, and a Prometheus family (metrics/). Adding a counter is adding a row.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>

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
  X(history_bytes, Gauge<uint64_t>, Gauge, "tidegate_history_bytes",                               \
    "Bytes held by all room logs, each batch counted once (binary frame + JSON text frame)")       \
  X(history_budget, Gauge<uint64_t>, Gauge, "tidegate_history_budget_bytes",                       \
    "What all room logs together may hold (--history-total-bytes)")                                \
  X(history_evicted_batches, Counter, Counter, "tidegate_history_evicted_batches_total",           \
    "Batches dropped from room logs to stay within --history-total-bytes")                         \
  X(history_evicted_bytes, Counter, Counter, "tidegate_history_evicted_bytes_total",               \
    "Bytes dropped from room logs to stay within --history-total-bytes")                           \
  X(rooms_expired, Counter, Counter, "tidegate_rooms_expired_total",                               \
    "Rooms forgotten after --room-ttl-s without members")                                          \
  X(backplane_up, Gauge<uint64_t>, Gauge, "tidegate_backplane_up",                                 \
    "Cluster mode: 1 while the Redis backplane is connected, else 0")                              \
  X(backplane_compressions, Counter, Counter, "tidegate_backplane_compressions_total",             \
    "Cluster mode: batches this node encoded and compressed (again after a conflict)")             \
  X(backplane_appends, Counter, Counter, "tidegate_backplane_appends_total",                       \
    "Cluster mode: batches proposed to the room logs in Redis")                                    \
  X(backplane_conflicts, Counter, Counter, "tidegate_backplane_append_conflicts_total",            \
    "Cluster mode: appends refused because another node appended first (proposed again)")          \
  X(backplane_errors, Counter, Counter, "tidegate_backplane_append_errors_total",                  \
    "Cluster mode: appends that failed (Redis unreachable or an error reply)")                     \
  X(backplane_refused, Counter, Counter, "tidegate_backplane_refused_events_total",                \
    "Cluster mode: events not sent because Redis was unreachable (senders told)")                  \
  X(backplane_read, Counter, Counter, "tidegate_backplane_batches_read_total",                     \
    "Cluster mode: batches read from the room logs that other nodes appended")                     \
  X(backplane_epochs_lost, Counter, Counter, "tidegate_backplane_epochs_lost_total",               \
    "Cluster mode: room logs found lost in Redis (a new epoch started, members told)")             \
  X(backplane_commands, Counter, Counter, "tidegate_backplane_commands_total",                     \
    "Cluster mode: Redis commands answered")                                                       \
  X(v2_bytes, Counter, Counter, "tidegate_v2_compressed_bytes_total",                              \
    "tidegate.v2.zstd: bytes of the room streams' batch payloads (header and zstd bytes)")         \
  X(v2_keyframes, Counter, Counter, "tidegate_v2_keyframes_total",                                 \
    "tidegate.v2.zstd: batches that start a new zstd frame (where a client may start decoding)")   \
  X(v2_streams, Gauge<uint64_t>, Gauge, "tidegate_v2_streams",                                     \
    "tidegate.v2.zstd: room compression streams open (quiet rooms release theirs)")

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
    "Time a flush took, building and handing batches to the workers", 1e-9)                     \
  X(backplane_rtt_ns, Histogram::exponential(16000, 2, 16) /* 16 us .. 0.5 s */,                \
    "tidegate_backplane_rtt_seconds", "Cluster mode: round trip of each Redis command", 1e-9)   \
  X(backplane_lag_us, Histogram::exponential(16, 2, 16) /* 16 us .. 0.5 s */,                   \
    "tidegate_backplane_lag_seconds",                                                           \
    "Cluster mode: from another node's append to its delivery here (wall clocks)", 1e-6)

// Upper bounds of tidegate_rooms_by_history_bytes: 1 KiB, 4 KiB, ... 64 MiB (and +Inf).
inline constexpr uint64_t kRoomBytesBounds[] = {1u << 10, 1u << 12, 1u << 14, 1u << 16, 1u << 18,
                                                1u << 20, 1u << 22, 1u << 24, 1u << 26};
constexpr size_t kRoomBytesBuckets = std::size(kRoomBytesBounds) + 1;

struct BatcherCounters {
  TG_BATCHER_SCALARS(TG_COUNTER_FIELD)
  // Rooms whose log holds at most each bound of kRoomBytesBounds (the last: every room),
  // recomputed at most once a second: a gauge histogram.
  Gauge<uint64_t> rooms_by_bytes[kRoomBytesBuckets];
#define TG_HISTOGRAM_FIELD(field, bounds, name, help, scale) Histogram field{bounds};
  TG_BATCHER_HISTOGRAMS(TG_HISTOGRAM_FIELD)
#undef TG_HISTOGRAM_FIELD
};

}  // namespace tg::batcher
