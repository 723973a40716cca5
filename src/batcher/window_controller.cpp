// window_controller.cpp -- the adaptive window: a per-room cost model, and a price of
// latency that falls while fan-out keeps the loops above their target.
#include "batcher/window_controller.hpp"

#include <algorithm>
#include <cmath>

namespace tg::batcher {

namespace {
constexpr double kRateTau = 0.25;       // s: how fast a room's rate estimate follows
constexpr double kCostTau = 1.0;        // s: the per-write cost changes slowly
constexpr double kBurstOver = 3.0;      // a gap of this many mean intervals ends a burst
constexpr double kPriceFall = 4.0;      // per second per unit of busy-fraction excess
constexpr double kPriceRise = 1.0;      // per second: back to 1 in a few seconds
constexpr double kPriceMin = 1.0 / 64;  // windows widen at most 8x under pressure
constexpr double kFanoutShare = 0.5;    // fan-out must be this share of busy time to widen
// A room whose fan-out with no window costs less than this share of a core (at price 1)
// has little to save by batching: it gets no window. Under pressure the bar falls with
// the price, so many small rooms together can still be batched.
constexpr double kMinRoomCpu = 0.05;
constexpr double kSnapToZero = 0.001;           // s: libuv timers tick in ms: below, just 0
constexpr double kMaxGap = 1.0;                 // s: longer gaps between flushes count as this
constexpr uint64_t kForgetNs = 10'000'000'000;  // a room idle this long is forgotten
constexpr uint64_t kSweepNs = 1'000'000'000;

// Weight of a new sample after `dt` seconds for an EWMA with time constant `tau`.
double alpha(double dt, double tau) {
  return 1.0 - std::exp(-dt / tau);
}
}  // namespace

WindowController::WindowController(Options options) : opts_(options) {}

double WindowController::room_rate(std::string_view room) const {
  auto it = rooms_.find(room);
  return it == rooms_.end() ? 0 : it->second.rate;
}

double WindowController::window_s(const Room& r, double rate) const {
  double cost_per_flush = r.online * cost_per_write_;  // C, loop-seconds
  if (cost_per_flush <= 0 || rate <= 0) return 0;
  if (cost_per_flush * rate < kMinRoomCpu * price_) return 0;  // CPU(0): not worth it
  // lambda in loop-seconds per second per second of latency: 1% of a core per ms = 10.
  double lambda = std::max(opts_.latency_weight, 1e-3) * 10.0 * price_;
  double w = std::sqrt(2.0 * cost_per_flush / lambda) - 1.0 / rate;
  // While CPU is plentiful (price 1) the cap is the latency target; as the price falls
  // it rises with the windows, up to the hard maximum.
  double cap = std::min(opts_.max_ms, opts_.latency_target_ms / std::sqrt(price_)) / 1000.0;
  w = std::clamp(w, 0.0, cap);
  return w < kSnapToZero ? 0 : w;
}

uint64_t WindowController::open_window_us(std::string_view room, uint64_t now_ns) {
  auto it = rooms_.find(room);
  if (it == rooms_.end()) it = rooms_.emplace(std::string(room), Room{}).first;
  Room& r = it->second;
  double rate = r.rate;
  if (r.last_flush_ns != 0 && now_ns > r.last_flush_ns && rate > 0) {
    // The estimate comes from flushes, and none happen while a room is quiet. In a busy
    // room the next event follows the last flush within about one mean interval; a gap of
    // several means the burst is over, and this event is judged by the gap alone (a lone
    // message after a burst goes out now).
    double gap = static_cast<double>(now_ns - r.last_flush_ns) * 1e-9;
    if (gap * rate > kBurstOver) rate = 1.0 / gap;
  }
  r.last_event_ns = now_ns;
  return static_cast<uint64_t>(window_s(r, rate) * 1e6);
}

void WindowController::update_price(const FlushStats& s, double dt) {
  double excess = s.busy_max - opts_.target_cpu;
  double busy_s = s.busy_sum * dt;
  double fanout_share = busy_s > 0 ? static_cast<double>(s.fanout_ns) * 1e-9 / busy_s : 0;
  if (excess > 0 && fanout_share >= kFanoutShare) {
    price_ = std::max(kPriceMin, price_ * std::exp(-kPriceFall * excess * dt));
  } else {
    price_ = std::min(1.0, price_ * std::exp(kPriceRise * dt));
  }
}

void WindowController::forget_idle(uint64_t now_ns) {
  if (now_ns - swept_ns_ < kSweepNs) return;
  swept_ns_ = now_ns;
  std::erase_if(rooms_, [now_ns](const auto& kv) {
    const Room& r = kv.second;
    return now_ns - std::max(r.last_event_ns, r.last_flush_ns) > kForgetNs;
  });
}

void WindowController::forget(std::string_view room) {
  auto it = rooms_.find(room);
  if (it != rooms_.end()) rooms_.erase(it);
}

void WindowController::observe(const FlushStats& s, std::span<const RoomFlush> rooms) {
  if (last_ns_ != 0 && s.now_ns > last_ns_) {
    double dt = std::min(static_cast<double>(s.now_ns - last_ns_) * 1e-9, kMaxGap);
    if (s.writes > 0) {
      double sample = static_cast<double>(s.fanout_ns) * 1e-9 / static_cast<double>(s.writes);
      cost_per_write_ = cost_per_write_ == 0
                            ? sample
                            : cost_per_write_ + alpha(dt, kCostTau) * (sample - cost_per_write_);
    }
    update_price(s, dt);
  }
  last_ns_ = s.now_ns;
  for (const RoomFlush& f : rooms) {
    auto it = rooms_.find(f.room);
    if (it == rooms_.end()) it = rooms_.emplace(std::string(f.room), Room{}).first;
    Room& r = it->second;
    if (r.last_flush_ns != 0 && s.now_ns > r.last_flush_ns) {
      double interval = std::min(static_cast<double>(s.now_ns - r.last_flush_ns) * 1e-9, kMaxGap);
      double sample = static_cast<double>(f.events) / interval;
      r.rate += alpha(interval, kRateTau) * (sample - r.rate);
    }
    r.online = f.online;
    r.last_flush_ns = s.now_ns;
  }
  forget_idle(s.now_ns);
}

}  // namespace tg::batcher
