// reconnect.cpp -- URL selection, reconnectable close codes, backoff and resume targets.
#include "bots/reconnect.hpp"

#include <algorithm>

namespace tg::bots {

size_t first_url(uint32_t client, size_t url_count) {
  return url_count == 0 ? 0 : client % url_count;
}

size_t next_url(size_t current, size_t url_count) {
  return url_count == 0 ? 0 : (current + 1) % url_count;
}

bool reconnect_after_close(uint16_t code) {
  switch (code) {
    case 1001:
    case 1006:
    case 1011:
    case 1012:
    case 1013:
      return true;
    default:
      return false;
  }
}

int64_t backoff_cap_ms(uint32_t attempt) {
  // 100 << 5 is past the cap already: no shift can overflow.
  return std::min(kBackoffFirstMs << std::min<uint32_t>(attempt, 5), kBackoffMaxMs);
}

int64_t backoff_delay_ms(uint32_t attempt, double unit) {
  const int64_t cap = backoff_cap_ms(attempt);
  const double u = std::clamp(unit, 0.0, 1.0);
  return cap / 2 + static_cast<int64_t>(u * static_cast<double>(cap - cap / 2));
}

std::string ws_target(std::string_view path, std::string_view room, const ResumePoint* resume,
                      std::string_view name) {
  std::string t;
  t.reserve(path.size() + room.size() + name.size() + 64);
  t += path;
  t += "?room=";
  t += room;
  if (resume != nullptr) {
    t += "&since=";
    t += std::to_string(resume->since);
    if (resume->epoch != 0) {
      t += "&epoch=";
      t += std::to_string(resume->epoch);
    }
  }
  if (!name.empty()) {
    t += "&name=";
    t += name;
  }
  return t;
}

}  // namespace tg::bots
