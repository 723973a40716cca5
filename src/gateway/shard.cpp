// shard.cpp -- a worker: its thread and loop, accepting, and applying delivered batches.
#include "gateway/shard.hpp"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "batcher/batch_encoder.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "gateway/reload.hpp"
#include "pool/ws_frame.hpp"

namespace tg::gateway {

namespace {
constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr uint64_t kSliceNs = 500'000;          // fan-out time per loop turn (see pump_ready)
constexpr size_t kSmallRoom = 64;               // members of a room written ahead of the rest
constexpr size_t kClockEvery = 16;              // connections pumped between clock reads
constexpr uint64_t kBusySampleMs = 50;          // how often the loop's busy fraction is sampled
constexpr unsigned kGaugeEvery = 20;            // busy samples per sample_gauges() (about 1 s)
constexpr uint64_t kRefusalLogEveryMs = 10000;  // refusals, accept errors: one line per

// True when a throttled log line is due (the first time, then once per
// kRefusalLogEveryMs of loop time `now`), and records it as written.
bool log_due(uint64_t& last_ms, uint64_t now) {
  if (last_ms != 0 && now - last_ms < kRefusalLogEveryMs) return false;
  last_ms = now;
  return true;
}

int64_t wall_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}
}  // namespace

Shard::Shard(int index, const Config& config, batcher::Batcher& batcher, NameRegistry& names,
             Admission& admission, std::atomic<uint64_t>& next_client_id, uint64_t epoch)
    : index_(index),
      config_(config),
      batcher_(batcher),
      names_(names),
      admission_(admission),
      next_client_id_(next_client_id),
      epoch_(epoch),
      clustered_(batcher.clustered()),
      read_buf_(new char[kReadBufferBytes]),
      dctx_(ZSTD_createDCtx()) {}

Shard::~Shard() {
  if (thread_.joinable()) thread_.join();
  rooms_.clear();
  ZSTD_freeDCtx(dctx_);
}

void Shard::open(int listen_fd) {
  if (uv_loop_init(&loop_) != 0 || uv_async_init(&loop_, &async_, async_cb) != 0 ||
      uv_timer_init(&loop_, &drain_timer_) != 0 || uv_timer_init(&loop_, &busy_timer_) != 0 ||
      uv_idle_init(&loop_, &pump_idle_) != 0 || uv_tcp_init(&loop_, &listener_) != 0)
    throw std::runtime_error("shard: libuv setup failed");
  async_.data = drain_timer_.data = busy_timer_.data = listener_.data = pump_idle_.data = this;
  // libuv measures how long the loop sits idle in epoll; the window controller reads it.
  uv_loop_configure(&loop_, UV_METRICS_IDLE_TIME);
  int rv = uv_tcp_open(&listener_, listen_fd);
  if (rv == 0) rv = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 1024, connection_cb);
  if (rv != 0) throw std::runtime_error(std::string("shard: listen: ") + uv_strerror(rv));
  accepting_ = true;
  busy_at_ns_ = mono_ns();
  uv_timer_start(&busy_timer_, busy_timer_cb, kBusySampleMs, kBusySampleMs);
}

void Shard::start() {
  thread_ = std::thread([this] { run(); });
}

