// reload.cpp -- the settings a SIGHUP applies and the ones it cannot.
#include "gateway/reload.hpp"

#include <sstream>

namespace tg::gateway {

namespace {

std::string show(const std::string& v) {
  return v.empty() ? "\"\"" : v;
}
std::string show(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}
template <typename T>
std::enable_if_t<std::is_integral_v<T>, std::string> show(T v) {
  return std::to_string(v);
}
std::string show(bool v) {
  return v ? "true" : "false";
}
std::string show(LogLevel v) {
  return log_level_name(v);
}
std::string show(LogFormat v) {
  return v == LogFormat::kJson ? "json" : "text";
}
std::string show(SlowPolicy v) {
  return v == SlowPolicy::kClose ? "close" : "skip";
}
std::string show(AuthMode v) {
  return v == AuthMode::kRequired ? "required" : v == AuthMode::kOptional ? "optional" : "off";
}
std::string show(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ' ';
    out += v[i];
  }
  out += ']';
  return out;
}

// X(flag name, field): what SIGHUP applies at once.
#define TG_RELOADABLE(X)                              \
  X("log-level", log_level)                           \
  X("log-format", log_format)                         \
  X("rate-limit", rate_limit)                         \
  X("rate-burst", rate_burst)                         \
  X("window-max-ms", window_max_ms)                   \
  X("target-cpu", target_cpu)                         \
  X("latency-weight", latency_weight)                 \
  X("latency-target-ms", latency_target_ms)           \
  X("allowed-origin", allowed_origins)                \
  X("max-connections", max_connections)               \
  X("max-connections-per-ip", max_connections_per_ip) \
  X("jwt-hs256-secret-file", jwt_hs256_secret_file)   \
  X("jwt-public-key", jwt_public_key)                 \
  X("jwt-leeway-s", jwt_leeway_s)                     \
  X("anonymous-rooms", anonymous_rooms)

// The rest: read once, at startup.
#define TG_RESTART_ONLY(X)                        \
  X("listen", listen_host)                        \
  X("listen", listen_port)                        \
  X("workers", workers)                           \
  X("pin", pin)                                   \
  X("window-ms", window_ms)                       \
  X("history-bytes", history_bytes)               \
  X("client-inflight", client_inflight)           \
  X("slow-policy", slow_policy)                   \
  X("max-message-bytes", max_message_bytes)       \
  X("max-header-bytes", max_header_bytes)         \
  X("handshake-timeout-ms", handshake_timeout_ms) \
  X("drain-timeout-ms", drain_timeout_ms)         \
  X("slow-close-grace-ms", slow_close_grace_ms)   \
  X("idle-timeout-s", idle_timeout_s)             \
  X("socket-sndbuf", socket_sndbuf)               \
  X("zstd-level", zstd_level)                     \
  X("max-rooms-per-client", max_rooms_per_client) \
  X("metrics-listen", metrics_listen)             \
  X("redis-password-file", redis_password_file)   \
  X("redis-log-ttl-s", redis_log_ttl_s)           \
  X("auth", auth)                                 \
  X("tls-cert", tls_cert)                         \
  X("tls-key", tls_key)                           \
  X("zstd-keyframe-bytes", zstd_keyframe_bytes)   \
  X("zstd-keyframe-ms", zstd_keyframe_ms)         \
  X("zstd-v2-level", zstd_v2_level)               \
  X("permessage-deflate", permessage_deflate)     \
  X("deflate-level", deflate_level)

// The publish API's (api_server.hpp): read once too; SIGHUP reads only the key file's
// contents again (Server::reload).
#define TG_API_RESTART_ONLY(X)                        \
  X("api-listen", api_listen)                         \
  X("api-key-file", api_key_file)                     \
  X("api-max-connections", api_max_connections)       \
  X("api-max-body-bytes", api_max_body_bytes)         \
  X("api-max-batch", api_max_batch)                   \
  X("api-max-inflight", api_max_inflight)             \
  X("api-request-timeout-ms", api_request_timeout_ms) \
  X("api-idle-timeout-s", api_idle_timeout_s)

}  // namespace

ReloadPlan plan_reload(const Config& running, const Config& next) {
  ReloadPlan plan;
#define TG_COMPARE(list, name, field)                                            \
  if (running.field != next.field) {                                             \
    plan.list.push_back(std::string(name) + " " + show(running.field) + " -> " + \
                        show(next.field));                                       \
  }
#define TG_APPLIED(name, field) TG_COMPARE(applied, name, field)
#define TG_RESTART(name, field) TG_COMPARE(restart, name, field)
  TG_RELOADABLE(TG_APPLIED)
  TG_RESTART_ONLY(TG_RESTART)
  TG_API_RESTART_ONLY(TG_RESTART)
  // The Redis URL may hold a password: the plan says that it changed, not what to.
  if (running.redis != next.redis) plan.restart.push_back("redis (changed)");
  // The JWT key files are read again at each reload (main.cpp): their content may have
  // changed whatever their names. Under --auth off there are none.
  if (next.verifier && running.auth != AuthMode::kOff)
    plan.applied.push_back("jwt keys (read again)");
#undef TG_RESTART
#undef TG_APPLIED
#undef TG_COMPARE
  return plan;
}

void apply_reloadable(Config& into, const Config& from) {
#define TG_COPY(name, field) into.field = from.field;
  TG_RELOADABLE(TG_COPY)
#undef TG_COPY
  into.verifier = from.verifier;
}

}  // namespace tg::gateway
