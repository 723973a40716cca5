// service_notify.hpp -- tells systemd (Type=notify) how the service is doing: READY once
// the listeners are up, STOPPING when the drain begins, STATUS lines, and the watchdog
// keep-alive. Every call is a no-op when the process was not started by systemd (no
// NOTIFY_SOCKET in the environment), so the binary behaves the same without it.
#pragma once

#include <cstdint>
#include <string>

namespace tg::gateway {

class ServiceNotify {
 public:
  ServiceNotify();

  // True when systemd is listening (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }
  // The watchdog interval systemd expects keep-alives within (WatchdogSec=), in
  // microseconds; 0 when the watchdog is off.
  uint64_t watchdog_usec() const { return watchdog_usec_; }

  void ready(const std::string& status) const;
  void stopping(const std::string& status) const;
  void status(const std::string& status) const;
  void watchdog() const;
  // RELOADING=1 (systemd waits for READY=1 again); the reload ends with ready().
  void send_reloading() const;

 private:
  void send(const std::string& state) const;

  bool enabled_ = false;
  uint64_t watchdog_usec_ = 0;
};

}  // namespace tg::gateway