void Shard::run() {
  // Named for top -H, perf and /proc/<pid>/task/*/comm (15 characters at most).
  std::string name = "tg-shard-";
  name += std::to_string(index_);
  pthread_setname_np(pthread_self(), name.c_str());
  if (config_.pin) {
    cpu_set_t set;
    CPU_ZERO(&set);
    int cpus = static_cast<int>(std::thread::hardware_concurrency());
    CPU_SET(index_ % (cpus > 0 ? cpus : 1), &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
      TG_LOG(kWarn, "shard %d: could not pin to a core", index_);
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  rooms_.clear();  // entries are unpinned by now: every write has completed or been cancelled
  int rv = uv_loop_close(&loop_);
  if (rv != 0) TG_LOG(kError, "shard %d: loop closed with handles open", index_);
}

void Shard::join() {
  if (thread_.joinable()) thread_.join();
}

void Shard::deliver(const std::vector<batcher::Batch>& batches,
                    const std::vector<batcher::RoomCut>& cuts) {
  {
    std::lock_guard lock(mailbox_mu_);
    // Batches and cuts join the last delivery queued: its changes come before them
    // either way, and a trim or forget cut only ever concerns batches before it.
    if (mailbox_.empty()) mailbox_.emplace_back();
    Delivery& d = mailbox_.back();
    d.batches.insert(d.batches.end(), batches.begin(), batches.end());
    d.cuts.insert(d.cuts.end(), cuts.begin(), cuts.end());
  }
  uv_async_send(&async_);
}

void Shard::change(const std::vector<batcher::RoomChange>& changes) {
  {
    std::lock_guard lock(mailbox_mu_);
    // A change applies after everything delivered before it: a new delivery, unless the
    // last one queued is still empty.
    if (mailbox_.empty() || !mailbox_.back().batches.empty() || !mailbox_.back().cuts.empty())
      mailbox_.emplace_back();
    Delivery& d = mailbox_.back();
    d.changes.insert(d.changes.end(), changes.begin(), changes.end());
  }
  uv_async_send(&async_);
}

void Shard::refuse(std::vector<batcher::Refusal> refusals) {
  post([this, refusals = std::move(refusals)] {
    std::unordered_map<uint64_t, std::vector<const batcher::Refusal*>> by_conn;
    for (const batcher::Refusal& r : refusals) {
      if (r.ticket != 0) {
        if (api_) api_->refused(r);
      } else {
        by_conn[r.conn].push_back(&r);
      }
    }
    for (Connection* c : connections_) {
      auto it = by_conn.find(c->id());
      if (it == by_conn.end()) continue;
      for (const batcher::Refusal* r : it->second) c->refused(*r);
    }
  });
}

void Shard::name_answer(uint64_t conn, std::string name, batcher::NameResult result) {
  post([this, conn, name = std::move(name), result] {
    for (Connection* c : connections_) {
      if (c->id() == conn) {
        c->name_answered(name, result);
        return;
      }
    }
    // The connection closed while its claim was on its way: give the name back.
    if (result == batcher::NameResult::kOk) {
      batcher::Inbound e;
      e.kind = batcher::InboundKind::kRelease;
      e.from = name;
      e.conn = conn;
      submit(std::move(e));
    }
  });
}

void Shard::sequenced(std::vector<batcher::Receipt> receipts) {
  post([this, receipts = std::move(receipts)] {
    if (api_) api_->sequenced(receipts);
  });
}

batcher::SinkLoad Shard::load() {
  return {counters_.writes.get(), counters_.fanout_ns.get(), counters_.busy.get(),
          counters_.lag_ns.take()};
}

void Shard::post(std::function<void()> task) {
  {
    std::lock_guard lock(mailbox_mu_);
    mailbox_tasks_.push_back(std::move(task));
  }
  uv_async_send(&async_);
}

void Shard::async_cb(uv_async_t* h) {
  static_cast<Shard*>(h->data)->on_async();
}

void Shard::on_async() {
  {
    std::lock_guard lock(mailbox_mu_);
    deliveries_.swap(mailbox_);
    tasks_.swap(mailbox_tasks_);
  }
  // Batches first: a task posted after a delivery (shutdown) must see its batches.
  bool any = false;
  for (const Delivery& d : deliveries_)
    any = any || !d.batches.empty() || !d.cuts.empty() || !d.changes.empty();
  if (any) {
    uint64_t start = mono_ns();
    for (Delivery& d : deliveries_) apply(d);
    pump_dirty();
    counters_.fanout_ns.add(mono_ns() - start);
  }
  // Keep one emptied delivery: its vectors' capacity serves the next ones.
  if (deliveries_.size() > 1) deliveries_.resize(1);
  for (Delivery& d : deliveries_) {
    d.changes.clear();
    d.batches.clear();
    d.cuts.clear();
  }
  for (auto& task : tasks_) task();
  tasks_.clear();
}

void Shard::mark_dirty(RoomState& r) {
  if (!r.dirty) {
    r.dirty = true;
    dirty_rooms_.push_back(&r);
  }
}

// The replica of life `incarnation` of room `name`; a room not seen here yet starts at the
// seqs given. nullptr for a life older than the one held (its batches are stale).
RoomState* Shard::replica(const std::string& name, uint64_t incarnation, uint64_t first_batch,
                          uint64_t first_msg) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) {
    // In cluster mode a replica is live only once the room is open (RoomChange kOpen).
    it = rooms_
             .emplace(name, std::make_unique<RoomState>(name, incarnation, first_batch,
                                                        first_msg - 1, epoch_, !clustered_))
             .first;
    return it->second.get();
  }
  RoomState& r = *it->second;
  if (r.incarnation == incarnation) return &r;
  if (r.incarnation > incarnation) return nullptr;  // a batch of a life that ended
  // A newer life while the old one's forget is still on its way. The old one has no
  // member here (else it could not have expired); if it had, they carry on in the new
  // one and add_frames() announces their gap.
  r.incarnation = incarnation;
  r.log.reset(first_batch, first_msg - 1);
  r.live = !clustered_;
  return &r;
}

