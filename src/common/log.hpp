// log.hpp -- leveled logging to stderr; cheap to skip when the level is off.
#pragma once

#include <atomic>
#include <cstdarg>
#include <optional>
#include <string_view>

namespace tg {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

// The process-wide level. Changed at startup and by SIGHUP; read on every log call.
extern std::atomic<LogLevel> g_log_level;

std::optional<LogLevel> parse_log_level(std::string_view name);
const char* log_level_name(LogLevel level);

inline bool log_enabled(LogLevel level) {
  return level >= g_log_level.load(std::memory_order_relaxed);
}

// Writes one line "<time> <level> <message>" to stderr. Thread-safe (one write(2)).
void log_line(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace tg

#define TG_LOG(level, ...)                                \
  do {                                                    \
    if (::tg::log_enabled(::tg::LogLevel::level))         \
      ::tg::log_line(::tg::LogLevel::level, __VA_ARGS__); \
  } while (0)
