// Tests for plan_reload / apply_reloadable: which settings a SIGHUP applies and which
// need a restart.
#include "gateway/reload.hpp"

#include <gtest/gtest.h>

namespace tg::gateway {

TEST(Reload, NothingChangedPlansNothing) {
  Config c;
  ReloadPlan plan = plan_reload(c, c);
  EXPECT_TRUE(plan.applied.empty());
  EXPECT_TRUE(plan.restart.empty());
}

TEST(Reload, LiveSettingsApplyAndTheRestWaitForARestart) {
  Config running, next;
  next.rate_limit = 5;
  next.log_level = LogLevel::kDebug;
  next.allowed_origins = {"https://chat.example.com"};
  next.latency_target_ms = 20;
  next.max_connections_per_ip = 50;
  next.workers = 4;
  next.listen_port = 9090;
  next.history_bytes = 1 << 20;
  ReloadPlan plan = plan_reload(running, next);
  EXPECT_EQ(
      plan.applied,
      (std::vector<std::string>{
          "log-level info -> debug", "rate-limit 20 -> 5", "latency-target-ms 50 -> 20",
          "allowed-origin [] -> [https://chat.example.com]", "max-connections-per-ip 0 -> 50"}));
  EXPECT_EQ(plan.restart, (std::vector<std::string>{"listen 8080 -> 9090", "workers 0 -> 4",
                                                    "history-bytes 67108864 -> 1048576"}));
}

TEST(Reload, TlsPathsNeedARestart) {
  // The files behind the paths are read again at every SIGHUP (Server::load_tls); other
  // paths, or TLS turned on or off, need a restart.
  Config running, next;
  running.tls_cert = "/etc/a.crt";
  running.tls_key = "/etc/a.key";
  next.tls_cert = "/etc/b.crt";
  next.tls_key = "/etc/a.key";
  ReloadPlan plan = plan_reload(running, next);
  EXPECT_TRUE(plan.applied.empty());
  EXPECT_EQ(plan.restart, (std::vector<std::string>{"tls-cert /etc/a.crt -> /etc/b.crt"}));
  Config off;
  EXPECT_EQ(
      plan_reload(running, off).restart,
      (std::vector<std::string>{"tls-cert /etc/a.crt -> \"\"", "tls-key /etc/a.key -> \"\""}));
}

TEST(Reload, ApplyTakesOnlyTheLiveSettings) {
  Config running, next;
  next.rate_limit = 5;
  next.rate_burst = 7;
  next.log_format = LogFormat::kJson;
  next.workers = 4;
  next.history_bytes = 1 << 20;
  apply_reloadable(running, next);
  EXPECT_EQ(running.rate_limit, 5);
  EXPECT_EQ(running.rate_burst, 7);
  EXPECT_EQ(running.log_format, LogFormat::kJson);
  EXPECT_EQ(running.workers, 0);
  EXPECT_EQ(running.history_bytes, size_t{64} << 20);
}

TEST(Reload, ThePublishApisFlagsNeedARestart) {
  Config running, next;
  next.api_listen = "127.0.0.1:8090";
  next.api_max_inflight = 5;
  ReloadPlan plan = plan_reload(running, next);
  EXPECT_TRUE(plan.applied.empty());
  ASSERT_EQ(plan.restart.size(), 2u);
  EXPECT_NE(plan.restart[0].find("api-listen"), std::string::npos) << plan.restart[0];
  EXPECT_NE(plan.restart[1].find("api-max-inflight"), std::string::npos) << plan.restart[1];
}

TEST(Reload, AuthSettingsAndKeysApplyButTheModeNeedsARestart) {
  Config running, next;
  running.auth = next.auth = AuthMode::kRequired;
  next.jwt_leeway_s = 5;
  next.anonymous_rooms = {"lobby", "public.*"};
  ReloadPlan plan = plan_reload(running, next);
  EXPECT_EQ(plan.applied,
            (std::vector<std::string>{"jwt-leeway-s 30 -> 5",
                                      "anonymous-rooms [lobby] -> [lobby public.*]"}));
  next.auth = AuthMode::kOff;
  EXPECT_EQ(plan_reload(running, next).restart, (std::vector<std::string>{"auth required -> off"}));
  apply_reloadable(running, next);
  EXPECT_EQ(running.jwt_leeway_s, 5u);
  EXPECT_EQ(running.auth, AuthMode::kRequired);
}

}  // namespace tg::gateway
