// report.hpp -- the end-of-run arithmetic, summary text and JSON report of the swarm.
#pragma once

#include <cstdint>
#include <string>

#include "bots/run_totals.hpp"
#include "bots/swarm_config.hpp"

namespace tg::bots {

// Derives the reported numbers from RunTotals. Pure: no I/O, no clock.
class Report {
 public:
  Report(const SwarmConfig& config, const RunTotals& totals);

  // Σ over rooms of counted members × messages deliverable in the room (sent, less those
  // refused and those in doubt: RunTotals::Room).
  uint64_t deliveries_expected() const;
  // What counted clients received of this run's messages.
  uint64_t deliveries_received() const;
  // expected − received; negative when clients received more than was deliverable (more
  // than was sent, or messages in doubt that reached the server after all).
  int64_t lost() const;
  // Σ over rooms of messages in doubt (RunTotals::Room::in_doubt).
  uint64_t in_doubt() const;
  // Σ over rooms of the distinct batches received while sending and draining.
  uint64_t batches_measured() const;
  // Σ over rooms of messages sent.
  uint64_t messages_sent() const;
  // Socket bytes read by all clients per delivered message (0 with no deliveries).
  double bytes_per_delivery() const;
  // Batch message payload bytes per delivered message (no pongs, no frame headers).
  double batch_bytes_per_delivery() const;
  // Deliveries (all clients) and messages per second of the sending phase.
  double deliveries_per_second() const;
  double messages_per_second() const;
  // True when the server lost messages without announcing them, reordered or
  // duplicated them: the run failed.
  bool failed() const;
  // True when connects failed or connections dropped other than by a 1008 close (the
  // gateway's announced way to shed a slow consumer).
  bool connection_problems() const;
  // 0: clean; 1: failed(); 2: no client ever connected; 3: connection_problems().
  int exit_code() const;

  // The human summary, several lines, ending in a newline.
  std::string summary() const;
  // The machine-readable report (one JSON object; see docs/PERFORMANCE.md).
  std::string json() const;

 private:
  void latency_lines(std::string& out) const;

  const SwarmConfig& config_;
  const RunTotals& totals_;
};

}  // namespace tg::bots
