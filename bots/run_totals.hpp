// run_totals.hpp -- everything a finished swarm run counted, and the per-client delivery
// accounting.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "bots/counters.hpp"
#include "bots/histogram.hpp"

namespace tg::bots {

// The lowest and highest of some seqs seen (batch seqs of a room): how many distinct
// ones a stream that counts up by one covered between them.
struct SeqSpan {
  uint64_t first = 0;  // 0: none seen (tidegate never issues seq 0; a room may start above 1)
  uint64_t last = 0;

  void add(uint64_t seq) {
    if (first == 0 || seq < first) first = seq;
    if (seq > last) last = seq;
  }
  void merge(const SeqSpan& o) {
    if (o.first != 0) add(o.first);
    if (o.last != 0) add(o.last);
  }
  uint64_t count() const { return first == 0 ? 0 : last - first + 1; }
};

// Totals of one run, filled by Swarm after every loop stopped: first add_sent() and
// add_unsent() for every loop's per-room counts, then add_client() once per client (the
// per-client accounting needs the final per-room counts).
class RunTotals {
 public:
  // One room: how many counted clients it had and how many messages were sent to it.
  struct Room {
    std::string name;
    uint64_t members = 0;   // counted clients (see Client::counted)
    uint64_t sent = 0;      // messages the swarm sent to the room
    uint64_t refused = 0;   // of those, refused by the server (`unavailable`)
    uint64_t in_doubt = 0;  // of those, written to a connection that then dropped and never
                            // seen again by their sender, though it came back: not taken
    uint64_t received = 0;  // this run's messages its counted clients received
    SeqSpan batches;        // batch seqs received while sending and draining

    // What a counted client must receive (or have announced lost), at least ...
    uint64_t deliverable() const { return sent - std::min(sent, refused + in_doubt); }
    // ... and at most: a message in doubt may still have been delivered, if its sender's
    // resume missed it (a gap at the resume) or its sender never came back.
    uint64_t deliverable_max() const { return sent - std::min(sent, refused); }
  };
  // What one client saw.
  struct Client {
    uint32_t room = 0;
    // Open before the first message was sent and until the end, and not slow: such a
    // client must receive every message sent to its room, or have it announced lost.
    bool counted = false;
    bool slow = false;
    uint64_t received = 0;   // this run's messages
    uint64_t announced = 0;  // messages announced lost by gap notices
    uint64_t hole_msgs = 0;  // messages lost in unannounced seq holes
  };

  explicit RunTotals(std::vector<std::string> room_names);

  void add_sent(uint32_t room, uint64_t messages);
  void add_unsent(uint32_t room, uint64_t refused, uint64_t in_doubt);
  void add_client(const Client& client);

  // Messages `client` lost without an announcement: for a counted client, what it
  // neither received nor was told about of the room's deliverable messages (at least its
  // unannounced hole messages); for any other client only its unannounced holes, since it
  // may simply not have read the rest yet or have left early.
  static uint64_t unannounced_loss(const Client& client, uint64_t room_deliverable);

  std::vector<Room> rooms;
  Counters counters;
  Histogram latency_us;   // sender's own message, send to echo
  Histogram ping_us;      // ping to pong
  Histogram delivery_us;  // every message at every member that is not slow: send to arrival
  uint64_t unannounced_lost = 0;
  uint64_t short_clients = 0;     // counted clients missing messages unannounced
  uint64_t extra_deliveries = 0;  // counted clients' deliveries beyond what was sent
  uint64_t excluded_clients = 0;  // not counted (slow, late, closed early)
  uint64_t excluded_received = 0;
  uint64_t slow_clients = 0;
  uint64_t slow_received = 0;
  uint64_t slow_announced = 0;
  double send_seconds = 0;     // length of the sending phase
  double elapsed_seconds = 0;  // whole run
};

}  // namespace tg::bots
