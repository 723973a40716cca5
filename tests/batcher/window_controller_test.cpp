// Tests for WindowController (per-room windows) with synthetic measurements and a fake
// clock: a simulated server ("plant") whose loops pay a fixed cost per client write
// answers each room's window with the flushes and the load that window causes.
#include "batcher/window_controller.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

namespace tg::batcher {
namespace {

// A room of `members`, its events arriving evenly at `rate` per second.
struct RoomLoad {
  std::string name;
  double members;
  double rate;
};

// Loops that pay `write_cost` loop-seconds per client write (fan-out) plus `other_busy`
// of each loop's time on work batching cannot reduce (connects, HTTP, bad traffic).
struct Plant {
  double write_cost = 5e-6;
  double other_busy = 0.02;
  int shards = 1;
};

constexpr double kTick = 0.001;  // s: the simulation's time step

class Simulation {
 public:
  Simulation(WindowController::Options o, Plant p) : ctl_(o), plant_(p) {}

  // Runs `seconds` of simulated time with `rooms` active; returns the mean busy
  // fraction of the loops, and records each room's last window.
  double run(const std::vector<RoomLoad>& rooms, double seconds) {
    std::vector<Open> open(rooms.size());
    std::vector<double> next_event(rooms.size(), t_);
    double end = t_ + seconds, busy_total = 0;
    double fanout_s = 0, writes = 0;
    int ticks = 0;
    while (t_ < end) {
      t_ += kTick;
      ++ticks;
      std::vector<RoomFlush> flushed;
      for (size_t i = 0; i < rooms.size(); ++i) {
        while (next_event[i] <= t_) {
          next_event[i] += 1.0 / rooms[i].rate;
          if (open[i].events++ == 0) {
            open[i].due = t_ + ctl_.open_window_us(rooms[i].name, ns(t_)) / 1e6;
            windows_[rooms[i].name] = (open[i].due - t_) * 1000;
          }
        }
        if (open[i].events > 0 && open[i].due <= t_) {
          flushed.push_back(
              {rooms[i].name, open[i].events, static_cast<uint32_t>(rooms[i].members)});
          writes += rooms[i].members;
          fanout_s += rooms[i].members * plant_.write_cost;
          open[i] = Open{};
        }
      }
      if (!flushed.empty()) {
        double dt = t_ - last_flush_;
        double busy = std::min(1.0, plant_.other_busy + fanout_s / (dt * plant_.shards));
        FlushStats s;
        s.now_ns = ns(t_);
        s.writes = static_cast<uint64_t>(writes);
        s.fanout_ns = ns(fanout_s);
        s.busy_sum = busy * plant_.shards;
        s.busy_max = busy;
        s.shards = plant_.shards;
        ctl_.observe(s, flushed);
        busy_total += busy * dt;
        last_flush_ = t_;
        fanout_s = writes = 0;
      }
    }
    return busy_total / (ticks * kTick);
  }

  // A lone event in `room` after `idle` seconds of silence: the window it opens, in ms.
  double lone_event(const std::string& room, double idle) {
    t_ += idle;
    return ctl_.open_window_us(room, ns(t_)) / 1000.0;
  }

  // The window in ms the room's last window opened with.
  double window_ms(const std::string& room) { return windows_[room]; }
  WindowController& controller() { return ctl_; }

 private:
  struct Open {
    uint64_t events = 0;
    double due = 0;
  };
  static uint64_t ns(double s) { return static_cast<uint64_t>(s * 1e9); }

