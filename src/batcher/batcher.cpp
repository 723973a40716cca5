// batcher.cpp -- the Batcher thread: wake-ups, the window timer, and each flush.
#include "batcher/batcher.hpp"

#include <pthread.h>

#include <algorithm>
#include <stdexcept>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/memory.hpp"
#include "common/result.hpp"

namespace tg::batcher {

namespace {
constexpr uint64_t kSweepMinMs = 100;
constexpr uint64_t kSweepMaxMs = 1000;
constexpr uint64_t kHistogramEveryNs = 1'000'000'000;  // rooms_by_bytes: at most once a second
}  // namespace

Batcher::Batcher(Options options, std::unique_ptr<Sequencer> sequencer,
                 std::unique_ptr<WindowPolicy> policy)
    : opts_(options),
      sequencer_(std::move(sequencer)),
      policy_(std::move(policy)),
      encoder_(options.zstd_level),
      rooms_(options.max_rooms),
      ledger_(options.room_history_bytes, options.history_total_bytes) {
  for (int i = 0; i < opts_.shards; ++i) inboxes_.push_back(std::make_unique<Inbox>());
  counters_.history_budget.set(options.history_total_bytes);
}

Batcher::~Batcher() {
  TG_ASSERT(!thread_.joinable());
  ZSTD_freeDCtx(v2_dctx_);
}

void Batcher::start() {
  if (uv_loop_init(&loop_) != 0 || uv_async_init(&loop_, &wake_, wake_cb) != 0 ||
      uv_async_init(&loop_, &stop_, stop_cb) != 0 || uv_timer_init(&loop_, &timer_) != 0 ||
      uv_timer_init(&loop_, &sweep_timer_) != 0 || uv_timer_init(&loop_, &stop_wait_) != 0)
    throw std::runtime_error("batcher: libuv setup failed");
  wake_.data = stop_.data = timer_.data = sweep_timer_.data = stop_wait_.data = this;
  if (backplane_) backplane_->start(&loop_, this);
  // Expiry is checked a few times per TTL (at most every second), which also refreshes
  // the rooms-by-bytes gauges.
  uint64_t sweep_ms = kSweepMaxMs;
  if (opts_.room_ttl_ms > 0)
    sweep_ms = std::clamp<uint64_t>(opts_.room_ttl_ms / 4, kSweepMinMs, kSweepMaxMs);
  uv_timer_start(&sweep_timer_, sweep_cb, sweep_ms, sweep_ms);
  running_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "tg-batcher");
    uv_run(&loop_, UV_RUN_DEFAULT);
    TG_ASSERT(uv_loop_close(&loop_) == 0);
  });
}

void Batcher::notify() {
  std::lock_guard lock(run_mu_);
  if (running_) uv_async_send(&wake_);  // events pushed after stop() are dropped
}

void Batcher::reconfigure_window(const WindowOptions& options) {
  std::lock_guard lock(run_mu_);
  pending_window_ = options;
  if (running_) uv_async_send(&wake_);
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
  auto* self = static_cast<Batcher*>(h->data);
  std::optional<WindowOptions> options;
  {
    std::lock_guard lock(self->run_mu_);
    options.swap(self->pending_window_);
  }
  if (options) self->policy_->reconfigure(*options);
  uint64_t now = mono_ns();
  self->intake(now);
  self->flush_due(now);  // rooms given no window go out on this loop turn
}

void Batcher::timer_cb(uv_timer_t* h) {
  auto* self = static_cast<Batcher*>(h->data);
  uint64_t now = mono_ns();
  self->intake(now);
  self->flush_due(now);
}

void Batcher::stop_cb(uv_async_t* h) {
  auto* self = static_cast<Batcher*>(h->data);
  self->stopping_ = true;
  self->intake(mono_ns());
  self->flush_due(mono_ns(), true);  // every pending window goes out before shutdown
  if (self->backplane_) {
    // Appends in flight get their answer (and their batch its delivery) if it comes
    // soon; the drain that follows sends what the logs hold.
    constexpr uint64_t kStopWaitMs = 2000;
    for (const auto& [room, v] : self->views_) {
      if (v.appending) {
        uv_timer_start(&self->stop_wait_, stop_wait_cb, kStopWaitMs, 0);
        return;
      }
    }
  }
  self->finish_stop();
}

