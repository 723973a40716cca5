// swarm.hpp -- runs one swarm: builds the loops, drives the phases, reports every second and at the
// end.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bots/bot_loop.hpp"
#include "bots/counters.hpp"
#include "bots/histogram.hpp"
#include "bots/progress.hpp"
#include "bots/run_totals.hpp"
#include "bots/swarm_config.hpp"
#include "bots/ws_url.hpp"

namespace tg::bots {

// Main-thread orchestration: connect (ramp) → send (duration) → drain (until every
// expected delivery arrived and no bot is reconnecting, or --drain seconds) → close →
// stop. Prints a line per second and "phase <name>" markers on stdout (bots/bench keys
// off them).
class Swarm {
 public:
  // Throws std::runtime_error on a bad URL, an unusable configuration or a CSV file that
  // can't be opened (startup errors; the caller prints them and exits 2).
  explicit Swarm(SwarmConfig config);
  ~Swarm();

  // Runs to the end and returns the final totals. Stops early, cleanly, when `stop_flag`
  // becomes non-zero (SIGINT/SIGTERM).
  RunTotals run(const volatile int& stop_flag);

  const SwarmConfig& config() const { return config_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Sample;  // one aggregated snapshot of all loops

  void build_loops();
  Sample sample();
  void wait_phase(const char* name, double max_seconds, const volatile int& stop_flag,
                  bool (Swarm::*done)(const Sample&) const);
  bool connected_all(const Sample& s) const;
  bool delivered_all(const Sample& s) const;
  bool closed_all(const Sample& s) const;
  bool never(const Sample&) const { return false; }
  void enter(Phase phase, const char* name);
  double seconds_since_start() const;

  SwarmConfig config_;
  std::vector<WsUrl> urls_;
  std::shared_ptr<tls::TlsContext> tls_;  // wss:// URLs: one client context for every loop
  std::shared_ptr<const Corpus> corpus_;  // --corpus: loaded once, read by every loop
  std::string run_;
  std::vector<std::string> rooms_;
  std::vector<std::unique_ptr<BotLoop>> loops_;
  Progress progress_;
  Clock::time_point start_;
  Clock::time_point phase_start_;
  Clock::time_point next_tick_;
  Histogram second_latency_, second_ping_;
  double send_started_s_ = 0;
  double send_ended_s_ = 0;
};

}  // namespace tg::bots
