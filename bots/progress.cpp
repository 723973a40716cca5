// progress.cpp -- formatting of per-second status lines and CSV rows.
#include "bots/progress.hpp"

#include <stdexcept>

namespace tg::bots {
namespace {

double ms(uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

}  // namespace

Progress::Progress(const std::string& csv_path, bool ping) : ping_(ping) {
  if (csv_path.empty()) return;
  csv_ = std::fopen(csv_path.c_str(), "w");
  if (csv_ == nullptr) throw std::runtime_error("cannot open " + csv_path);
  std::fputs(
      "second,phase,sent,received,p50_ms,p99_ms,connected,gaps,holes,errors,ping_p99_ms,window_"
      "ms\n",
      csv_);
}

Progress::~Progress() {
  if (csv_ != nullptr) std::fclose(csv_);
}

std::string Progress::line(double t_s, const char* phase, const Counters& now,
                           const Histogram& latency_us, const Histogram& ping_us) const {
  const double dt = t_s - prev_t_ > 0 ? t_s - prev_t_ : 1.0;
  char buf[384];
  int n = std::snprintf(
      buf, sizeof buf,
      "[%6.1fs %-7s] connected %llu  sent/s %.0f  delivered/s %.0f  p50 %.2fms  p99 %.2fms  "
      "gaps %llu  holes %llu  errors %llu",
      t_s, phase, (unsigned long long)now.connected,
      static_cast<double>(now.messages_sent - prev_.messages_sent) / dt,
      static_cast<double>(now.deliveries - prev_.deliveries) / dt, ms(latency_us.percentile(50)),
      ms(latency_us.percentile(99)), (unsigned long long)now.gap_notices,
      (unsigned long long)now.holes,
      (unsigned long long)(now.errors + now.connect_failures + now.disconnects));
  if (ping_ && n > 0 && static_cast<size_t>(n) < sizeof buf) {
    n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), "  ping p99 %.2fms",
                       ms(ping_us.percentile(99)));
  }
  // Only once a gateway went away: the line stays as it was for a run without.
  if ((now.reconnects > 0 || now.reconnect_failures > 0) && n > 0 &&
      static_cast<size_t>(n) < sizeof buf) {
    std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), "  reconnects %llu (failed %llu)",
                  (unsigned long long)now.reconnects, (unsigned long long)now.reconnect_failures);
  }
  return buf;
}

void Progress::tick(double t_s, const char* phase, const Counters& now, const Histogram& latency_us,
                    const Histogram& ping_us, bool quiet) {
  if (!quiet) {
    std::puts(line(t_s, phase, now, latency_us, ping_us).c_str());
    std::fflush(stdout);
  }
  if (csv_ != nullptr) {
    // The server's flush window, averaged over this second's pongs (ping mode only).
    uint64_t pongs = now.pongs - prev_.pongs;
    double window_ms =
        pongs > 0 ? (now.pong_window_us - prev_.pong_window_us) / 1000.0 / pongs : 0.0;
    std::fprintf(csv_, "%.1f,%s,%llu,%llu,%.3f,%.3f,%llu,%llu,%llu,%llu,%.3f,%.3f\n", t_s, phase,
                 (unsigned long long)(now.messages_sent - prev_.messages_sent),
                 (unsigned long long)(now.deliveries - prev_.deliveries),
                 ms(latency_us.percentile(50)), ms(latency_us.percentile(99)),
                 (unsigned long long)now.connected, (unsigned long long)now.gap_notices,
                 (unsigned long long)now.holes,
                 (unsigned long long)(now.errors + now.connect_failures + now.disconnects),
                 ms(ping_us.percentile(99)), window_ms);
    std::fflush(csv_);
  }
  prev_ = now;
  prev_t_ = t_s;
}

}  // namespace tg::bots