void Batcher::stop_wait_cb(uv_timer_t* h) {
  static_cast<Batcher*>(h->data)->finish_stop();
}

void Batcher::finish_stop() {
  if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&wake_))) return;
  if (backplane_) backplane_->stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&wake_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&sweep_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_wait_), nullptr);
}

void Batcher::sweep_cb(uv_timer_t* h) {
  static_cast<Batcher*>(h->data)->sweep(mono_ns());
}

void Batcher::intake(uint64_t now_ns) {
  for (auto& inbox : inboxes_) inbox->drain_into(intake_);
  for (Inbound& e : intake_) {
    if (e.kind == InboundKind::kNeed) {
      if (backplane_) need(e);
      continue;
    }
    if (e.kind == InboundKind::kClaim || e.kind == InboundKind::kRelease) {
      if (backplane_) claim(e);
      continue;
    }
    count_v2_member(e, now_ns);
    auto it = queues_.find(e.room);
    if (it == queues_.end()) {
      // The room's window opens with its first event (libuv timers have 1 ms resolution,
      // so a window is 0 or at least 1 ms).
      RoomQueue q;
      q.window_us = policy_->open_window_us(e.room, now_ns);
      q.due_ns = now_ns + q.window_us * 1000;
      if (q.window_us > 0)
        TG_LOG(kDebug, "room %s: window %.1f ms", e.room.c_str(), q.window_us / 1000.0);
      it = queues_.emplace(e.room, std::move(q)).first;
    }
    it->second.events.push_back(std::move(e));
  }
  intake_.clear();
}

void Batcher::flush_due(uint64_t now_ns, bool all) {
  // Rooms whose windows close within the timer's resolution flush together with the
  // ones that are due now: one pass, one delivery.
  constexpr uint64_t kTogetherNs = 1'000'000;
  uint64_t start = mono_ns();
  bool with_json = json_clients_.load(std::memory_order_relaxed) > 0;
  uint64_t events = 0, widest_us = 0;
  for (auto it = queues_.begin(); it != queues_.end();) {
    if (!all && it->second.due_ns > now_ns + kTogetherNs) {
      ++it;
      continue;
    }
    if (backplane_) {
      // Cluster mode: the batch is proposed to the backplane and delivered when it is
      // appended (on_appended); a room that cannot append now keeps its events queued.
      size_t n = it->second.events.size();
      uint64_t window = it->second.window_us;
      if (!propose(it->first, it->second, with_json)) {
        ++it;
        continue;
      }
      events += n;
      counters_.room_window_us.observe(window);
      it = queues_.erase(it);
      continue;
    }
    events += it->second.events.size();
    widest_us = std::max(widest_us, it->second.window_us);
    counters_.room_window_us.observe(it->second.window_us);
    build_batch(it->first, it->second, with_json);
    it = queues_.erase(it);
  }
  deliver_built(start, events, widest_us);
  arm_timer(mono_ns());
}

void Batcher::deliver_built(uint64_t start_ns, uint64_t events, uint64_t widest_us) {
  if (built_.empty()) {
    send_receipts();
    return;
  }
  for (const Batch& b : built_) flushed_.push_back({b.room, b.msg_count(), b.online});
  uint64_t built = mono_ns();
  account(built);
  for (BatchSink* sink : sinks_) sink->deliver(built_, cuts_);
  cuts_.clear();
  FlushStats stats = measure(start_ns, events);
  count_flush(events, built - start_ns, stats.now_ns - start_ns);
  policy_->observe(stats, flushed_);
  for (const Batch& b : built_) widest_us = std::max(widest_us, b.window_us);
  window_us_.store(widest_us, std::memory_order_relaxed);
  TG_LOG(kTrace, "flush: %llu events in %zu batches", static_cast<unsigned long long>(events),
         built_.size());
  // The RoomFlush names point into the batches: cleared together.
  flushed_.clear();
  built_.clear();
  send_receipts();
}