void Shard::apply_cut(const batcher::RoomCut& cut) {
  auto it = rooms_.find(cut.room);
  if (it == rooms_.end() || it->second->incarnation != cut.incarnation) return;  // a past life
  RoomState& r = *it->second;
  if (!cut.forget) {
    r.log.trim_to(cut.first_batch);
    mark_dirty(r);  // members behind it get their gap (or are closed as slow)
    return;
  }
  if (!r.members.empty()) {  // cannot happen: the directory had no member of it
    TG_LOG(kError, "shard %d: room %s expired with %zu members here: kept", index_, r.name.c_str(),
           r.members.size());
    return;
  }
  std::erase(dirty_rooms_, &r);
  rooms_.erase(it);  // pinned entries live on until their writes complete
}

void Shard::apply(Delivery& d) {
  for (batcher::RoomChange& c : d.changes) apply_change(c);
  for (batcher::Batch& b : d.batches) {
    RoomState* r = replica(b.room, b.incarnation, b.seq, b.first_msg);
    if (!r) continue;
    r->log.append(std::move(b));
    mark_dirty(*r);
  }
  for (const batcher::RoomCut& cut : d.cuts) apply_cut(cut);
}

// Cluster mode: the Batcher opened a room from the backplane, read back older batches
// for a resuming client, found the room's log lost, or could not reach the backplane.
void Shard::apply_change(batcher::RoomChange& c) {
  using K = batcher::RoomChange::Kind;
  RoomState* r = nullptr;
  if (c.kind == K::kOpen || c.kind == K::kReset) {
    uint64_t start_batch = c.older.empty() ? c.next_batch : c.older.front().seq;
    uint64_t start_last = c.older.empty() ? c.last_msg : c.older.front().first_msg - 1;
    r = replica(c.room, c.incarnation, start_batch, start_last + 1);
    if (r) {
      bool was_live = r->live;
      uint64_t old_epoch = r->epoch;
      uint64_t old_last = r->log.last_msg_seq();
      // A room's life in the backplane starts at message 1 of its epoch.
      r->log.reset(start_batch, start_last, 1);
      for (batcher::Batch& b : c.older) r->log.append(std::move(b));
      r->epoch = c.epoch;
      r->live = true;
      if (c.kind == K::kReset && was_live) {
        // Members learn what they cannot get: up to the last message known here when the
        // log was lost (a new epoch), or up to where the log resumes (same epoch).
        uint64_t lost_to = c.epoch != old_epoch ? old_last : c.last_msg;
        for (Connection* m : r->members) m->room_reset(*r, lost_to, c.epoch != old_epoch);
      }
      mark_dirty(*r);
    }
  } else if (c.kind == K::kOlder) {
    auto it = rooms_.find(c.room);
    if (it != rooms_.end() && it->second->incarnation == c.incarnation &&
        it->second->epoch == c.epoch) {
      r = it->second.get();
      for (auto b = c.older.rbegin(); b != c.older.rend(); ++b) {
        if (b->seq + 1 != r->log.first_seq()) break;
        r->log.prepend(std::move(*b));
      }
    }
  } else {  // kUnavailable
    auto it = rooms_.find(c.room);
    if (it != rooms_.end()) r = it->second.get();
  }
  answer_waiting(c, r);
}

