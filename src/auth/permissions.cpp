// permissions.cpp -- room patterns and what they match.
#include "auth/permissions.hpp"

#include "protocol/names.hpp"

namespace tg::auth {

bool valid_pattern(std::string_view pattern) {
  if (pattern == "*") return true;
  if (pattern.size() > 2 && pattern.ends_with(".*"))
    return protocol::valid_room(pattern.substr(0, pattern.size() - 1));  // "prefix."
  return protocol::valid_room(pattern);
}

bool pattern_matches(std::string_view pattern, std::string_view room) {
  if (pattern == "*") return true;
  if (pattern.size() > 2 && pattern.ends_with(".*")) {
    std::string_view prefix = pattern.substr(0, pattern.size() - 1);  // keeps the dot
    return room.size() > prefix.size() && room.starts_with(prefix);
  }
  return pattern == room;
}

bool matches_any(const std::vector<std::string>& patterns, std::string_view room) {
  for (const std::string& p : patterns)
    if (pattern_matches(p, room)) return true;
  return false;
}

std::optional<std::vector<std::string>> parse_pattern_list(std::string_view list) {
  std::vector<std::string> out;
  if (list.empty()) return out;  // no room at all
  while (true) {
    size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!valid_pattern(item)) return std::nullopt;
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace tg::auth
