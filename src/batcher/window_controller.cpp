// window_controller.cpp -- the adaptive window: a cost model corrected by feedback.
#include "batcher/window_controller.hpp"

#include <algorithm>
#include <cmath>

namespace tg::batcher {

namespace {
constexpr double kRateTau = 0.25;   // s: how fast the event rate estimate follows
constexpr double kCostTau = 1.0;    // s: the per-write cost changes slowly
constexpr double kRiseTau = 0.10;   // s: the window widens quickly under pressure...
constexpr double kFallTau = 0.25;   // s: ...and narrows a little more carefully
constexpr double kIdleReset = 1.0;  // s without a flush: the load is gone
constexpr double kBoostGain = 4.0;  // per second per unit of busy-fraction excess
constexpr double kBoostMax = 8.0;
constexpr double kLagLimit = 0.050;    // s: deliveries lagging this much count as pressure
constexpr double kBoostStep = 0.002;   // s of window per unit of boost above 1
constexpr double kSnapToZero = 0.001;  // s: libuv timers tick in ms: below, just 0

// Weight of a new sample after `dt` seconds for an EWMA with time constant `tau`.
double alpha(double dt, double tau) {
  return 1.0 - std::exp(-dt / tau);
}
}  // namespace

WindowController::WindowController(Options options) : opts_(options) {}

void WindowController::reset() {
  rate_ = 0;
  writes_per_flush_ = 0;
  boost_ = 1;
  window_s_ = 0;
}

uint64_t WindowController::window_at(uint64_t now_ns) {
  if (last_ns_ == 0 || now_ns <= last_ns_) return static_cast<uint64_t>(window_s_ * 1e6);
  double gap = (now_ns - last_ns_) * 1e-9;
  if (gap > kIdleReset) {
    reset();  // nothing flushed for a while: a lone message goes out at once
    last_ns_ = now_ns;
    return 0;
  }
  // Flushes update the estimates, and none happen while it is quiet: judge the rate
  // as if this event ended the gap, so that after a burst a lone message does not wait
  // for a window sized for the burst. Never wider than the window in force.
  double rate = rate_ + alpha(gap, kRateTau) * (1.0 / gap - rate_);
  double w = model_window_s(shards_, rate) * boost_ + (boost_ - 1.0) * kBoostStep;
  if (w < kSnapToZero) return 0;
  return static_cast<uint64_t>(std::min(w, window_s_) * 1e6);
}

void WindowController::observe(const FlushStats& s, double dt) {
  double a = alpha(dt, kRateTau);
  rate_ += a * (s.events / dt - rate_);
  writes_per_flush_ += a * (static_cast<double>(s.writes) - writes_per_flush_);
  if (s.writes > 0) {
    // All loop busy time is charged to writes: an overestimate at light load, where it
    // does not matter (the window stays 0), and close under fan-out load, where it does.
    double sample = s.busy_sum * dt / static_cast<double>(s.writes);
    double ac = alpha(dt, kCostTau);
    cost_per_write_ =
        cost_per_write_ == 0 ? sample : cost_per_write_ + ac * (sample - cost_per_write_);
  }
  double excess = s.busy_max - opts_.target_cpu;
  if (s.lag_ns * 1e-9 > kLagLimit) excess = std::max(excess, 0.1);
  boost_ = std::clamp(boost_ * std::exp(kBoostGain * excess * dt), 1.0, kBoostMax);
}

double WindowController::model_window_s(int shards, double rate) const {
  double cost_per_flush = writes_per_flush_ * cost_per_write_;  // C, loop-seconds
  if (cost_per_flush <= 0 || rate <= 0) return 0;
  // lambda in loop-seconds per second per second of latency: 1% of a core per ms = 10.
  double lambda = std::max(opts_.latency_weight, 1e-3) * 10.0;
  double economy = std::sqrt(2.0 * cost_per_flush / lambda);
  double budget = cost_per_flush / (opts_.target_cpu * std::max(shards, 1));
  return std::max(0.0, std::max(economy, budget) - 1.0 / rate);
}

uint64_t WindowController::next_window_us(const FlushStats& s) {
  if (last_ns_ == 0 || s.now_ns <= last_ns_) {
    last_ns_ = s.now_ns;
    return static_cast<uint64_t>(window_s_ * 1e6);
  }
  double dt = (s.now_ns - last_ns_) * 1e-9;
  last_ns_ = s.now_ns;
  if (dt > kIdleReset) reset();
  dt = std::min(dt, kIdleReset);
  observe(s, dt);
  shards_ = s.shards;

  double max_s = opts_.max_ms / 1000.0;
  double target = model_window_s(s.shards, rate_) * boost_ + (boost_ - 1.0) * kBoostStep;
  target = std::clamp(target, 0.0, max_s);
  double tau = target > window_s_ ? kRiseTau : kFallTau;
  window_s_ += alpha(dt, tau) * (target - window_s_);
  if (target == 0 && window_s_ < kSnapToZero) window_s_ = 0;
  return static_cast<uint64_t>(window_s_ * 1e6);
}

}  // namespace tg::batcher