// The connections whose requests `c` answers stop waiting.
void Shard::answer_waiting(const batcher::RoomChange& c, RoomState* room) {
  uint64_t answered = 0;
  for (const auto& [shard, need] : c.answered)
    if (shard == index_) answered = std::max(answered, need);
  if (answered == 0) return;
  answer_api_waiting(c, room, answered);
  auto it = waiting_.find(c.room);
  if (it == waiting_.end()) return;
  std::vector<Connection*> ready;
  auto& list = it->second;
  for (size_t i = 0; i < list.size();) {
    if (list[i]->waiting_need() <= answered) {
      ready.push_back(list[i]);
      list[i] = list.back();
      list.pop_back();
    } else {
      ++i;
    }
  }
  if (list.empty()) waiting_.erase(it);
  bool usable = room && room->live && c.kind != batcher::RoomChange::Kind::kUnavailable;
  for (Connection* conn : ready) conn->room_ready(usable);
}

// The publish API's waits that `c` answers (answer_waiting's counterpart).
void Shard::answer_api_waiting(const batcher::RoomChange& c, RoomState* room, uint64_t answered) {
  auto it = api_waiting_.find(c.room);
  if (it == api_waiting_.end()) return;
  std::vector<std::function<void(bool)>> ready;
  auto& list = it->second;
  for (size_t i = 0; i < list.size();) {
    if (list[i].first <= answered) {
      ready.push_back(std::move(list[i].second));
      list[i] = std::move(list.back());
      list.pop_back();
    } else {
      ++i;
    }
  }
  if (list.empty()) api_waiting_.erase(it);
  bool usable = room && room->live && c.kind != batcher::RoomChange::Kind::kUnavailable;
  for (auto& done : ready) done(usable);
}

void Shard::await_room(RoomState& room, uint64_t from_msg, uint64_t to_msg,
                       std::function<void(bool usable)> done) {
  uint64_t need = ++next_need_;
  api_waiting_[room.name].emplace_back(need, std::move(done));
  batcher::Inbound e;
  e.kind = batcher::InboundKind::kNeed;
  e.room = room.name;
  e.from_msg = from_msg;
  e.to_msg = to_msg;
  e.need = need;
  submit(std::move(e));
}

RoomState* Shard::find_room(const std::string& name) const {
  auto it = rooms_.find(name);
  return it == rooms_.end() ? nullptr : it->second.get();
}

uint64_t Shard::await_room(Connection* c, RoomState& room, uint64_t from_msg, uint64_t to_msg) {
  uint64_t need = ++next_need_;
  waiting_[room.name].push_back(c);
  batcher::Inbound e;
  e.kind = batcher::InboundKind::kNeed;
  e.room = room.name;
  e.shard = index_;
  e.conn = c->id();
  e.from_msg = from_msg;
  e.to_msg = to_msg;
  e.need = need;
  submit(std::move(e));
  return need;
}

void Shard::stop_waiting(Connection* c, const std::string& room) {
  auto it = waiting_.find(room);
  if (it == waiting_.end()) return;
  std::erase(it->second, c);
  if (it->second.empty()) waiting_.erase(it);
}

