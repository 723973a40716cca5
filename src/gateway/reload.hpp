// reload.hpp -- what a SIGHUP may change in a running gateway. plan_reload() compares the
// running Config with the one read again: the settings that apply at once (log level
// and format, rate limits, the adaptive window's bounds and targets, allowed origins,
// connection limits) and the ones that need a restart (addresses, workers, buffers,
// history, ...). Pure, so the rules are unit-tested.
#pragma once

#include <string>
#include <vector>

#include "gateway/config.hpp"

namespace tg::gateway {

struct ReloadPlan {
  std::vector<std::string> applied;  // "rate-limit 20 -> 5", in flag order
  std::vector<std::string> restart;  // "listen 127.0.0.1:8080 -> 0.0.0.0:8080"
};

ReloadPlan plan_reload(const Config& running, const Config& next);

// `into` with every setting a reload may change taken from `from`; the others unchanged.
void apply_reloadable(Config& into, const Config& from);

}  // namespace tg::gateway
