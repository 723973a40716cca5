// window_controller.hpp -- WindowController: the adaptive flush window. Pure: no I/O and
// no clock of its own; it is told what happened and returns the next window.
//
// Model (docs/ADAPTIVE.md): a flush costs C = W client writes x c loop-seconds each,
// W and c measured live (c = loop busy time / writes completed). With R events per
// second and a window w, flushes happen R / (1 + R w) times a second, costing
// CPU(w) = C R / (1 + R w) loop-seconds per second, and the window adds about w/2 of
// latency. Two windows follow:
//   - economy: the w minimising CPU(w) + lambda w/2, where lambda (--latency-weight)
//     says what a second of latency is worth in loop-seconds per second:
//     w = sqrt(2 C / lambda) - 1/R (the square-root law of batching);
//   - budget: the smallest w keeping CPU(w) under target x shards:
//     w = C / (target x shards) - 1/R.
// The window is the larger, clamped to [0, max]: 0 while the load is light, growing
// continuously with rate and fan-out. A feedback factor widens it further while the
// busiest loop is above the target or deliveries lag, and relaxes as they recover. The
// output is smoothed so a steady load settles on a steady window.
#pragma once

#include <cstdint>

#include "batcher/window_policy.hpp"

namespace tg::batcher {

class WindowController final : public WindowPolicy {
 public:
  struct Options {
    double max_ms = 100;          // --window-max-ms
    double target_cpu = 0.7;      // --target-cpu: loop busy fraction to stay under
    double latency_weight = 1.0;  // --latency-weight: % of a core 1 ms of latency is worth
  };
  explicit WindowController(Options options);

  uint64_t next_window_us(const FlushStats& stats) override;
  uint64_t window_at(uint64_t now_ns) override;

  // The model's current estimates (for tests, logs and docs).
  double rate() const { return rate_; }  // events per second
  double writes_per_flush() const { return writes_per_flush_; }
  double cost_per_write_s() const { return cost_per_write_; }
  double boost() const { return boost_; }  // feedback factor, >= 1

 private:
  void observe(const FlushStats& s, double dt);
  double model_window_s(int shards, double rate) const;
  void reset();

  Options opts_;
  uint64_t last_ns_ = 0;  // time of the previous observation
  int shards_ = 1;
  double rate_ = 0;              // EWMA of events per second
  double writes_per_flush_ = 0;  // EWMA
  double cost_per_write_ = 0;    // EWMA, loop-seconds per client write
  double boost_ = 1;             // feedback factor
  double window_s_ = 0;          // smoothed output
};

}  // namespace tg::batcher