// The members of the rooms that got batches are due a write. Those of a room small
// enough to be written in one slice go ahead of what is still waiting from earlier
// deliveries, so a quiet room's batch is not written after the rest of a hot room's
// fan-out; a large room's join the back of the list, so that under a stream of
// deliveries every member still gets its turn.
void Shard::pump_dirty() {
  fresh_.clear();
  for (RoomState* r : dirty_rooms_) {
    r->dirty = false;
    bool small = r->members.size() <= kSmallRoom;
    for (Connection* c : r->members) {
      if (c->pump_queued) continue;
      c->pump_queued = true;
      if (small) {
        fresh_.push_back(c);
      } else {
        ready_.push_back(c);
      }
    }
  }
  dirty_rooms_.clear();
  ready_.insert(ready_.begin() + static_cast<ptrdiff_t>(ready_pos_), fresh_.begin(), fresh_.end());
  pump_ready();
}

// Pumps the next slice of the ready list: as many connections as fit in kSliceNs. The
// ready list is built first and only then walked, because pumping may close a
// connection (slow policy), which edits member lists; a connection closed while queued
// is erased from the list (remove_connection), and only entries not yet pumped can be.
// What is left after a slice waits for the next loop turn (an idle handle keeps the loop
// from blocking meanwhile), so reads, pings and other rooms' batches wait at most about
// one slice behind a large fan-out. The slice is bounded in time, not in connections: a
// write to loopback costs 5 to 30 us here (the kernel delivers it to the reader inline),
// so 256 connections could hold the loop for 7 ms.
void Shard::pump_ready() {
  uint64_t start = mono_ns();
  size_t n = 0;
  while (ready_pos_ < ready_.size()) {
    Connection* c = ready_[ready_pos_++];
    c->pump_queued = false;
    c->pump();
    if (++n % kClockEvery == 0 && mono_ns() - start >= kSliceNs) break;
  }
  if (ready_pos_ >= ready_.size()) {
    ready_.clear();
    ready_pos_ = 0;
    uv_idle_stop(&pump_idle_);
  } else {
    uv_idle_start(&pump_idle_, pump_idle_cb);
  }
}

void Shard::pump_idle_cb(uv_idle_t* h) {
  auto* self = static_cast<Shard*>(h->data);
  // Messages this loop read are waiting for the Batcher thread, which may be queued for
  // this very core while the fan-out keeps it busy: on 2 cores, in `mixed`, it waited
  // 320 us a wake-up on average (schedstat) with a tail of several ms. Yielding before
  // the next slice lets it sequence them first (96 us on average).
  if (self->batcher_.inbox(self->index_).waiting()) sched_yield();
  uint64_t start = mono_ns();
  self->pump_ready();
  self->counters_.fanout_ns.add(mono_ns() - start);
}

void Shard::reconfigure(const Config& next) {
  apply_reloadable(config_, next);
  for (Connection* c : connections_) c->set_rate_limit(config_.rate_limit, config_.rate_burst);
}

RoomState* Shard::enter_room(const std::string& name) {
  // The directory knows the newest life: a replica of an older one is renewed, and a
  // room not seen here yet starts where the directory says its first batch will.
  auto inc = batcher_.rooms().join(name, mono_ns());
  return inc ? replica(name, inc->id, inc->first_batch, inc->first_msg) : nullptr;
}

void Shard::exit_room(RoomState& room) {
  batcher_.rooms().leave(room.name, mono_ns());
}

void Shard::submit(batcher::Inbound&& event) {
  event.shard = index_;
  event.ts_ms = wall_ms();
  event.recv_ns = mono_ns();
  if (batcher_.inbox(index_).push(std::move(event))) batcher_.notify();
}

uv_buf_t Shard::read_buffer() {
  return uv_buf_init(read_buf_.get(), kReadBufferBytes);
}

