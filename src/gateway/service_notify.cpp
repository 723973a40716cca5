// service_notify.cpp -- sd_notify(3) through libsystemd.
#include "gateway/service_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>

#include "common/log.hpp"

namespace tg::gateway {

ServiceNotify::ServiceNotify() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  // > 0: the watchdog is on for this process (WATCHDOG_USEC set, WATCHDOG_PID ours or unset).
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0) watchdog_usec_ = usec;
}

void ServiceNotify::send(const std::string& state) const {
  if (!enabled_) return;
  int rv = sd_notify(0, state.c_str());
  if (rv < 0) TG_LOG(kWarn, "sd_notify failed: %s", std::strerror(-rv));
}

void ServiceNotify::ready(const std::string& status) const {
  std::string s = "READY=1\nSTATUS=";
  s += status;
  send(s);
}

void ServiceNotify::stopping(const std::string& status) const {
  std::string s = "STOPPING=1\nSTATUS=";
  s += status;
  send(s);
}

void ServiceNotify::status(const std::string& status) const {
  std::string s = "STATUS=";
  s += status;
  send(s);
}

void ServiceNotify::send_reloading() const {
  send("RELOADING=1");
}

void ServiceNotify::watchdog() const {
  send("WATCHDOG=1");
}

}  // namespace tg::gateway
