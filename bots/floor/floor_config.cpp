// floor_config.cpp -- parsing room groups and the listen address, naming the rooms.
#include "bots/floor/floor_config.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

namespace tg::fanout {
namespace {

// Reads all of `text` as one number of type T; false on anything else.
template <typename T>
bool read_number(std::string_view text, T& out) {
  const char* end = text.data() + text.size();
  const auto [stop, ec] = std::from_chars(text.data(), end, out);
  return !text.empty() && ec == std::errc() && stop == end;
}

// A finite number >= 0.
bool read_rate(std::string_view text, double& out) {
  return read_number(text, out) && std::isfinite(out) && out >= 0;
}

std::optional<RoomGroup> bad(std::string* error, std::string why) {
  if (error != nullptr) *error = std::move(why);
  return std::nullopt;
}

}  // namespace

std::optional<RoomGroup> parse_group(std::string_view text, std::string* error) {
  std::vector<std::string_view> parts;
  size_t from = 0;
  for (size_t colon; (colon = text.find(':', from)) != std::string_view::npos; from = colon + 1) {
    parts.push_back(text.substr(from, colon - from));
  }
  parts.push_back(text.substr(from));
  if (parts.size() != 5 && parts.size() != 6) {
    return bad(error,
               "want PREFIX:ROOMS:BATCHES_PER_S:FRAME_BYTES:MSGS_PER_BATCH[:WRITES_PER_S], got '" +
                   std::string(text) + "'");
  }
  RoomGroup g;
  g.prefix = parts[0];
  if (!read_number(parts[1], g.rooms) || g.rooms == 0) return bad(error, "ROOMS must be > 0");
  if (!read_rate(parts[2], g.batches_per_s)) return bad(error, "BATCHES_PER_S must be >= 0");
  if (!read_number(parts[3], g.frame_bytes)) return bad(error, "FRAME_BYTES must be an integer");
  if (!read_rate(parts[4], g.msgs_per_batch)) return bad(error, "MSGS_PER_BATCH must be >= 0");
  if (parts.size() == 6 && !read_rate(parts[5], g.writes_per_s)) {
    return bad(error, "WRITES_PER_S must be >= 0");
  }
  return g;
}

std::vector<RoomSpec> expand_rooms(const std::vector<RoomGroup>& groups) {
  std::vector<RoomSpec> out;
  std::unordered_set<std::string> seen;
  for (uint32_t g = 0; g < groups.size(); ++g) {
    const RoomGroup& group = groups[g];
    if (group.rooms == 0) throw std::invalid_argument("room group '" + group.prefix + "' is empty");
    for (uint32_t k = 0; k < group.rooms; ++k) {
      RoomSpec room{group.prefix + std::to_string(k), g, static_cast<double>(k) / group.rooms};
      if (!seen.insert(room.name).second) {
        throw std::invalid_argument("room " + room.name + " is in two groups");
      }
      out.push_back(std::move(room));
    }
  }
  return out;
}

std::optional<ListenAddress> parse_listen(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  ListenAddress a{std::string(text.substr(0, colon)), 0};
  in_addr ignored{};
  if (!read_number(text.substr(colon + 1), a.port) ||
      inet_pton(AF_INET, a.host.c_str(), &ignored) != 1) {
    return std::nullopt;
  }
  return a;
}

}  // namespace tg::fanout