const pool::SharedFrame& Shard::json_frame(RoomState& room, LogEntry& e) {
  if (!e.batch.json) {
    const pool::SharedFrame& z = e.batch.zstd;
    size_t h = pool::ws_header_length(z.data());
    bool ok = batcher::decompress_batch(dctx_, {z.data() + h, z.size() - h}, e.batch.raw_bytes,
                                        json_scratch_);
    TG_ASSERT(ok);  // we compressed it ourselves
    room.log.attach_json(e, pool::make_ws_frame(pool::WsOpcode::kText, json_scratch_));
  }
  return e.batch.json;
}

std::string_view Shard::batch_text(const LogEntry& e) {
  if (e.batch.json) {
    size_t h = pool::ws_header_length(e.batch.json.data());
    return {e.batch.json.data() + h, e.batch.json.size() - h};
  }
  const pool::SharedFrame& z = e.batch.zstd;
  size_t h = pool::ws_header_length(z.data());
  bool ok = batcher::decompress_batch(dctx_, {z.data() + h, z.size() - h}, e.batch.raw_bytes,
                                      json_scratch_);
  TG_ASSERT(ok);  // we compressed it ourselves
  return json_scratch_;
}

const pool::SharedFrame& Shard::deflate_frame(RoomState& room, LogEntry& e, int window_bits) {
  const size_t slot = static_cast<size_t>(window_bits - ws::kMinServerWindowBits);
  if (!e.deflated[slot]) {
    std::string_view text = batch_text(e);
    std::unique_ptr<ws::MessageDeflater>& d = deflaters_[slot];
    if (!d) d = std::make_unique<ws::MessageDeflater>(window_bits, config_.deflate_level);
    d->compress(text, deflate_scratch_);
    bool smaller = deflate_scratch_.size() < text.size();
    room.log.attach_deflated(
        e, window_bits,
        pool::make_ws_frame(pool::WsOpcode::kText, smaller ? deflate_scratch_ : text, smaller));
    counters_.deflated_batches.add();
  }
  return e.deflated[slot];
}

void Shard::v2_frame(RoomState& room, LogEntry& e) {
  if (e.batch.v2) return;
  std::string_view text = batch_text(e);
  if (!v2_alone_) {
    batcher::RoomStreamOptions o;
    o.level = config_.zstd_v2_level;
    v2_alone_ = std::make_unique<batcher::RoomStream>(o);
  }
  // The same format as a stream's keyframe; the frame is never continued (the room's
  // next stream batch starts a frame of its own).
  v2_alone_->force_keyframe();
  v2_alone_->compress(room.name, text, 0, v2_scratch_);
  room.log.attach_v2(e, pool::make_ws_frame(pool::WsOpcode::kBinary, v2_scratch_));
  e.batch.keyframe = true;
  counters_.v2_framed_alone.add();
}

ws::MessageInflater& Shard::inflater() {
  if (!inflater_) inflater_ = std::make_unique<ws::MessageInflater>();
  return *inflater_;
}

void Shard::add_connection(Connection* c) {
  connections_.insert(c);
}

void Shard::remove_connection(Connection* c) {
  connections_.erase(c);
  if (c->pump_queued) {  // closed while waiting in the ready list: drop it from there
    // (queued entries are all at or after ready_pos_: erasing one leaves the index valid)
    std::erase(ready_, c);
    c->pump_queued = false;
  }
  if (draining_) maybe_finish();
}

void Shard::connection_cb(uv_stream_t* server, int status) {
  auto* self = static_cast<Shard*>(server->data);
  if (status < 0) {
    // libuv sheds EMFILE itself (it keeps a spare descriptor to accept and close the
    // pending connections with); an error reaches us only when even that failed.
    self->counters_.accept_errors.add();
    if (log_due(self->accept_error_logged_ms_, uv_now(&self->loop_)))
      TG_LOG(kWarn, "shard %d: accept: %s", self->index_, uv_strerror(status));
    return;
  }
  self->counters_.accepted.add();
  auto* c = new Connection(*self, self->next_client_id());
  c->accept(server);
}

