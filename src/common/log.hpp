// log.hpp -- leveled logging to stderr; cheap to skip when the level is off.
#pragma once

#include <atomic>
#include <cstdarg>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace tg {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

// text: "<time> <level> <message>"; json: one object a line, {"time","level","msg"} and
// the line's fields, for journald and log shippers.
enum class LogFormat { kText = 0, kJson };

// The process-wide level and format. Set at startup (and the level by SIGHUP); read on
// every log call.
extern std::atomic<LogLevel> g_log_level;
extern std::atomic<LogFormat> g_log_format;

std::optional<LogFormat> parse_log_format(std::string_view name);

// A named value a log line carries besides its message (a connection id, a peer, a
// room, a reason): a member of the JSON object; not repeated in text lines, whose
// message already says it in words.
struct LogField {
  template <typename T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  LogField(const char* k, T v) : key(k), value(std::to_string(v)), number(true) {}
  LogField(const char* k, std::string_view v) : key(k), value(v) {}
  LogField(const char* k, const char* v) : key(k), value(v) {}
  LogField(const char* k, const std::string& v) : key(k), value(v) {}

  const char* key;
  std::string value;
  bool number = false;
};

std::optional<LogLevel> parse_log_level(std::string_view name);
const char* log_level_name(LogLevel level);

inline bool log_enabled(LogLevel level) {
  return level >= g_log_level.load(std::memory_order_relaxed);
}

// Writes one line "<time> <level> <message>" to stderr. Thread-safe (one write(2)).
void log_line(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// The same with fields (see LogField). Callers check log_enabled() first.
void log_fields(LogLevel level, std::initializer_list<LogField> fields, const char* fmt, ...)
    __attribute__((format(printf, 3, 4)));

// The line as written (without its newline), for tests: `time` is seconds since the epoch.
std::string format_log_line(LogFormat format, LogLevel level, double time,
                            std::initializer_list<LogField> fields, std::string_view message);

}  // namespace tg

#define TG_LOG(level, ...)                                \
  do {                                                    \
    if (::tg::log_enabled(::tg::LogLevel::level))         \
      ::tg::log_line(::tg::LogLevel::level, __VA_ARGS__); \
  } while (0)
