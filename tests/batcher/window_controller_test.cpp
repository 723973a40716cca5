// Tests for WindowController with synthetic measurements and a fake clock: a simulated
// server ("plant") whose loops pay a fixed cost per client write answers each window
// the controller picks with the load that window causes.
#include "batcher/window_controller.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tg::batcher {
namespace {

// A server with `clients` clients in one room, 2 loops, each client write costing
// `write_cost` loop-seconds. Events arrive at `rate` per second.
struct Plant {
  double clients = 2000;
  double write_cost = 5e-6;
  double base_busy = 0.02;
  int shards = 2;
};

struct Step {
  double t;       // simulated seconds since the start
  double window;  // ms, the controller's output after this flush
  double busy;    // the busiest loop's busy fraction during this flush
};

class Simulation {
 public:
  Simulation(WindowController::Options o, Plant p) : ctl_(o), plant_(p) {}

  // Runs `seconds` of simulated time at `rate` events/s; returns every flush.
  std::vector<Step> run(double rate, double seconds) {
    std::vector<Step> steps;
    double end = t_ + seconds;
    while (t_ < end) {
      // The window opens with the next event and closes `window` later.
      double gap = 1.0 / rate;
      double interval = gap + window_s_;
      double events = std::max(1.0, rate * interval);
      // Loop work in this interval: one write per client per flush. When that work
      // exceeds the interval the loops are saturated: the flush is simply later.
      double work = plant_.clients * plant_.write_cost / plant_.shards;
      double busy = std::min(1.0, plant_.base_busy + work / interval);
      interval = std::max(interval, work);  // saturated loops stretch the interval
      t_ += interval;
      FlushStats s;
      s.now_ns = static_cast<uint64_t>(t_ * 1e9);
      s.events = static_cast<uint64_t>(events);
      s.batches = 1;
      s.writes = static_cast<uint64_t>(plant_.clients);
      s.busy_sum = busy * plant_.shards;
      s.busy_max = busy;
      s.lag_ns = static_cast<uint64_t>(std::min(interval, work) * 1e9);
      s.shards = plant_.shards;
      window_s_ = ctl_.next_window_us(s) / 1e6;
      steps.push_back({t_, window_s_ * 1000, busy});
    }
    return steps;
  }

  // An event arrives after `idle` seconds of silence: the window it opens.
  double window_after_idle(double idle) {
    t_ += idle;
    window_s_ = ctl_.window_at(static_cast<uint64_t>(t_ * 1e9)) / 1e6;
    return window_s_ * 1000;
  }

  WindowController& controller() { return ctl_; }

 private:
  WindowController ctl_;
  Plant plant_;
  double t_ = 1.0;
  double window_s_ = 0;
};

// Steps with t in the last `seconds` of a run.
std::vector<Step> tail(const std::vector<Step>& steps, double seconds) {
  std::vector<Step> out;
  for (const Step& s : steps)
    if (s.t >= steps.back().t - seconds) out.push_back(s);
  return out;
}

double max_window(const std::vector<Step>& s) {
  double m = 0;
  for (const Step& x : s) m = std::max(m, x.window);
  return m;
}
double min_window(const std::vector<Step>& s) {
  double m = 1e9;
  for (const Step& x : s) m = std::min(m, x.window);
  return m;
}
double mean_busy(const std::vector<Step>& s) {
  double sum = 0;
  for (const Step& x : s) sum += x.busy;
  return sum / static_cast<double>(s.size());
}

const WindowController::Options kOpts{100, 0.7};

}  // namespace

TEST(WindowController, IdleOrLightLoadKeepsTheWindowAtZero) {
  Simulation sim(kOpts, Plant{100, 5e-6, 0.01, 2});
  auto steps = sim.run(1.0, 10);  // one message a second, 100 clients
  EXPECT_EQ(max_window(steps), 0.0);
  // A busy room at a modest rate still costs little: no window either.
  Simulation room(kOpts, Plant{2000, 5e-6, 0.01, 2});
  EXPECT_EQ(max_window(tail(room.run(20, 5), 2)), 0.0);
}

TEST(WindowController, RisingLoadGrowsTheWindowBeforeTheLoopsSaturate) {
  Simulation sim(kOpts, Plant{});
  // 2000 clients, 5 us per write, 2 loops: with no window, 140 events/s would already
  // fill 70% of both loops, and 1000/s would need 5 loops.
  double last_window = 0;
  for (double rate : {50.0, 100.0, 200.0, 400.0, 1000.0}) {
    auto settled = tail(sim.run(rate, 3), 1);
    double w = max_window(settled);
    EXPECT_GE(w, last_window) << "rate " << rate;
    last_window = w;
    // Settled, the loops stay near or under the target instead of saturating.
    EXPECT_LT(mean_busy(settled), kOpts.target_cpu + 0.1) << "rate " << rate;
  }
  EXPECT_GT(last_window, 5.0);
}