void Shard::note_refused(Admission::Verdict verdict) {
  bool full = verdict == Admission::Verdict::kServerFull;
  counters_
      .refused[slot(full ? metrics::RefuseReason::kMaxConnections
                         : metrics::RefuseReason::kMaxConnectionsPerIp)]
      .add();
  ++refusals_unlogged_;
  if (!log_due(refusal_logged_ms_, uv_now(&loop_))) return;
  if (full) {
    TG_LOG(kWarn,
           "shard %d: refused %lu connection(s) since the last report: server full "
           "(--max-connections %zu)",
           index_, refusals_unlogged_, admission_.max_total());
  } else {
    TG_LOG(kWarn,
           "shard %d: refused %lu connection(s) since the last report: a source address "
           "is at --max-connections-per-ip %zu",
           index_, refusals_unlogged_, admission_.max_per_addr());
  }
  refusals_unlogged_ = 0;
}

void Shard::stop_intake() {
  if (!accepting_) return;
  accepting_ = false;
  if (api_) api_->stop_intake();
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
}

void Shard::begin_drain() {
  stop_intake();
  draining_ = true;
  if (api_) api_->drain();
  uv_timer_start(&drain_timer_, drain_timer_cb, config_.drain_timeout_ms, 0);
  // close_for_shutdown() may remove the connection from the set: iterate a copy.
  std::vector<Connection*> all(connections_.begin(), connections_.end());
  for (Connection* c : all) c->close_for_shutdown();
  maybe_finish();
}

void Shard::drain_timer_cb(uv_timer_t* t) {
  auto* self = static_cast<Shard*>(t->data);
  TG_LOG(kWarn, "shard %d: drain deadline: dropping %zu connections", self->index_,
         self->connections_.size());
  std::vector<Connection*> all(self->connections_.begin(), self->connections_.end());
  for (Connection* c : all) c->abort(CloseReason::kShutdown);
}

void Shard::busy_timer_cb(uv_timer_t* t) {
  auto* self = static_cast<Shard*>(t->data);
  // libuv docs: uv_metrics_idle_time() is the time the loop spent waiting in the poll
  // for events (needs UV_METRICS_IDLE_TIME); the rest of the wall time it was busy.
  uint64_t now = mono_ns(), idle = uv_metrics_idle_time(&self->loop_);
  uint64_t wall = now - self->busy_at_ns_, idle_delta = idle - self->busy_idle_ns_;
  if (wall > 0) {
    double busy = 1.0 - static_cast<double>(idle_delta) / static_cast<double>(wall);
    self->counters_.busy.set(busy < 0 ? 0 : (busy > 1 ? 1 : busy));
  }
  self->busy_at_ns_ = now;
  self->busy_idle_ns_ = idle;
  if (++self->busy_ticks_ % kGaugeEvery == 0) self->sample_gauges();
}

void Shard::sample_gauges() {
  uint64_t behind = 0, bytes = 0, buffers = 0;
  for (Connection* c : connections_) {
    behind += c->behind() ? 1 : 0;
    buffers += c->sweep_idle();  // idle since the last sample: buffers given back
  }
  for (const auto& [name, room] : rooms_) bytes += room->log.bytes();
  close_expired_tokens();
  counters_.clients_behind.set(behind);
  counters_.log_bytes.set(bytes);
  counters_.buffer_bytes.set(buffers);
}

void Shard::close_expired_tokens() {
  if (config_.auth == AuthMode::kOff) return;
  double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  // Collected first: closing a connection may end it, which changes connections_.
  expired_.clear();
  for (Connection* c : connections_)
    if (c->token_expired(now)) expired_.push_back(c);
  for (Connection* c : expired_) c->close_expired();
  expired_.clear();
}

void Shard::maybe_finish() {
  if (finished_ || !connections_.empty()) return;
  finished_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&busy_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&pump_idle_), nullptr);
}

}  // namespace tg::gateway
