// permissions.hpp -- which rooms a user may read (join) and publish to, from room
// patterns: an exact room name, `prefix.*` (every room whose name starts with
// `prefix.` and goes on: `team.*` matches `team.a` and `team.a.b`, not `team` nor
// `teamx`), or `*` (every room).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tg::auth {

// Whether `pattern` is one of the three forms above, its names valid room names.
bool valid_pattern(std::string_view pattern);
// Whether `pattern` (valid) matches room `room`.
bool pattern_matches(std::string_view pattern, std::string_view room);
// Whether any of `patterns` matches `room`.
bool matches_any(const std::vector<std::string>& patterns, std::string_view room);

// A comma-separated list of patterns (a flag's value, e.g. "lobby,public.*"; empty: none; spaces
// around items ignored), or nullopt when an item is empty or not a valid pattern.
std::optional<std::vector<std::string>> parse_pattern_list(std::string_view list);

// A user's rooms: every room (no `rooms` claim), or the rooms its patterns match.
// Publishing to a room also needs the room joined, hence readable (docs/PROTOCOL.md).
class Permissions {
 public:
  // Every room, read and publish.
  Permissions() = default;
  Permissions(std::vector<std::string> read, std::vector<std::string> publish)
      : all_(false), read_(std::move(read)), publish_(std::move(publish)) {}

  bool can_read(std::string_view room) const { return all_ || matches_any(read_, room); }
  bool can_publish(std::string_view room) const { return all_ || matches_any(publish_, room); }
  bool all() const { return all_; }
  const std::vector<std::string>& read() const { return read_; }
  const std::vector<std::string>& publish() const { return publish_; }

 private:
  bool all_ = true;
  std::vector<std::string> read_;
  std::vector<std::string> publish_;
};

}  // namespace tg::auth
