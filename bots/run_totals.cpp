// run_totals.cpp -- per-client delivery accounting of a finished run.
#include "bots/run_totals.hpp"

#include <algorithm>

namespace tg::bots {

RunTotals::RunTotals(std::vector<std::string> room_names) {
  rooms.reserve(room_names.size());
  for (auto& name : room_names) {
    Room room;
    room.name = std::move(name);
    rooms.push_back(std::move(room));
  }
}

void RunTotals::add_sent(uint32_t room, uint64_t messages) {
  rooms.at(room).sent += messages;
}

uint64_t RunTotals::unannounced_loss(const Client& client, uint64_t room_sent) {
  if (!client.counted) return client.hole_msgs;
  const uint64_t accounted = client.received + client.announced;
  const uint64_t shortfall = room_sent > accounted ? room_sent - accounted : 0;
  return std::max(shortfall, client.hole_msgs);
}

void RunTotals::add_client(const Client& client) {
  Room& room = rooms.at(client.room);
  const uint64_t lost = unannounced_loss(client, room.sent);
  unannounced_lost += lost;
  if (client.slow) {
    ++slow_clients;
    slow_received += client.received;
    slow_announced += client.announced;
  }
  if (!client.counted) {
    ++excluded_clients;
    excluded_received += client.received;
    return;
  }
  if (lost > 0) ++short_clients;
  ++room.members;
  room.received += client.received;
  if (client.received > room.sent) extra_deliveries += client.received - room.sent;
}

}  // namespace tg::bots