void Batcher::add_receipt(const Inbound& e, uint64_t seq, uint64_t epoch) {
  if (e.ticket == 0 || e.shard < 0 || static_cast<size_t>(e.shard) >= sinks_.size()) return;
  if (receipts_.size() < sinks_.size()) receipts_.resize(sinks_.size());
  receipts_[static_cast<size_t>(e.shard)].push_back({e.ticket, seq, epoch});
}

void Batcher::send_receipts() {
  for (size_t i = 0; i < receipts_.size(); ++i) {
    if (receipts_[i].empty()) continue;
    sinks_[i]->sequenced(std::move(receipts_[i]));
    receipts_[i].clear();  // moved from: valid, and emptied for the next flush
  }
}

void Batcher::arm_timer(uint64_t now_ns) {
  uint64_t next = UINT64_MAX;
  for (const auto& [room, q] : queues_) {
    // A room waiting for the backplane is flushed by the answer; the timer only looks
    // again now and then, in case no answer comes to wake it.
    constexpr uint64_t kWaitingRetryNs = 50'000'000;
    next = std::min(next, backplane_ && q.due_ns <= now_ns ? now_ns + kWaitingRetryNs : q.due_ns);
  }
  if (next == UINT64_MAX) {
    uv_timer_stop(&timer_);
    return;
  }
  uint64_t wait_ms = next > now_ns ? (next - now_ns + 999'999) / 1'000'000 : 0;
  uv_timer_start(&timer_, timer_cb, wait_ms, 0);
}

FlushStats Batcher::measure(uint64_t start_ns, uint64_t events) {
  FlushStats s;
  s.now_ns = mono_ns();
  s.events = events;
  s.batches = built_.size();
  s.encode_ns = s.now_ns - start_ns;
  s.shards = static_cast<int>(sinks_.size());
  uint64_t writes = 0, fanout = 0;
  for (BatchSink* sink : sinks_) {
    SinkLoad l = sink->load();
    writes += l.writes;
    fanout += l.fanout_ns;
    s.busy_sum += l.busy;
    s.busy_max = std::max(s.busy_max, l.busy);
    s.lag_ns = std::max(s.lag_ns, l.lag_ns);
  }
  s.writes = writes - writes_seen_;
  s.fanout_ns = fanout - fanout_seen_;
  writes_seen_ = writes;
  fanout_seen_ = fanout;
  return s;
}

int Batcher::order_events(RoomQueue& q) {
  // Each Shard's inbox is in receive order; a stable sort on the receive clock merges
  // them without reordering any one client's events.
  std::stable_sort(q.events.begin(), q.events.end(),
                   [](const Inbound& a, const Inbound& b) { return a.recv_ns < b.recv_ns; });
  event_ptrs_.clear();
  int delta = 0;
  for (const Inbound& e : q.events) {
    event_ptrs_.push_back(&e);
    if (e.kind == InboundKind::kJoin) ++delta;
    if (e.kind == InboundKind::kLeave) --delta;
  }
  return delta;
}

void Batcher::build_batch(const std::string& room, RoomQueue& q, bool with_json) {
  int delta = order_events(q);
  const std::vector<const Inbound*>& events = event_ptrs_;
  // A room's first batch of an incarnation: its seqs start where the directory said
  // when a join created it (above every seq issued before then).
  uint64_t incarnation = ledger_.incarnation(room);
  if (incarnation == 0) {
    if (auto inc = rooms_.find(room)) {
      incarnation = inc->id;
      sequencer_->open(room, inc->first_batch, inc->first_msg);
    }
  }
  auto assigned = sequencer_->assign(room, events.size(), delta);
  built_.push_back(encoder_.encode(room, assigned, events, with_json));
  attach_v2(built_.back(), encoder_.last_json(), mono_ns());
  for (size_t i = 0; i < events.size(); ++i) add_receipt(*events[i], assigned.first_msg_seq + i, 0);
  Batch& b = built_.back();
  b.incarnation = incarnation;
  b.first_recv_ns = events.front()->recv_ns;  // events are in receive order
  b.window_us = q.window_us;
}

void Batcher::count_flush(uint64_t events, uint64_t encode_ns, uint64_t flush_ns) {
  BatcherCounters& c = counters_;
  c.flushes.add();
  c.events.add(events);
  c.batches.add(built_.size());
  for (const Batch& b : built_) {
    c.raw_bytes.add(b.raw_bytes);
    c.compressed_bytes.add(b.zstd.size());
    c.batch_msgs.observe(b.msg_count());
    c.batch_bytes.observe(b.zstd.size());
  }
  c.encode_ns.observe(encode_ns);
  c.flush_ns.observe(flush_ns);
}

void Batcher::account(uint64_t now_ns) {
  uint64_t held = ledger_.bytes();
  if (backplane_) attach_v2_built(now_ns);
  for (const Batch& b : built_) {
    ledger_.add(b.room, b.incarnation, b.seq, b.history_bytes(), now_ns);
    held += b.history_bytes();
  }
  ledger_.enforce(cuts_);
  v2_after_cuts();
  // What the cuts drop is freed once every Shard applied them and no write pins it.
  memory::note_released(held - std::min(held, ledger_.bytes()));
  // From here on a room created by a join starts above every seq just issued. (In
  // cluster mode a room's seqs are its log's, in its epoch.)
  if (!backplane_) {
    Sequencer::HighWater hw = sequencer_->high_water();
    rooms_.raise_high_water(hw.batch, hw.msg);
  }
  publish_history();
}

void Batcher::publish_history() {
  counters_.history_bytes.set(ledger_.bytes());
  counters_.history_evicted_batches.add(ledger_.evicted_batches() -
                                        counters_.history_evicted_batches.get());
  counters_.history_evicted_bytes.add(ledger_.evicted_bytes() -
                                      counters_.history_evicted_bytes.get());
}

// A room expires when the directory has had no member for it for --room-ttl-s, the
// Batcher has built nothing for it for as long, and no event of it waits in a queue.
// Events come only from members, and a Shard submits a leave before it tells the
// directory; so once the directory shows no member, draining the inboxes (intake) brings
// in every event the room will ever get from that incarnation. The directory removes
// the room under its lock only if still no one joined: a join racing with the expiry
// either comes first (and the room lives on) or creates a new incarnation after it.
void Batcher::sweep(uint64_t now_ns) {
  release_quiet_streams(now_ns);
  if (backplane_) {
    heartbeat_rooms(now_ns);
    refresh_names(now_ns);
  }
  const uint64_t ttl_ns = opts_.room_ttl_ms * 1'000'000;
  if (ttl_ns > 0) {
    idle_.clear();
    rooms_.idle_rooms(now_ns, ttl_ns, idle_);
    if (!idle_.empty()) {
      const uint64_t held = ledger_.bytes();
      intake(now_ns);
      for (const auto& [room, id] : idle_) {
        if (queues_.contains(room) || room_busy(room)) continue;
        uint64_t active = ledger_.last_active_ns(room);
        if (active != 0 && now_ns - std::min(now_ns, active) < ttl_ns) continue;
        if (!rooms_.expire(room, id, now_ns, ttl_ns)) continue;
        sequencer_->forget(room);
        if (backplane_ && views_.erase(room) > 0) backplane_->unfollow(room);
        policy_->forget(room);
        ledger_.forget(room);
        forget_stream(room);
        cuts_.push_back({room, id, 0, true});
        counters_.rooms_expired.add();
        TG_LOG(kDebug, "room %s expired", room.c_str());
      }
      memory::note_released(held - std::min(held, ledger_.bytes()));
      // Published before the forget cuts go out, so whoever sees a room forgotten sees
      // its bytes gone from the gauges too.
      publish_history();
      if (!cuts_.empty()) {
        static const std::vector<Batch> kNoBatches;
        for (BatchSink* sink : sinks_) sink->deliver(kNoBatches, cuts_);
        cuts_.clear();
      }
      flush_due(mono_ns());  // what intake() brought in, and re-arms the window timer
    }
  }
  publish_history();
  if (histogram_at_ns_ == 0 || now_ns - histogram_at_ns_ >= kHistogramEveryNs) {
    histogram_at_ns_ = now_ns;
    ledger_.rooms_by_bytes(kRoomBytesBounds, bucket_scratch_);
    for (size_t i = 0; i < kRoomBytesBuckets; ++i)
      counters_.rooms_by_bytes[i].set(bucket_scratch_[i]);
  }
}

}  // namespace tg::batcher
