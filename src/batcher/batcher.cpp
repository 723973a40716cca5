// batcher.cpp -- the Batcher thread: wake-ups, the window timer, and each flush.
#include "batcher/batcher.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/result.hpp"

namespace tg::batcher {

Batcher::Batcher(Options options, std::unique_ptr<Sequencer> sequencer,
                 std::unique_ptr<WindowPolicy> policy)
    : opts_(options),
      sequencer_(std::move(sequencer)),
      policy_(std::move(policy)),
      encoder_(options.zstd_level) {
  for (int i = 0; i < opts_.shards; ++i) inboxes_.push_back(std::make_unique<Inbox>());
  window_us_ = policy_->next_window_us(FlushStats{});
}

Batcher::~Batcher() {
  TG_ASSERT(!thread_.joinable());
}

void Batcher::start() {
  if (uv_loop_init(&loop_) != 0 || uv_async_init(&loop_, &wake_, wake_cb) != 0 ||
      uv_async_init(&loop_, &stop_, stop_cb) != 0 || uv_timer_init(&loop_, &timer_) != 0)
    throw std::runtime_error("batcher: libuv setup failed");
  wake_.data = stop_.data = timer_.data = this;
  running_ = true;
  thread_ = std::thread([this] {
    uv_run(&loop_, UV_RUN_DEFAULT);
    TG_ASSERT(uv_loop_close(&loop_) == 0);
  });
}

void Batcher::notify() {
  std::lock_guard lock(run_mu_);
  if (running_) uv_async_send(&wake_);  // events pushed after stop() are dropped
}

void Batcher::stop() {
  {
    std::lock_guard lock(run_mu_);
    running_ = false;
    uv_async_send(&stop_);
  }
  thread_.join();
}

void Batcher::wake_cb(uv_async_t* h) {
  static_cast<Batcher*>(h->data)->on_wake();
}

void Batcher::timer_cb(uv_timer_t* h) {
  auto* self = static_cast<Batcher*>(h->data);
  self->timer_armed_ = false;
  self->flush();
}

void Batcher::stop_cb(uv_async_t* h) {
  auto* self = static_cast<Batcher*>(h->data);
  self->flush();  // the pending window goes out before shutdown
  uv_close(reinterpret_cast<uv_handle_t*>(&self->wake_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->stop_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&self->timer_), nullptr);
}

void Batcher::on_wake() {
  if (timer_armed_) return;  // a window is open: this event joins it
  uint64_t window_us = policy_->window_at(mono_ns());
  window_us_.store(window_us, std::memory_order_relaxed);
  if (window_us == 0) {
    flush();  // idle fast path: a lone message goes out now
  } else {
    // The window opens with its first event. libuv timers have 1 ms resolution.
    uv_timer_start(&timer_, timer_cb, std::max<uint64_t>(1, (window_us + 500) / 1000), 0);
    timer_armed_ = true;
  }
}

void Batcher::flush() {
  if (timer_armed_) {
    uv_timer_stop(&timer_);
    timer_armed_ = false;
  }
  for (auto& inbox : inboxes_) inbox->drain_into(pending_);
  if (pending_.empty()) return;

  uint64_t start = mono_ns();
  build_batches();
  uint64_t built = mono_ns();
  for (BatchSink* sink : sinks_) sink->deliver(built_);

  FlushStats stats = measure(start);
  count_flush(built - start, stats.now_ns - start);
  window_us_.store(policy_->next_window_us(stats), std::memory_order_relaxed);
  TG_LOG(kTrace, "flush: %zu events in %zu batches", pending_.size(), built_.size());
  pending_.clear();
  built_.clear();
}

FlushStats Batcher::measure(uint64_t start_ns) {
  FlushStats s;
  s.now_ns = mono_ns();
  s.events = pending_.size();
  s.batches = built_.size();
  s.encode_ns = s.now_ns - start_ns;
  s.shards = static_cast<int>(sinks_.size());
  uint64_t writes = 0;
  for (BatchSink* sink : sinks_) {
    SinkLoad l = sink->load();
    writes += l.writes;
    s.busy_sum += l.busy;
    s.busy_max = std::max(s.busy_max, l.busy);
    s.lag_ns = std::max(s.lag_ns, l.lag_ns);
  }
  s.writes = writes - writes_seen_;
  writes_seen_ = writes;
  return s;
}

void Batcher::build_batches() {
  // Each Shard's inbox is in receive order; a stable sort on the receive clock merges
  // them without reordering any one client's events.
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const Inbound& a, const Inbound& b) { return a.recv_ns < b.recv_ns; });
  for (auto& [room, events] : by_room_) events.clear();
  for (const Inbound& e : pending_) by_room_[e.room].push_back(&e);

  bool with_json = json_clients_.load(std::memory_order_relaxed) > 0;
  for (auto it = by_room_.begin(); it != by_room_.end();) {
    auto& [room, events] = *it;
    if (events.empty()) {  // a room quiet for a whole flush: forget its vector
      it = by_room_.erase(it);
      continue;
    }
    int delta = 0;
    for (const Inbound* e : events) {
      if (e->kind == InboundKind::kJoin) ++delta;
      if (e->kind == InboundKind::kLeave) --delta;
    }
    auto assigned = sequencer_->assign(room, events.size(), delta);
    built_.push_back(encoder_.encode(room, assigned, events, with_json));
    built_.back().first_recv_ns = events.front()->recv_ns;  // events are in receive order
    ++it;
  }
}

void Batcher::count_flush(uint64_t encode_ns, uint64_t flush_ns) {
  BatcherCounters& c = counters_;
  c.flushes.add();
  c.events.add(pending_.size());
  c.batches.add(built_.size());
  for (const Batch& b : built_) {
    c.raw_bytes.add(b.raw_bytes);
    c.compressed_bytes.add(b.zstd.size());
    c.batch_msgs.observe(b.msg_count());
    c.batch_bytes.observe(b.zstd.size());
    if (b.online > 0) {
      occupied_rooms_.insert(b.room);
    } else {
      occupied_rooms_.erase(b.room);
    }
  }
  c.rooms.set(occupied_rooms_.size());
  c.encode_ns.observe(encode_ns);
  c.flush_ns.observe(flush_ns);
}

}  // namespace tg::batcher
