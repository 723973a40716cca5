// batcher_cluster.cpp -- the Batcher in cluster mode (a Backplane, --redis): rooms are
// opened from the backplane, each flush proposes one batch per room (compare-and-append),
// and what other nodes appended is read back and delivered in the log's order.
//
// Order: a room has at most one append in flight per node. Its proposal carries the seqs
// that follow the last batch this node delivered for the room; the backplane appends it
// only if the room's log still ends there. So when an append succeeds, every batch
// before it has been delivered here, and the new batch can be delivered at once. When
// another node got there first (a conflict), the events go back to the front of the
// room's queue and are proposed again, with new seqs, once the reader has delivered what
// the other node appended.
#include <algorithm>
#include <chrono>

#include "batcher/batcher.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "pool/ws_frame.hpp"

namespace tg::batcher {

namespace {
uint64_t wall_us() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

RoomChange change_of(RoomChange::Kind kind, const std::string& room, uint64_t incarnation = 0,
                     uint64_t epoch = 0, uint64_t next_batch = 0, uint64_t last_msg = 0) {
  RoomChange c;
  c.kind = kind;
  c.room = room;
  c.incarnation = incarnation;
  c.epoch = epoch;
  c.next_batch = next_batch;
  c.last_msg = last_msg;
  return c;
}
}  // namespace

bool Batcher::room_busy(const std::string& room) const {
  auto it = views_.find(room);
  if (it == views_.end()) return false;
  const RoomView& v = it->second;
  return v.state == RoomView::State::kOpening || v.appending || !v.uncertain.empty() ||
         !v.needs_later.empty();
}

bool Batcher::propose(const std::string& room, RoomQueue& q, bool with_json) {
  RoomView& v = views_[room];
  if (!backplane_->up()) {
    refuse(q.events, "backplane unavailable");
    return true;
  }
  if (v.state == RoomView::State::kClosed) {
    open_room(room, v, 0, 0);
    return false;
  }
  if (v.state != RoomView::State::kOpen || v.appending || v.head.last_batch < v.wait_batch)
    return false;
  // Another node's batch is announced and being read: proposing now would conflict (and
  // cost a second compression); the read's delivery flushes the room again.
  if (backplane_->behind(room)) return false;
  int delta = order_events(q);
  const std::vector<const Inbound*>& events = event_ptrs_;
  int64_t online = std::max<int64_t>(0, int64_t{v.head.online} + delta);
  Sequencer::Assigned seqs{v.head.last_batch + 1, v.head.last_msg + 1,
                           static_cast<uint32_t>(online)};
  v.proposed = encoder_.encode(room, seqs, events, with_json);
  counters_.backplane_compressions.add();
  Batch& b = v.proposed;
  b.incarnation = v.incarnation;
  b.first_recv_ns = events.front()->recv_ns;
  b.window_us = q.window_us;
  v.inflight = std::move(q.events);
  v.appending = true;
  const pool::SharedFrame& f = b.zstd;
  size_t h = pool::ws_header_length(f.data());
  Backplane::Append a;
  a.room = room;
  a.expect = v.head;
  a.count = b.msg_count();
  a.online_delta = delta;
  a.window_us = b.window_us;
  a.raw_bytes = b.raw_bytes;
  a.zstd = {f.data() + h, f.size() - h};
  counters_.backplane_appends.add();
  backplane_->append(a,
                     [this, room](Backplane::AppendResult r) { on_appended(room, std::move(r)); });
  return true;
}

void Batcher::on_appended(const std::string& room, Backplane::AppendResult r) {
  auto it = views_.find(room);
  if (it == views_.end() || !it->second.appending) return;
  RoomView& v = it->second;
  v.appending = false;
  using S = Backplane::Status;
  switch (r.status) {
    case S::kOk: {
      // An earlier append whose answer was lost is settled: had it been appended, this
      // node would have read it before its own append could succeed at that seq.
      if (!v.uncertain.empty() && r.head.last_batch >= v.uncertain_seq)
        refuse(v.uncertain, "not appended (Redis lost the command)");
      // The proposal's seqs are the ones appended (the head it expected held).
      for (size_t i = 0; i < v.inflight.size(); ++i)
        add_receipt(v.inflight[i], v.proposed.first_msg + i, r.head.epoch);
      if (r.head.last_batch == v.head.last_batch + 1) {  // not read back first
        v.head = r.head;
        built_.push_back(std::move(v.proposed));
        uint64_t events = built_.back().msg_count();
        deliver_built(mono_ns(), events, 0);
      }
      for (const Inbound& e : v.inflight) {
        if (e.kind == InboundKind::kJoin) ++v.own_members;
        if (e.kind == InboundKind::kLeave) --v.own_members;
      }
      v.inflight.clear();
      v.proposed = Batch{};
      // Read back first: its batch went out with the read (or goes now).
      if (!built_.empty()) {
        uint64_t events = 0;
        for (const Batch& b : built_) events += b.msg_count();
        deliver_built(mono_ns(), events, 0);
      }
      send_receipts();
      break;
    }
    case S::kConflict:
      counters_.backplane_conflicts.add();
      if (r.head.last_batch == v.head.last_batch && r.head.last_msg == v.head.last_msg &&
          r.head.epoch == v.head.epoch) {
        v.head.online = r.head.online;  // only the member count moved (a node's lease lapsed)
      } else if (r.head.last_batch < v.head.last_batch || r.head.epoch != v.head.epoch) {
        // The log is behind what this node delivered (the backplane lost writes) or of
        // another epoch: open it again, which starts a new epoch.
        requeue(room, v.inflight);
        open_room(room, v, 0, 0);
        break;
      } else {
        v.wait_batch = r.head.last_batch;  // propose again once the reader got there
        backplane_->catch_up(room);
      }
      requeue(room, v.inflight);
      break;
    case S::kEpoch:
      counters_.backplane_conflicts.add();
      requeue(room, v.inflight);
      open_room(room, v, 0, 0);
      break;
    case S::kError:
      counters_.backplane_errors.add();
      // Logged at most once a second (with how many failed since): while Redis is
      // unreachable every room's every flush would fail.
      if (uint64_t now = mono_ns(); now - append_error_logged_ns_ >= 1'000'000'000) {
        TG_LOG(kWarn, "room %s: append failed: %s (%llu appends failed in all)", room.c_str(),
               r.error.c_str(), static_cast<unsigned long long>(counters_.backplane_errors.get()));
        append_error_logged_ns_ = now;
      }
      if (r.maybe_appended) {
        // Sent, but the answer was lost: whether the batch is in the log is learnt when
        // the log is read again. Its senders hear only if it is not.
        v.uncertain = std::move(v.inflight);
        v.uncertain_seq = v.head.last_batch + 1;
      } else {
        refuse(v.inflight, r.error.c_str());
      }
      v.inflight.clear();
      break;
  }
  if (stopping_) {
    for (const auto& [name, view] : views_)
      if (view.appending) return;
    finish_stop();
    return;
  }
  flush_due(mono_ns());
}

void Batcher::requeue(const std::string& room, std::vector<Inbound>& events) {
  if (events.empty()) return;
  auto [it, fresh] = queues_.try_emplace(room);
  RoomQueue& q = it->second;
  if (fresh) q.due_ns = mono_ns();
  q.events.insert(q.events.begin(), std::make_move_iterator(events.begin()),
                  std::make_move_iterator(events.end()));
  events.clear();
}

void Batcher::refuse(std::vector<Inbound>& events, const char* why) {
  std::vector<std::vector<Refusal>> by_sink(sinks_.size());
  uint64_t lost = 0;
  for (Inbound& e : events) {
    if (e.kind == InboundKind::kMsg && (e.conn != 0 || e.ticket != 0) && e.shard >= 0 &&
        static_cast<size_t>(e.shard) < sinks_.size()) {
      by_sink[static_cast<size_t>(e.shard)].push_back({e.conn, std::move(e.cid), e.room, e.ticket});
    } else {
      ++lost;  // a join, leave or rename the room's members will not see
    }
  }
  counters_.backplane_refused.add(events.size());
  if (lost > 0)
    TG_LOG(kWarn, "%llu membership events not sent: %s", static_cast<unsigned long long>(lost),
           why);
  for (size_t i = 0; i < sinks_.size(); ++i)
    if (!by_sink[i].empty()) sinks_[i]->refuse(std::move(by_sink[i]));
  events.clear();
}

// A Shard's request: a client joins (or resumes in) a room its replicas cannot serve yet.
void Batcher::need(Inbound& request) {
  RoomView& v = views_[request.room];
  std::pair<int, uint64_t> who{request.shard, request.need};
  if (!backplane_->up()) {
    changes_.push_back(change_of(RoomChange::Kind::kUnavailable, request.room));
    changes_.back().answered.push_back(who);
    send_changes();
    return;
  }
  switch (v.state) {
    case RoomView::State::kClosed:
      v.answer_on_open.push_back(who);
      open_room(request.room, v, request.from_msg, 0);
      return;
    case RoomView::State::kOpening:
      v.needs_later.push_back(std::move(request));
      return;
    case RoomView::State::kOpen:
      break;
  }
  // Open: the replicas hold the log from some batch on; the request wants messages from
  // `from_msg` to `to_msg` (the one before the oldest held), which the backplane may hold.
  if (request.from_msg == 0 || request.to_msg == 0 || request.from_msg > request.to_msg) {
    changes_.push_back(
        change_of(RoomChange::Kind::kOlder, request.room, v.incarnation, v.head.epoch));
    changes_.back().answered.push_back(who);
    send_changes();
    return;
  }
  uint64_t epoch = v.head.epoch;
  std::string room = request.room;
  backplane_->open(room, v.head, request.from_msg, request.to_msg, opts_.room_history_bytes,
                   [this, room, who, epoch](Backplane::OpenResult r) {
                     on_older(room, who.first, who.second, epoch, std::move(r));
                   });
}

void Batcher::open_room(const std::string& room, RoomView& v, uint64_t from_msg, uint64_t to_msg) {
  bool fresh = v.state == RoomView::State::kClosed && v.head.epoch == 0;
  v.state = RoomView::State::kOpening;
  // Reopening (after a reconnect or a lost log): the log must not be behind what this
  // node delivered, else a new epoch starts.
  LogHead known = fresh ? LogHead{} : v.head;
  backplane_->open(
      room, known, from_msg, to_msg, opts_.room_history_bytes,
      [this, room, fresh](Backplane::OpenResult r) { on_opened(room, std::move(r), fresh); });
}

Batch Batcher::to_batch(const std::string& room, const RoomView& v, StoredBatch& s) {
  Batch b;
  b.room = room;
  b.seq = s.seq;
  b.first_msg = s.first_msg;
  b.last_msg = s.last_msg;
  b.online = s.online;
  b.zstd = pool::make_ws_frame(pool::WsOpcode::kBinary, s.zstd);
  b.raw_bytes = s.raw_bytes;
  b.built_ns = mono_ns();
  // The events' receive time on their node, from the append's wall clock: latency
  // metrics then include the trip through the backplane.
  uint64_t now_us = wall_us();
  uint64_t age_ns = s.appended_us != 0 && now_us > s.appended_us
                        ? (now_us - s.appended_us) * 1000 + s.window_us * 1000
                        : 0;
  b.first_recv_ns = b.built_ns - std::min(b.built_ns, age_ns);
  b.window_us = s.window_us;
  b.incarnation = v.incarnation;
  return b;
}

void Batcher::on_opened(const std::string& room, Backplane::OpenResult r, bool fresh) {
  auto it = views_.find(room);
  if (it == views_.end()) return;
  RoomView& v = it->second;
  std::vector<std::pair<int, uint64_t>> answered;
  answered.swap(v.answer_on_open);
  auto inc = rooms_.find(room);
  if (!r.ok || !inc) {
    // Unreachable, or the room expired here while it opened: the requests fail, and the
    // events queued for it are refused.
    if (!r.ok) TG_LOG(kWarn, "room %s: cannot open: %s", room.c_str(), r.error.c_str());
    v.state = RoomView::State::kClosed;
    changes_.push_back(change_of(RoomChange::Kind::kUnavailable, room));
    changes_.back().answered = std::move(answered);
    for (Inbound& e : v.needs_later) changes_.back().answered.push_back({e.shard, e.need});
    v.needs_later.clear();
    send_changes();
    if (auto q = queues_.find(room); q != queues_.end()) {
      refuse(q->second.events, r.ok ? "room expired" : r.error.c_str());
      queues_.erase(q);
    }
    if (!fresh && !v.uncertain.empty()) refuse(v.uncertain, "backplane unavailable");
    if (!inc) views_.erase(it);
    return;
  }
  bool same = !fresh && r.head.epoch == v.head.epoch && v.incarnation == inc->id;
  v.state = RoomView::State::kOpen;
  // An append whose answer was lost with the link is not in the log if the log does not
  // reach its seq (the command died with the connection); else reading settles it.
  if (same && !v.uncertain.empty() && r.head.last_batch < v.uncertain_seq)
    refuse(v.uncertain, "not appended (Redis lost the command)");
  if (same) {
    // Reopened after the backplane came back, same log: reading resumes after the last
    // batch delivered here, so nothing another node appended meanwhile is missed.
    backplane_->follow(room, v.head.epoch, v.head.last_msg);
    if (!answered.empty()) {
      changes_.push_back(change_of(RoomChange::Kind::kOlder, room, v.incarnation, v.head.epoch));
      changes_.back().answered = std::move(answered);
      send_changes();
    }
  } else {
    if (!fresh) {
      TG_LOG(kWarn, "room %s: its log was lost (epoch %llu -> %llu): members are told",
             room.c_str(), static_cast<unsigned long long>(v.head.epoch),
             static_cast<unsigned long long>(r.head.epoch));
      counters_.backplane_epochs_lost.add();
      if (!v.uncertain.empty()) refuse(v.uncertain, "the room's log was lost");
      ledger_.forget(room);
    }
    v.incarnation = inc->id;
    v.head = r.head;
    v.wait_batch = 0;
    RoomChange c = change_of(fresh ? RoomChange::Kind::kOpen : RoomChange::Kind::kReset, room,
                             v.incarnation, r.head.epoch, r.head.last_batch + 1, r.head.last_msg);
    uint64_t now = mono_ns();
    for (StoredBatch& s : r.older) {
      if (s.seq > r.head.last_batch) break;  // appended after the head was read: follow reads it
      c.older.push_back(to_batch(room, v, s));
      ledger_.add(room, v.incarnation, s.seq, c.older.back().history_bytes(), now);
    }
    c.answered = std::move(answered);
    changes_.push_back(std::move(c));
    ledger_.enforce(cuts_);
    send_changes();
    backplane_->follow(room, v.head.epoch, v.head.last_msg);
  }
  std::vector<Inbound> later;
  later.swap(v.needs_later);
  for (Inbound& e : later) need(e);
  flush_due(mono_ns());
}

void Batcher::on_older(const std::string& room, int shard, uint64_t need_id, uint64_t epoch,
                       Backplane::OpenResult r) {
  auto it = views_.find(room);
  if (it == views_.end()) return;
  RoomView& v = it->second;
  RoomChange c = change_of(RoomChange::Kind::kOlder, room, v.incarnation, v.head.epoch);
  c.answered.push_back({shard, need_id});
  if (r.ok && r.head.epoch == epoch && v.head.epoch == epoch) {
    // Only the batches just before the oldest the ledger holds can be put in front of it.
    uint64_t first = ledger_.first_batch(room);
    if (first == 0) first = v.head.last_batch + 1;
    std::vector<Batch> older;
    for (auto s = r.older.rbegin(); s != r.older.rend(); ++s) {
      if (s->seq >= first) continue;
      if (s->seq + 1 != first) break;
      older.push_back(to_batch(room, v, *s));
      ledger_.add_older(room, v.incarnation, s->seq, older.back().history_bytes());
      first = s->seq;
    }
    std::reverse(older.begin(), older.end());
    c.older = std::move(older);
  }
  changes_.push_back(std::move(c));
  send_changes();
  ledger_.enforce(cuts_);
  if (!cuts_.empty()) {
    static const std::vector<Batch> kNoBatches;
    for (BatchSink* sink : sinks_) sink->deliver(kNoBatches, cuts_);
    cuts_.clear();
  }
  publish_history();
}

void Batcher::send_changes() {
  if (changes_.empty()) return;
  for (BatchSink* sink : sinks_) sink->change(changes_);
  changes_.clear();
}

// Batches other nodes appended (and ours, read back), per room in log order.
void Batcher::on_batches(std::string_view room_name, uint64_t epoch,
                         std::vector<StoredBatch>& batches) {
  auto it = views_.find(std::string(room_name));
  if (it == views_.end() || it->second.state != RoomView::State::kOpen) return;
  RoomView& v = it->second;
  if (epoch != v.head.epoch) return;
  const std::string& room = it->first;
  uint64_t now_us = wall_us();
  for (StoredBatch& s : batches) {
    if (!v.uncertain.empty() && s.seq >= v.uncertain_seq) {
      // The append whose answer was lost: in the log if this batch is ours (one append
      // in flight per room, and a later one of ours settles it first: on_appended).
      if (s.seq == v.uncertain_seq && s.own) {
        // Appended after all: its publish API messages get their seqs with the delivery.
        for (size_t i = 0; i < v.uncertain.size(); ++i)
          add_receipt(v.uncertain[i], s.first_msg + i, epoch);
      } else {
        refuse(v.uncertain, "not appended");
      }
      v.uncertain.clear();
    }
    if (s.seq <= v.head.last_batch) continue;  // delivered already (our own append)
    if (s.seq != v.head.last_batch + 1) {
      // Batches this node never read were trimmed from the log first: the replicas
      // start over at this one, and members are told what they missed.
      TG_LOG(kWarn, "room %s: batches %llu..%llu were trimmed before this node read them",
             room.c_str(), static_cast<unsigned long long>(v.head.last_batch + 1),
             static_cast<unsigned long long>(s.seq - 1));
      deliver_built(mono_ns(), 0, 0);
      ledger_.forget(room);
      changes_.push_back(change_of(RoomChange::Kind::kReset, room, v.incarnation, v.head.epoch,
                                   s.seq, s.first_msg - 1));
      send_changes();
    }
    if (s.appended_us != 0 && now_us > s.appended_us && !s.own)
      counters_.backplane_lag_us.observe(now_us - s.appended_us);
    counters_.backplane_read.add();
    built_.push_back(to_batch(room, v, s));
    v.head = {v.head.epoch, s.seq, s.last_msg, s.online};
  }
}

void Batcher::on_read_done() {
  uint64_t events = 0;
  for (const Batch& b : built_) events += b.msg_count();
  deliver_built(mono_ns(), events, 0);
  flush_due(mono_ns());  // rooms that waited for another node's batch can propose again
}

void Batcher::on_state(bool up) {
  backplane_up_.store(up, std::memory_order_relaxed);
  counters_.backplane_up.set(up ? 1 : 0);
  if (!up) {
    // Requests waiting for an open fail in its callback. Queued events are refused at
    // their flush (propose), so no sender waits on a backplane that is gone.
    flush_due(mono_ns(), true);
    return;
  }
  // Back: every open room is opened again. The same epoch resumes reading after the
  // last batch delivered here; a lost log (Redis restarted without persistence) starts
  // a new epoch and the members are told.
  for (auto& [room, v] : views_)
    if (v.state == RoomView::State::kOpen) open_room(room, v, 0, 0);
}

void Batcher::on_round_trip(uint64_t ns) {
  counters_.backplane_commands.add();
  counters_.backplane_rtt_ns.observe(ns);
}

// Each node's share of a room's member count lapses unless the node appends or says it
// is alive, so the count forgets a node that died. Every open room with members here is
// refreshed a few times per lease.
void Batcher::heartbeat_rooms(uint64_t now_ns) {
  constexpr uint64_t kEveryNs = 5'000'000'000;
  if (now_ns - heartbeat_at_ns_ < kEveryNs || !backplane_->up()) return;
  heartbeat_at_ns_ = now_ns;
  for (const auto& [room, v] : views_)
    if (v.state == RoomView::State::kOpen && v.own_members > 0)
      backplane_->heartbeat(room, v.own_members);
}

// A connection claims a name in the whole cluster, or gives one back.
void Batcher::claim(Inbound& request) {
  std::string owner = backplane_->node_id() + ":" + std::to_string(request.conn);
  if (request.kind == InboundKind::kRelease) {
    auto it = names_held_.find(request.from);
    if (it != names_held_.end() && it->second == owner) names_held_.erase(it);
    backplane_->release_name(request.from, owner);
    return;
  }
  size_t sink = static_cast<size_t>(request.shard);
  if (request.shard < 0 || sink >= sinks_.size()) return;
  backplane_->claim_name(
      request.from, owner,
      [this, sink, conn = request.conn, name = request.from, owner](NameResult r) {
        if (r == NameResult::kOk) names_held_[name] = owner;
        sinks_[sink]->name_answer(conn, name, r);
      });
}

// Names held here are refreshed well within their expiry.
void Batcher::refresh_names(uint64_t now_ns) {
  constexpr uint64_t kEveryNs = 10'000'000'000;
  if (now_ns - names_at_ns_ < kEveryNs || !backplane_->up()) return;
  names_at_ns_ = now_ns;
  for (const auto& [name, owner] : names_held_) backplane_->refresh_name(name, owner);
}

}  // namespace tg::batcher
