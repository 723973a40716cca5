// api_counters.hpp -- what the publish API (gateway/api_server.hpp) counts: requests by
// route and status, messages published and refused, request latency. Written by the one
// loop the API runs on, read by metrics scrapes (common/counter.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>

#include "common/counter.hpp"
#include "common/histogram.hpp"

namespace tg::metrics {

// Label `route` of tidegate_api_requests_total.
#define TG_API_ROUTES(X) \
  X(kPublish, "publish") \
  X(kHistory, "history") \
  X(kRooms, "rooms")     \
  X(kOther, "other") /* an unknown path */

// Label `status`: the statuses the API answers with.
#define TG_API_STATUSES(X) \
  X(200, "200")            \
  X(400, "400")            \
  X(401, "401")            \
  X(404, "404")            \
  X(405, "405")            \
  X(408, "408")            \
  X(411, "411")            \
  X(413, "413")            \
  X(429, "429")            \
  X(431, "431")            \
  X(500, "500")            \
  X(503, "503")            \
  X(504, "504")

#define TG_API_ENUMERATOR(e, label) e,
enum class ApiRoute : uint8_t { TG_API_ROUTES(TG_API_ENUMERATOR) kCount };
#undef TG_API_ENUMERATOR
#define TG_API_LABEL(e, label) label,
inline constexpr const char* kApiRouteNames[] = {TG_API_ROUTES(TG_API_LABEL)};
inline constexpr const char* kApiStatusNames[] = {TG_API_STATUSES(TG_API_LABEL)};
#undef TG_API_LABEL
#define TG_API_STATUS_VALUE(code, label) code,
inline constexpr int kApiStatuses[] = {TG_API_STATUSES(TG_API_STATUS_VALUE)};
#undef TG_API_STATUS_VALUE

inline constexpr size_t kApiRoutes = std::size(kApiRouteNames);
inline constexpr size_t kApiStatusSlots = std::size(kApiStatuses);

// The slot of an HTTP status (500's for one not in the table).
inline size_t api_status_slot(int status) {
  for (size_t i = 0; i < kApiStatusSlots; ++i)
    if (kApiStatuses[i] == status) return i;
  for (size_t i = 0; i < kApiStatusSlots; ++i)
    if (kApiStatuses[i] == 500) return i;
  return 0;
}

struct ApiCounters {
  Counter requests[kApiRoutes][kApiStatusSlots];
  Counter published;  // messages that got their seq
  Counter refused;    // messages not sent (cluster backplane down, shutdown, timeout)
  Gauge<int64_t> connections;
  // From the request's last byte to its answer being queued, in ns.
  Histogram latency_ns{Histogram::exponential(50000, 2, 18)};  // 50 us .. 6.5 s
};

}  // namespace tg::metrics
