// names.cpp -- name and room validation, and the registry of claimed names.
#include "gateway/names.hpp"

#include <cstdint>

namespace tg::gateway {

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    uint8_t c = *p;
    if (c < 0x80) { ++p; continue; }
    int len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return false;
    if (end - p < len) return false;
    for (int i = 1; i < len; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += len;
  }
  return true;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || !valid_utf8(name)) return false;
  if (name.front() == ' ' || name.back() == ' ') return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7F) return false;
  return name.substr(0, 6) != "guest-";
}

bool valid_room(std::string_view room) {
  if (room.empty() || room.size() > 64) return false;
  for (char c : room) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool NameRegistry::claim(const std::string& name) {
  std::lock_guard lock(mu_);
  return names_.insert(name).second;
}

bool NameRegistry::rename(const std::string& old_name, const std::string& new_name) {
  std::lock_guard lock(mu_);
  if (!names_.insert(new_name).second) return false;
  names_.erase(old_name);
  return true;
}

void NameRegistry::release(const std::string& name) {
  std::lock_guard lock(mu_);
  names_.erase(name);
}

size_t NameRegistry::size() {
  std::lock_guard lock(mu_);
  return names_.size();
}

}  // namespace tg::gateway
