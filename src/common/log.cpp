// log.cpp -- leveled logging to stderr, one write(2) per line so threads do not interleave.
#include "common/log.hpp"

#include <unistd.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace tg {

std::atomic<LogLevel> g_log_level{LogLevel::kInfo};
std::atomic<LogFormat> g_log_format{LogFormat::kText};

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

std::optional<LogFormat> parse_log_format(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return std::nullopt;
}

namespace {

// "2026-11-30T18:20:14.123Z"
std::string iso_time(double time) {
  auto sec = static_cast<time_t>(time);
  auto ms = static_cast<int>(std::lround((time - static_cast<double>(sec)) * 1000.0));
  if (ms == 1000) {
    ++sec;
    ms = 0;
  }
  tm utc{};
  gmtime_r(&sec, &utc);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", ms);
  return buf;
}

double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void write_line(LogLevel level, std::initializer_list<LogField> fields, const char* fmt,
                va_list ap) {
  char message[1024];
  int m = vsnprintf(message, sizeof message, fmt, ap);
  std::string_view text(message, m < 0 ? 0 : std::min<size_t>(m, sizeof message - 1));
  std::string line =
      format_log_line(g_log_format.load(std::memory_order_relaxed), level, now_s(), fields, text);
  line += '\n';
  [[maybe_unused]] ssize_t w = write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace

std::string format_log_line(LogFormat format, LogLevel level, double time,
                            std::initializer_list<LogField> fields, std::string_view message) {
  if (format == LogFormat::kText) {
    char head[64];
    snprintf(head, sizeof head, "%s %-5s ", iso_time(time).c_str(), log_level_name(level));
    std::string out = head;
    out += message;
    return out;
  }
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("time");
  w.String(iso_time(time).c_str());
  w.Key("level");
  w.String(log_level_name(level));
  w.Key("msg");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  for (const LogField& f : fields) {
    w.Key(f.key);
    if (f.number) {
      w.RawValue(f.value.data(), f.value.size(), rapidjson::kNumberType);
    } else {
      w.String(f.value.data(), static_cast<rapidjson::SizeType>(f.value.size()));
    }
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

void log_line(LogLevel level, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  write_line(level, {}, fmt, ap);
  va_end(ap);
}

void log_fields(LogLevel level, std::initializer_list<LogField> fields, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  write_line(level, fields, fmt, ap);
  va_end(ap);
}

}  // namespace tg
