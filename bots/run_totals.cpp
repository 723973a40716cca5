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

void RunTotals::add_unsent(uint32_t room, uint64_t refused, uint64_t in_doubt) {
  rooms.at(room).refused += refused;
  rooms.at(room).in_doubt += in_doubt;
}

uint64_t RunTotals::unannounced_loss(const Client& client, uint64_t room_deliverable) {
  if (!client.counted) return client.hole_msgs;
  const uint64_t accounted = client.received + client.announced;
  const uint64_t shortfall = room_deliverable > accounted ? room_deliverable - accounted : 0;
  return std::max(shortfall, client.hole_msgs);
}

void RunTotals::add_client(const Client& client) {
  Room& room = rooms.at(client.room);
  const uint64_t lost = unannounced_loss(client, room.deliverable());
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
  const uint64_t most = room.deliverable_max();
  if (client.received > most) extra_deliveries += client.received - most;
}

}  // namespace tg::bots