TEST(WindowController, SustainedOverloadHoldsTheWindowAtTheBound) {
  // Writes so costly that even the largest window cannot meet the target.
  Simulation sim(kOpts, Plant{20000, 20e-6, 0.05, 2});
  auto settled = tail(sim.run(5000, 5), 1);
  EXPECT_NEAR(min_window(settled), kOpts.max_ms, 1.0);
  EXPECT_LE(max_window(settled), kOpts.max_ms);
}

TEST(WindowController, FallingLoadShrinksTheWindowToZeroWithinTwoSeconds) {
  Simulation sim(kOpts, Plant{});
  auto busy = tail(sim.run(1000, 3), 1);
  ASSERT_GT(min_window(busy), 5.0);
  double drop = busy.back().t;
  auto calm = sim.run(5, 2);  // the load drops to 5 events/s
  EXPECT_EQ(calm.back().window, 0.0);
  for (const Step& s : calm) {
    if (s.t >= drop + 1.0) {
      EXPECT_LT(s.window, min_window(busy) / 2) << "one second after the drop";
      break;
    }
  }
}

TEST(WindowController, AfterSilenceALoneMessageGoesOutAtOnce) {
  Simulation sim(kOpts, Plant{});
  auto busy = sim.run(1000, 3);
  ASSERT_GT(busy.back().window, 5.0);
  EXPECT_GT(sim.window_after_idle(0.2), 0.0);  // a short pause keeps the window
  EXPECT_EQ(sim.window_after_idle(2.0), 0.0);  // a real silence resets it
}

TEST(WindowController, AfterABurstALoneMessageDoesNotWaitForTheBurstsWindow) {
  Simulation sim(kOpts, Plant{});
  auto burst = sim.run(100, 2);  // e.g. a crowd joining
  ASSERT_GT(burst.back().window, 5.0);
  // Half a second later one message: at that rate, batching buys nothing.
  EXPECT_EQ(sim.window_after_idle(0.5), 0.0);
}

TEST(WindowController, SteadyLoadSettlesWithoutOscillating) {
  Simulation sim(kOpts, Plant{});
  sim.run(600, 3);
  auto settled = sim.run(600, 2);
  double hi = max_window(settled), lo = min_window(settled);
  ASSERT_GT(lo, 0.0);
  EXPECT_LT((hi - lo) / lo, 0.05) << "window swings between " << lo << " and " << hi << " ms";
  // Settled, the cost model carries the load; the feedback correction is at rest.
  EXPECT_LT(sim.controller().boost(), 1.1);
}

TEST(WindowController, MeasuresTheCostOfAWriteFromBusyTime) {
  Simulation sim(kOpts, Plant{});
  sim.run(1000, 3);
  // The model attributes all loop time (including the base load) to writes: it should
  // land near the plant's 5 us, a little above.
  EXPECT_GT(sim.controller().cost_per_write_s(), 4e-6);
  EXPECT_LT(sim.controller().cost_per_write_s(), 12e-6);
  EXPECT_NEAR(sim.controller().writes_per_flush(), 2000, 1);
}

}  // namespace tg::batcher

namespace tg::batcher {

TEST(WindowController, UnderLoadTheWindowFollowsTheSquareRootLaw) {
  Simulation sim(kOpts, Plant{});
  auto settled = tail(sim.run(1000, 4), 1);
  const WindowController& c = sim.controller();
  double cost = c.writes_per_flush() * c.cost_per_write_s();  // C, loop-seconds/flush
  double expected_ms = (std::sqrt(2 * cost / (kOpts.latency_weight * 10)) - 1.0 / 1000) * 1000;
  EXPECT_NEAR(settled.back().window, expected_ms, expected_ms * 0.1);
}

TEST(WindowController, HigherLatencyWeightMeansNarrowerWindows) {
  Simulation cheap_latency({100, 0.7, 0.25}, Plant{});
  Simulation dear_latency({100, 0.7, 4.0}, Plant{});
  double wide = tail(cheap_latency.run(1000, 4), 1).back().window;
  double narrow = tail(dear_latency.run(1000, 4), 1).back().window;
  EXPECT_GT(narrow, 0.0);
  // sqrt(4 / 0.25) = 4 times narrower, give or take the 1/R term.
  EXPECT_NEAR(wide / narrow, 4.0, 0.5);
}

}  // namespace tg::batcher
