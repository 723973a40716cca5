// counters.hpp -- the plain counters each loop keeps and the swarm adds up.
#pragma once

#include <cstdint>

namespace tg::bots {

// Cumulative counts (and two gauges) of one loop, or of the whole swarm once added.
// Plain integers: a loop owns its copy, the main thread only sees published copies.
struct Counters {
  uint64_t connected = 0;         // gauge: bots with an open WebSocket (hello seen)
  uint64_t pending = 0;           // gauge: bots not yet connected nor failed
  uint64_t reconnecting = 0;      // gauge: bots whose connection dropped, not yet back
  uint64_t connects = 0;          // hellos received
  uint64_t connect_failures = 0;  // TCP, handshake or hello failures and timeouts
  uint64_t disconnects = 0;       // connections the swarm did not close itself, lost for good
  uint64_t server_closes = 0;     // of those, closed by a WebSocket close frame
  uint64_t policy_closes = 0;     // of those, with 1008 (slow consumer, flooding)
  uint64_t errors = 0;            // invalid frames, error notices, wrong room
  uint64_t messages_sent = 0;
  uint64_t deliveries = 0;       // this run's chat messages received, all bots
  uint64_t echoes = 0;           // own messages seen back by their sender
  uint64_t frames = 0;           // WebSocket messages received
  uint64_t frames_measured = 0;  // of those, while sending and draining
  uint64_t bytes = 0;            // bytes read from sockets while sending and draining
  uint64_t batch_bytes = 0;      // payload bytes of batch messages, same phases
  uint64_t batch_frames = 0;     // batch messages received, same phases
  uint64_t gap_notices = 0;
  uint64_t announced_lost = 0;  // messages covered by gap notices
  uint64_t holes = 0;           // unannounced holes in message seqs
  uint64_t hole_msgs = 0;       // messages missing in those holes
  uint64_t order_errors = 0;    // duplicates or steps back
  uint64_t duplicates = 0;      // message seqs received twice (by seq, not counted twice)
  // A gateway went away (see reconnect.hpp) and the bot came back, resuming its room:
  uint64_t reconnects = 0;          // connections reopened (hello seen)
  uint64_t reconnect_failures = 0;  // attempts that failed (refused, 503, timeout...)
  // This run's messages that a resumed connection delivered (first time, not repeats)
  // although they were sent before it opened: what the resume replayed. The boundary is
  // the hello's arrival, so a message sent a moment before it but sequenced after the
  // server took the client in counts too (Bot::count_resumed); none after an epoch reset.
  uint64_t resumed_msgs = 0;
  uint64_t epoch_resets = 0;  // rooms whose epoch changed under a bot (a resume started
                              // live, or joined with a new epoch): misses unknowable
  uint64_t unavailable = 0;   // `unavailable` error notices (message or join refused)
  uint64_t refused_msgs = 0;  // own messages refused with `unavailable`: never delivered
  uint64_t pings_sent = 0;
  uint64_t pongs = 0;
  uint64_t pong_window_us = 0;  // sum of the server's window_ms (as us) over pongs
  uint64_t decodes = 0;         // batch frames decoded (cache misses)
  uint64_t cache_hits = 0;      // batch frames served from the cache

  // Adds every field of `o` (gauges too: the sum over loops is the swarm's gauge).
  void add(const Counters& o);
};

}  // namespace tg::bots
