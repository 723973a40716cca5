// names.hpp -- NameRegistry: the process-wide set of claimed user names, and the rules
// for what a valid name or room name is.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace tg::gateway {

// 1-32 bytes of valid UTF-8, no control characters, no leading or trailing space,
// and not of the reserved form "guest-..." (those are handed out by the server).
bool valid_name(std::string_view name);
// 1-64 characters of A-Z a-z 0-9 _ - .
bool valid_room(std::string_view room);
// True when `s` is well-formed UTF-8 (RFC 3629: no overlongs, surrogates, or > U+10FFFF).
bool valid_utf8(std::string_view s);

// Shared by all Shards; claims are rare (connect, rename, disconnect), so one mutex.
class NameRegistry {
 public:
  // Claims `name`. Returns false when someone holds it.
  bool claim(const std::string& name);
  // Moves a holder from `old_name` to `new_name`; false (nothing changed) when taken.
  bool rename(const std::string& old_name, const std::string& new_name);
  void release(const std::string& name);
  size_t size();

 private:
  std::mutex mu_;
  std::unordered_set<std::string> names_;
};

}  // namespace tg::gateway
