// log.cpp -- leveled logging to stderr, one write(2) per line so threads do not interleave.
#include "common/log.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace tg {

std::atomic<LogLevel> g_log_level{LogLevel::kInfo};

namespace {
constexpr const char* kNames[] = {"trace", "debug", "info", "warn", "error", "off"};
}

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(LogLevel::kOff); ++i) {
    if (name == kNames[i]) return static_cast<LogLevel>(i);
  }
  return std::nullopt;
}

const char* log_level_name(LogLevel level) {
  return kNames[static_cast<int>(level)];
}

void log_line(LogLevel level, const char* fmt, ...) {
  char line[1024];
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  int n = static_cast<int>(strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &utc));
  n += snprintf(line + n, sizeof line - n, ".%03ldZ %-5s ", ts.tv_nsec / 1000000,
                log_level_name(level));
  va_list ap;
  va_start(ap, fmt);
  int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
  va_end(ap);
  n = (m < 0) ? n : std::min<int>(n + m, sizeof line - 2);
  line[n++] = '\n';
  [[maybe_unused]] ssize_t w = write(STDERR_FILENO, line, n);
}

}  // namespace tg
