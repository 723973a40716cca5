// counters.cpp -- summing Counters across loops.
#include "bots/counters.hpp"

namespace tg::bots {

void Counters::add(const Counters& o) {
  connected += o.connected;
  pending += o.pending;
  reconnecting += o.reconnecting;
  connects += o.connects;
  connect_failures += o.connect_failures;
  disconnects += o.disconnects;
  server_closes += o.server_closes;
  policy_closes += o.policy_closes;
  errors += o.errors;
  messages_sent += o.messages_sent;
  deliveries += o.deliveries;
  echoes += o.echoes;
  frames += o.frames;
  frames_measured += o.frames_measured;
  bytes += o.bytes;
  batch_bytes += o.batch_bytes;
  batch_frames += o.batch_frames;
  gap_notices += o.gap_notices;
  announced_lost += o.announced_lost;
  holes += o.holes;
  hole_msgs += o.hole_msgs;
  order_errors += o.order_errors;
  duplicates += o.duplicates;
  reconnects += o.reconnects;
  reconnect_failures += o.reconnect_failures;
  resumed_msgs += o.resumed_msgs;
  epoch_resets += o.epoch_resets;
  unavailable += o.unavailable;
  refused_msgs += o.refused_msgs;
  pings_sent += o.pings_sent;
  pongs += o.pongs;
  pong_window_us += o.pong_window_us;
  decodes += o.decodes;
  cache_hits += o.cache_hits;
}

}  // namespace tg::bots
