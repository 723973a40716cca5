// shard_counters.hpp -- everything a Shard counts, in one table. Each row of
// TG_SHARD_SCALARS or TG_SHARD_BY_LABEL is a counter or gauge of ShardCounters, a field of
// StatsSnapshot::Worker, a read in GatewayStats::snapshot() and a Prometheus family, all
// derived from that one row: adding a counter is adding a row (docs/ARCHITECTURE.md).
// A leaf: it depends on nothing above common/ but the handshake's status slots.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>

#include "common/counter.hpp"
#include "common/histogram.hpp"
#include "ws/handshake.hpp"

namespace tg::metrics {

// Why a connection ended (metric label `reason` of tidegate_connections_closed_total).
#define TG_CLOSE_REASONS(X)                                                                 \
  X(kClient, "client")                                                                      \
  X(kHttpDone, "http_done")                                                                 \
  X(kHandshakeTimeout, "handshake_timeout")                                                 \
  X(kHttpError, "http_error")                                                               \
  X(kProtocol, "protocol_error")                                                            \
  X(kSlow, "slow")                                                                          \
  X(kShutdown, "shutdown")                                                                  \
  X(kIoError, "io_error")                                                                   \
  X(kTooBig, "too_big")             /* sent close 1009 */                                   \
  X(kRateLimit, "rate_limit")       /* over --rate-limit for seconds on end (close 1008) */ \
  X(kIdle, "idle")                  /* no answer to a ping after --idle-timeout-s (1001) */ \
  X(kOverLimit, "over_limit")       /* over a connection limit (503/429, or dropped) */     \
  X(kTokenExpired, "token_expired") /* its token's exp passed (close 1008) */               \
  X(kTlsError, "tls_error")         /* --tls-cert: a failed handshake or a bad record */

// Why a client message was not sent on (tidegate_messages_rejected_total).
#define TG_REJECT_REASONS(X)        \
  X(kBadRequest, "bad_request")     \
  X(kNotJoined, "not_joined")       \
  X(kShuttingDown, "shutting_down") \
  X(kTooBig, "too_big")             \
  X(kRateLimit, "rate_limit")       \
  X(kUnavailable, "unavailable") /* cluster mode: Redis unreachable */

// Which limit a refused connection was over (tidegate_connections_refused_total).
#define TG_REFUSE_REASONS(X)            \
  X(kMaxConnections, "max_connections") \
  X(kMaxConnectionsPerIp, "max_connections_per_ip")

// Which limit a refused join or connect was over (tidegate_rooms_refused_total).
#define TG_ROOM_REFUSE_REASONS(X) \
  X(kMaxRooms, "max_rooms")       \
  X(kMaxRoomsPerClient, "max_rooms_per_client")

// Why authentication refused something (tidegate_auth_refused_total). The first seven
// are auth::TokenError's, in its order (a bad token at the handshake or in a refresh).
#define TG_AUTH_REFUSE_REASONS(X)                                                         \
  X(kTooLong, "too_long")                                                                 \
  X(kMalformed, "malformed")                                                              \
  X(kBadAlg, "bad_alg")                                                                   \
  X(kBadSignature, "bad_signature")                                                       \
  X(kBadClaims, "bad_claims")                                                             \
  X(kExpired, "expired")                                                                  \
  X(kNotYetValid, "not_yet_valid")                                                        \
  X(kMissing, "missing_token")              /* --auth required, no token: 401 */          \
  X(kForbiddenRoom, "forbidden_room")       /* the connect's room not readable: 403 */    \
  X(kForbiddenJoin, "forbidden_join")       /* a join of a room not readable */           \
  X(kForbiddenPublish, "forbidden_publish") /* a message to a room not publishable */     \
  X(kForbiddenName, "forbidden_name")       /* a name claim, which auth does not allow */ \
  X(kOtherUser, "other_user")               /* a refresh with another sub's token */      \
  X(kAnonymousRefresh, "anonymous_refresh") /* a refresh on an anonymous connection */    \
  X(kSessionExpired, "session_expired")     /* a connected client's token ran out: closed */
// How a TLS handshake on the --tls-cert listener ended (tidegate_tls_handshakes_total).
#define TG_TLS_HANDSHAKE_RESULTS(X)                                                             \
  X(kOk, "ok")                                                                                  \
  X(kFailed, "failed")                /* a bad ClientHello, no common version or cipher, ... */ \
  X(kTimeout, "timeout")              /* not finished within --handshake-timeout-ms */          \
  X(kPlaintextHttp, "plaintext_http") /* an HTTP request on the TLS port */

#define TG_ENUMERATOR(e, label) e,
enum class CloseReason : uint8_t { TG_CLOSE_REASONS(TG_ENUMERATOR) kCount };
enum class RejectReason : uint8_t { TG_REJECT_REASONS(TG_ENUMERATOR) kCount };
enum class RefuseReason : uint8_t { TG_REFUSE_REASONS(TG_ENUMERATOR) kCount };
enum class RoomRefuseReason : uint8_t { TG_ROOM_REFUSE_REASONS(TG_ENUMERATOR) kCount };
enum class AuthRefuseReason : uint8_t { TG_AUTH_REFUSE_REASONS(TG_ENUMERATOR) kCount };
enum class TlsHandshakeResult : uint8_t { TG_TLS_HANDSHAKE_RESULTS(TG_ENUMERATOR) kCount };
#undef TG_ENUMERATOR

// The array index of a reason, and how many there are.
template <typename Reason>
constexpr size_t slot(Reason r) {
  return static_cast<size_t>(r);
}
template <typename Reason>
constexpr size_t kSlots = static_cast<size_t>(Reason::kCount);

// Each reason's label value, from the same rows as its enumerator.
#define TG_LABEL(e, label) label,
inline constexpr const char* kCloseReasonNames[] = {TG_CLOSE_REASONS(TG_LABEL)};
inline constexpr const char* kRejectReasonNames[] = {TG_REJECT_REASONS(TG_LABEL)};
inline constexpr const char* kRefuseReasonNames[] = {TG_REFUSE_REASONS(TG_LABEL)};
inline constexpr const char* kRoomRefuseReasonNames[] = {TG_ROOM_REFUSE_REASONS(TG_LABEL)};
inline constexpr const char* kAuthRefuseReasonNames[] = {TG_AUTH_REFUSE_REASONS(TG_LABEL)};
inline constexpr const char* kTlsHandshakeResultNames[] = {TG_TLS_HANDSHAKE_RESULTS(TG_LABEL)};
#undef TG_LABEL

inline const char* close_reason_name(CloseReason r) {
  return kCloseReasonNames[slot(r)];
}
inline const char* reject_reason_name(RejectReason r) {
  return kRejectReasonNames[slot(r)];
}
inline const char* refuse_reason_name(RefuseReason r) {
  return kRefuseReasonNames[slot(r)];
}

// One value per worker: X(field, type, metric type, metric name, help). `type` is a
// common/counter.hpp type; the metric type is Counter or Gauge.
#define TG_SHARD_SCALARS(X)                                                                        \
  X(open, Gauge<int64_t>, Gauge, "tidegate_connections_open", "WebSocket clients connected now")   \
  X(accepted, Counter, Counter, "tidegate_connections_accepted_total", "TCP connections accepted") \
  X(upgraded, Counter, Counter, "tidegate_connections_upgraded_total",                             \
    "Connections upgraded to WebSocket")                                                           \
  X(accept_errors, Counter, Counter, "tidegate_accept_errors_total",                               \
    "Accepts that failed even after libuv shed the fd limit (EMFILE)")                             \
  X(messages_in, Counter, Counter, "tidegate_messages_received_total",                             \
    "Chat messages accepted from clients")                                                         \
  X(deliveries, Counter, Counter, "tidegate_deliveries_total",                                     \
    "Events delivered to clients (events x clients), at write completion")                         \
  X(writes, Counter, Counter, "tidegate_socket_writes_total",                                      \
    "Completed socket writes (one per writev)")                                                    \
  X(bytes_out, Counter, Counter, "tidegate_written_bytes_total",                                   \
    "Bytes written to client sockets (HTTP and WebSocket bytes: with --tls-cert, before "          \
    "encryption)")                                                                                 \
  X(busy, Gauge<double>, Gauge, "tidegate_loop_busy_ratio",                                        \
    "Fraction of time the worker's loop was busy (last 50 ms)")                                    \
  X(clients_behind, Gauge<uint64_t>, Gauge, "tidegate_clients_behind",                             \
    "Clients with batches due but not yet written")                                                \
  X(gaps, Counter, Counter, "tidegate_gaps_total", "Gap notices sent to clients")                  \
  X(skipped_msgs, Counter, Counter, "tidegate_skipped_messages_total",                             \
    "Messages clients lost in gaps")                                                               \
  X(log_bytes, Gauge<uint64_t>, Gauge, "tidegate_room_log_bytes",                                  \
    "Frame bytes held by the worker's room log replicas, JSON frames only once built (workers "    \
    "share the frames; tidegate_history_bytes is what the budget counts)")                         \
  X(buffer_bytes, Gauge<uint64_t>, Gauge, "tidegate_connection_buffer_bytes",                      \
    "Heap bytes of the worker's connection buffers (write queues, WebSocket parser state), "       \
    "sampled about once a second after idle connections gave theirs back")                         \
  X(deflated_batches, Counter, Counter, "tidegate_deflated_batches_total",                         \
    "Batches deflated for permessage-deflate clients (once per batch, worker and window size)")    \
  X(deflate_saved_bytes, Counter, Counter, "tidegate_deflate_saved_bytes_total",                   \
    "Bytes permessage-deflate saved: uncompressed JSON frames minus the frames queued instead")    \
  X(v2_framed_alone, Counter, Counter, "tidegate_v2_framed_alone_total",                           \
    "tidegate.v2.zstd: batches of rooms without a stream framed alone for a v2 client (once per "  \
    "batch and worker)")

// One counter per label value, summed over workers in the metrics (label cardinality
// stays low): X(field, label values (an array: one counter each), label, metric name,
// help).
#define TG_SHARD_BY_LABEL(X)                                                                     \
  X(closed, kCloseReasonNames, "reason", "tidegate_connections_closed_total",                    \
    "Connections closed, by reason")                                                             \
  X(rejected, kRejectReasonNames, "reason", "tidegate_messages_rejected_total",                  \
    "Client messages not sent on, by reason")                                                    \
  X(handshake_failed, ws::kHandshakeStatusLabels, "status", "tidegate_handshake_failures_total", \
    "Requests refused before or at the WebSocket upgrade, by HTTP status")                       \
  X(refused, kRefuseReasonNames, "reason", "tidegate_connections_refused_total",                 \
    "Connections refused for being over a limit (answered 503 or 429, or dropped when too "      \
    "many refusals were under way), by the limit they were over")                                \
  X(rooms_refused, kRoomRefuseReasonNames, "reason", "tidegate_rooms_refused_total",             \
    "Joins (error too_many_rooms) and connects (503) refused for being over a room limit, by "   \
    "the limit")                                                                                 \
  X(auth_refused, kAuthRefuseReasonNames, "reason", "tidegate_auth_refused_total",               \
    "Refusals of authentication (--auth): bad tokens at the handshake or in a refresh, joins, "  \
    "messages and name claims not allowed, sessions closed when their token expired")            \
  X(tls_handshakes, kTlsHandshakeResultNames, "result", "tidegate_tls_handshakes_total",         \
    "TLS handshakes on the --tls-cert listener, by how they ended (plaintext_http: an HTTP "     \
    "request on the TLS port, answered 400 and closed)")

// What a Shard counts. Written only by the Shard's thread, read by any (metrics scrapes,
// the window controller): see common/counter.hpp.
struct ShardCounters {
  TG_SHARD_SCALARS(TG_COUNTER_FIELD)
#define TG_LABELED_FIELD(field, labels, ...) Counter field[std::size(labels)];
  TG_SHARD_BY_LABEL(TG_LABELED_FIELD)
#undef TG_LABELED_FIELD
  // Not exported on their own: the window controller's input, and one histogram over
  // every worker (see StatsSnapshot::latency_ns).
  PeakGauge lag_ns;  // batch built -> its write to a client completed, peak
  // Loop time spent on fan-out: delivering batches to rooms and members, and completing
  // writes (not connects, HTTP, pings or reads), in ns.
  Counter fanout_ns;
  // Receive of a write's oldest batch's first event -> that write completed, in ns; one
  // sample per write that carried batches.
  Histogram latency_ns{Histogram::exponential(25000, 2, 20)};  // 25 us .. 13 s
};

}  // namespace tg::metrics