  WindowController ctl_;
  Plant plant_;
  double t_ = 1.0;
  double last_flush_ = 1.0;
  std::map<std::string, double> windows_;
};

const WindowController::Options kOpts{100, 0.7, 1.0, 50};

// "<prefix><i>". (Appending, not `prefix + std::to_string(i)`: GCC 12 at -O3 warns a
// false -Wrestrict inside libstdc++ for a literal prepended to a temporary string.)
std::string room(const char* prefix, int i) {
  std::string name = prefix;
  name += std::to_string(i);
  return name;
}

}  // namespace

TEST(WindowController, AQuietRoomFlushesOnTheNextLoopTurn) {
  Simulation sim(kOpts, Plant{});
  sim.run({{"lobby", 100, 1}}, 10);  // 100 members, one message a second
  EXPECT_EQ(sim.window_ms("lobby"), 0.0);
  // A room of 100 at 10 messages a second costs half a percent of a core: no window.
  sim.run({{"lobby", 100, 10}}, 5);
  EXPECT_EQ(sim.window_ms("lobby"), 0.0);
}

TEST(WindowController, ARoomWhoseFanOutCostsLittleIsNotBatchedEvenAtAHighRate) {
  Simulation sim(kOpts, Plant{});
  // 8 members at 1000 events/s: 4% of a core with no window. The square-root law alone
  // would still open 1.8 ms windows; so little is not worth any latency.
  sim.run({{"pair", 8, 1000}}, 5);
  EXPECT_EQ(sim.window_ms("pair"), 0.0);
}

TEST(WindowController, AHotRoomGetsTheSquareRootWindowUnderTheLatencyTarget) {
  Simulation sim(kOpts, Plant{});
  sim.run({{"hot", 2000, 1000}}, 10);
  // C = 2000 x 5 us = 10 ms a flush; lambda = 10 (1% of a core per ms):
  // sqrt(2 C / lambda) - 1/R = 44.7 - 1 ms.
  EXPECT_NEAR(sim.window_ms("hot"), 43.7, 3.0);
  EXPECT_NEAR(sim.controller().cost_per_write_s(), 5e-6, 0.5e-6);
  EXPECT_DOUBLE_EQ(sim.controller().price(), 1.0);
}

TEST(WindowController, EachRoomIsJudgedByItsOwnRateAndFanOut) {
  Simulation sim(kOpts, Plant{});
  std::vector<RoomLoad> rooms{{"hot", 2000, 1000}};
  for (int i = 0; i < 24; ++i) rooms.push_back({room("quiet", i), 20, 0.5});
  sim.run(rooms, 10);
  EXPECT_GT(sim.window_ms("hot"), 30.0);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(sim.window_ms(room("quiet", i)), 0.0) << i;
}

TEST(WindowController, WhileCpuIsPlentifulTheLatencyTargetCapsTheWindow) {
  WindowController::Options cheap_latency = kOpts;
  cheap_latency.latency_weight = 0.01;  // the economy alone would want ~450 ms
  Simulation sim(cheap_latency, Plant{});
  sim.run({{"hot", 2000, 1000}}, 10);
  EXPECT_NEAR(sim.window_ms("hot"), 50.0, 1.0);
}

TEST(WindowController, AReloadedLatencyTargetCapsTheWindowFromThenOn) {
  WindowController::Options cheap_latency = kOpts;
  cheap_latency.latency_weight = 0.01;
  Simulation sim(cheap_latency, Plant{});
  sim.run({{"hot", 2000, 1000}}, 10);
  ASSERT_NEAR(sim.window_ms("hot"), 50.0, 1.0);
  WindowController::Options tighter = cheap_latency;
  tighter.latency_target_ms = 20;
  sim.controller().reconfigure(tighter);
  sim.run({{"hot", 2000, 1000}}, 10);
  EXPECT_NEAR(sim.window_ms("hot"), 20.0, 1.0);
}

TEST(WindowController, ALoneMessageAfterABurstGoesOutAtOnce) {
  Simulation sim(kOpts, Plant{});
  sim.run({{"hot", 2000, 1000}}, 5);
  ASSERT_GT(sim.window_ms("hot"), 30.0);
  // 50 ms of silence is 50 mean intervals of the burst: it is over.
  EXPECT_EQ(sim.lone_event("hot", 0.05), 0.0);
  // A brand-new room has no history at all.
  EXPECT_EQ(sim.lone_event("new", 0.001), 0.0);
}

TEST(WindowController, LoopsBusyWithOtherWorkAreNoReasonToBatch) {
  // 90% of each loop goes to work batching cannot reduce (a flood of bad connections):
  // above the target, but fan-out is a small share of it, so latency stays cheap.
  Simulation sim(kOpts, Plant{5e-6, 0.9, 1});
  sim.run({{"lobby", 100, 10}}, 10);
  EXPECT_EQ(sim.window_ms("lobby"), 0.0);
  EXPECT_DOUBLE_EQ(sim.controller().price(), 1.0);
}

TEST(WindowController, FanOutAboveTheTargetWidensPastTheLatencyTargetUpToTheMax) {
  // 4000 members at 2000 events/s, 20 us a write: even at the 50 ms latency target one
  // loop is past 0.7 busy, and fan-out is nearly all of it.
  Simulation sim(kOpts, Plant{20e-6, 0.02, 1});
  double busy = sim.run({{"hot", 4000, 2000}}, 20);
  EXPECT_LT(sim.controller().price(), 1.0);
  EXPECT_GT(sim.window_ms("hot"), 50.0);
  EXPECT_LE(sim.window_ms("hot"), 100.001);
  EXPECT_LT(busy, 0.9);
  // The load halves: the loops fall below the target, the price returns to 1 and the
  // window to the latency target.
  sim.run({{"hot", 1000, 500}}, 20);
  EXPECT_DOUBLE_EQ(sim.controller().price(), 1.0);
  EXPECT_NEAR(sim.window_ms("hot"), 50.0, 0.5);
}

TEST(WindowController, IdleRoomsAreForgotten) {
  Simulation sim(kOpts, Plant{});
  std::vector<RoomLoad> rooms;
  for (int i = 0; i < 500; ++i) rooms.push_back({room("r", i), 10, 2});
  sim.run(rooms, 2);
  EXPECT_EQ(sim.controller().rooms_tracked(), 500u);
  sim.run({{"lobby", 10, 2}}, 15);  // the 500 fall silent
  EXPECT_EQ(sim.controller().rooms_tracked(), 1u);
  EXPECT_EQ(sim.controller().room_rate("r7"), 0.0);
  EXPECT_NEAR(sim.controller().room_rate("lobby"), 2.0, 0.3);
}

TEST(FixedWindow, GivesEveryRoomTheSameWindow) {
  FixedWindow w(5000);
  EXPECT_EQ(w.open_window_us("a", 1), 5000u);
  EXPECT_EQ(w.open_window_us("b", 2), 5000u);
}

}  // namespace tg::batcher
