// names.cpp -- what a valid user name and room name are.
#include "protocol/names.hpp"

#include "common/utf8.hpp"

namespace tg::protocol {

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

}  // namespace tg::protocol
