// connection_commands.cpp -- a connection's WebSocket life: the upgrade, the client's
// commands (protocol v1), room membership and names.
#include <algorithm>

#include "batcher/inbound.hpp"
#include "common/log.hpp"
#include "gateway/connection.hpp"
#include "gateway/shard.hpp"
#include "protocol/client_command.hpp"
#include "protocol/names.hpp"
#include "protocol/notice.hpp"

namespace tg::gateway {

namespace {
constexpr const char* kBadNameReason =
    "names are 1-32 bytes of UTF-8 without control characters or outer spaces, "
    "and may not start with guest-";
constexpr const char* kFixedNameReason =
    "names cannot be chosen on this server (--auth): a user's name is its token's, anonymous "
    "users keep their guest name";
}  // namespace

void Connection::upgrade(protocol::Handshake& hs, RoomState& room, const char* rest,
                         size_t rest_len) {
  uv_timer_stop(&timer_);
  last_heard_ms_ = uv_now(shard_.loop());
  if (shard_.config().idle_timeout_s > 0)
    uv_timer_start(&timer_, timer_cb, uint64_t{shard_.config().idle_timeout_s} * 1000, 0);
  state_ = State::kOpen;
  proto_ = hs.proto;
  if (proto_ == protocol::Subprotocol::kJson) shard_.batcher().json_clients().fetch_add(1);
  ws_ = std::make_unique<ws::WsSession>(*this, shard_.config().max_message_bytes);
  if (hs.deflate) {
    deflate_bits_ = hs.deflate->server_window_bits;
    ws_->enable_deflate(shard_.inflater());
  }
  ShardCounters& counters = shard_.counters();
  counters.upgraded.add();
  counters.open.set(counters.open.get() + 1);
  ctrl_ = std::move(hs.response);

  // The name comes first so the join event carries it. Under --auth names are not
  // claimed: a user's is its token's, an anonymous client keeps its guest name.
  name_ = "guest-";
  name_ += std::to_string(id_);  // (guest ids are unique in a cluster too: Server)
  if (user_) name_ = user_->name;
  bool claimed = !auth_on() && !hs.name.empty() && protocol::valid_name(hs.name) &&
                 shard_.names().claim(hs.name);
  if (claimed && shard_.clustered()) {
    // Unique here; the cluster is asked before hello is sent (name_answered).
    shard_.names().claim(name_);
    claiming_ = hs.name;
    claim_on_connect_ = std::make_unique<Waiting>(Waiting{&room, hs.since, hs.epoch, true});
    submit_name_request(batcher::InboundKind::kClaim, claiming_);
  } else {
    if (claimed) {
      name_ = hs.name;
    } else {
      // ?name= of a signed-in user's own name asks nothing: not refused.
      if (!hs.name.empty() && !(user_ && hs.name == name_)) refused_name_ = hs.name;
      if (auth_on()) refused_code_ = "forbidden";
      if (!user_) shard_.names().claim(name_);
    }
    if (!wait_for_room(room, hs.since, hs.epoch, true)) start_stream(room, hs.since, hs.epoch);
  }
  if (log_enabled(LogLevel::kInfo)) {
    const char* proto = protocol::proto_label(proto_).data();
    log_fields(LogLevel::kInfo,
               {{"event", "open"},
                {"conn", id_},
                {"name", name_},
                {"peer", peer_},
                {"proto", proto},
                {"room", hs.room}},
               "conn %lu %s open from %s proto=%s room=%s", id_, name_.c_str(), peer_.c_str(),
               proto, hs.room.c_str());
  }
  if (rest_len > 0) {
    on_read(rest, rest_len);  // frames that arrived with the request
    if (state_ == State::kDead) return;
  }
  pump();
}

void Connection::start_stream(RoomState& room, std::optional<uint64_t> since,
                              std::optional<uint64_t> epoch) {
  // A `since` from another run of the server, or (cluster mode) another life of the
  // room's log, means nothing here: its seqs started over.
  if (epoch && *epoch != room.epoch) since.reset();
  if (since) since = room.log.resume_after(*since);
  // hello's seq: where this client's stream starts (after `since` when resuming; a
  // `since` beyond the room's last message means nothing is owed: live from now).
  uint64_t last = room.log.last_msg_seq();
  uint64_t start = since ? std::min(*since, last) : last;
  protocol::append_hello(ctrl_, {id_, name_, room.name, start, room.window_ms(),
                                 protocol::proto_label(proto_), room.epoch});
  if (!refused_name_.empty()) {
    std::string_view code = refused_code_;
    std::string_view reason = "that name is taken";
    if (code == "forbidden") {  // --auth: names are not chosen at all
      count_auth(metrics::AuthRefuseReason::kForbiddenName);
      reason = kFixedNameReason;
    } else if (!protocol::valid_name(refused_name_)) {
      code = "bad_name";
      reason = kBadNameReason;
    } else if (code == "unavailable") {
      reason = "the cluster backplane (Redis) is unreachable: the name could not be claimed";
    }
    protocol::append_error(ctrl_, code, reason);
    refused_name_.clear();
    refused_name_.shrink_to_fit();
  }
  join_room(room.name, since, std::nullopt, false, &room);
}

bool Connection::wait_for_room(RoomState& room, std::optional<uint64_t> since,
                               std::optional<uint64_t> epoch, bool connect) {
  if (!shard_.clustered()) return false;
  uint64_t from = 0, to = 0;
  if (!room.live) {
    // Not open on this node yet: the Batcher opens it, with the history asked for.
    if (since) from = *since + 1;
  } else {
    if (!since || (epoch && *epoch != room.epoch)) return false;
    uint64_t after = room.log.resume_after(*since);
    uint64_t first_held = room.log.first_held_msg();
    if (after + 1 >= first_held || after >= room.log.last_msg_seq()) return false;
    from = after + 1;  // older than what the replicas hold: the backplane may have it
    to = first_held - 1;
  }
  waiting_ = std::make_unique<Waiting>(Waiting{&room, since, epoch, connect});
  waiting_->need = shard_.await_room(this, room, from, to);
  return true;
}

void Connection::room_ready(bool usable) {
  if (!waiting_) return;
  std::unique_ptr<Waiting> w = std::move(waiting_);
  if (state_ != State::kOpen) return;
  if (!usable) {
    shard_.exit_room(*w->room);  // entered, never joined: no leave event
    if (w->connect) {
      // Nothing can be served without the room: say why, and close with 1013 (try again
      // later, RFC 6455 7.4.1 as registered by IANA).
      protocol::append_error(ctrl_, "unavailable",
                             "the cluster backplane (Redis) is unreachable: try again later");
      ws_->close(1013, "backplane unavailable", ctrl_);
      state_ = State::kClosing;
    } else {
      protocol::append_error(ctrl_, "unavailable",
                             "the cluster backplane (Redis) is unreachable: join again later");
    }
    pump();
    return;
  }
  if (w->connect) {
    start_stream(*w->room, w->since, w->epoch);
  } else {
    join_room(w->room->name, w->since, w->epoch, true, w->room);
  }
  pump();
}

void Connection::room_reset(RoomState& room, uint64_t lost_to, bool new_epoch) {
  Cursor* c = cursor_for(room.name);
  if (!c) return;
  if (c->next_msg <= lost_to) {
    protocol::append_gap(ctrl_, room.name, c->next_msg, lost_to);
    shard_.counters().gaps.add();
    shard_.counters().skipped_msgs.add(lost_to - c->next_msg + 1);
  }
  c->next_batch = room.log.first_seq();
  c->next_msg = room.log.first_held_msg();
  c->synced = proto_ != protocol::Subprotocol::kV2Zstd;
  // A new epoch: seqs start over; `joined` says from where, and under which epoch.
  if (new_epoch) protocol::append_joined(ctrl_, room.name, c->next_msg - 1, room.epoch);
}

void Connection::submit_name_request(batcher::InboundKind kind, const std::string& name) {
  batcher::Inbound e;
  e.kind = kind;
  e.from = name;
  e.conn = id_;
  shard_.submit(std::move(e));
}

void Connection::name_answered(const std::string& name, batcher::NameResult result) {
  if (name != claiming_) return;
  claiming_.clear();
  bool ok = result == batcher::NameResult::kOk;
  if (state_ != State::kOpen) {
    // Closing: detach() gave the local claim back; the cluster's goes too.
    if (ok) submit_name_request(batcher::InboundKind::kRelease, name);
    return;
  }
  const char* code = result == batcher::NameResult::kTaken ? "name_taken" : "unavailable";
  if (claim_on_connect_) {
    std::unique_ptr<Waiting> w = std::move(claim_on_connect_);
    if (ok) {
      shard_.names().release(name_);  // the guest name held meanwhile
      name_ = name;
    } else {
      shard_.names().release(name);
      refused_name_ = name;
      refused_code_ = code;
    }
    if (!wait_for_room(*w->room, w->since, w->epoch, true))
      start_stream(*w->room, w->since, w->epoch);
    pump();
    return;
  }
  if (!ok) {
    shard_.names().release(name);
    protocol::append_error(ctrl_, code,
                           result == batcher::NameResult::kTaken
                               ? "that name is taken"
                               : "the cluster backplane (Redis) is unreachable: name not changed");
    pump();
    return;
  }
  shard_.names().release(name_);
  if (!name_.starts_with("guest-")) submit_name_request(batcher::InboundKind::kRelease, name_);
  take_name(name);
  pump();
}

void Connection::take_name(const std::string& name) {
  for (const Cursor& c : cursors_) {
    batcher::Inbound e;
    e.kind = batcher::InboundKind::kRename;
    e.room = c.room->name;
    e.from = name;
    e.text = name_;
    shard_.submit(std::move(e));
  }
  name_ = name;
  protocol::append_named(ctrl_, name_);
}

void Connection::refused(const batcher::Refusal& r) {
  if (state_ != State::kOpen) return;
  protocol::append_error(ctrl_, "unavailable",
                         "the cluster backplane (Redis) is unreachable: message not sent", r.cid);
  shard_.counters().rejected[slot(metrics::RejectReason::kUnavailable)].add();
  pump();
}

void Connection::on_ws_text(std::string_view payload) {
  switch (limiter_.on_frame(uv_now(shard_.loop()))) {
    case RateLimiter::Verdict::kAllow:
      break;
    case RateLimiter::Verdict::kRefuseAndNotify:
      protocol::append_error(ctrl_, "rate_limited", "too many messages: slow down (dropped)");
      [[fallthrough]];
    case RateLimiter::Verdict::kRefuse:
      shard_.counters().rejected[slot(metrics::RejectReason::kRateLimit)].add();
      return;
    case RateLimiter::Verdict::kClose:  // over the limit for seconds on end: flooding
      shard_.counters().rejected[slot(metrics::RejectReason::kRateLimit)].add();
      ws_->fail(1008, "flooding: over the message rate limit");
      return;
  }
  protocol::ClientCommand cmd = protocol::parse_client_command(payload);
  switch (cmd.kind) {
    case protocol::CommandKind::kMsg:
      handle_msg(cmd);
      break;
    case protocol::CommandKind::kJoin:
      if (!protocol::valid_room(cmd.room)) {
        protocol::append_error(ctrl_, "bad_room", "room names are 1-64 of A-Z a-z 0-9 _ - .");
      } else if (!may_read(cmd.room)) {
        count_auth(metrics::AuthRefuseReason::kForbiddenJoin);
        protocol::append_error(ctrl_, "forbidden",
                               user_ ? "your token does not allow this room"
                                     : "this room needs a token (anonymous users: "
                                       "--anonymous-rooms)");
      } else if (waiting_) {
        protocol::append_error(ctrl_, "busy", "a join is under way: wait for its answer");
      } else {
        join_room(cmd.room, cmd.since, cmd.epoch, true);
      }
      break;
    case protocol::CommandKind::kLeave: {
      Cursor* c = cursor_for(cmd.room);
      if (!c) {
        protocol::append_error(ctrl_, "not_joined", "not in that room");
      } else {
        leave_room(static_cast<size_t>(c - cursors_.data()), true);
      }
      break;
    }
    case protocol::CommandKind::kName:
      handle_name(cmd.name);
      break;
    case protocol::CommandKind::kPing:
      // The window of the room plain messages go to: what a message sent now would wait.
      protocol::append_pong(ctrl_, cmd.ping_id,
                            cursors_.empty() ? 0 : cursors_[current_].room->window_ms());
      break;
    case protocol::CommandKind::kRefresh:
      handle_refresh(cmd.token);
      break;
    case protocol::CommandKind::kInvalid:
      protocol::append_error(ctrl_, "bad_request", cmd.error);
      shard_.counters().rejected[slot(metrics::RejectReason::kBadRequest)].add();
      break;
  }
}

void Connection::handle_msg(protocol::ClientCommand& cmd) {
  Cursor* c =
      cmd.room.empty() ? (cursors_.empty() ? nullptr : &cursors_[current_]) : cursor_for(cmd.room);
  if (!c) {
    protocol::append_error(ctrl_, "not_joined", "join the room before sending to it");
    shard_.counters().rejected[slot(metrics::RejectReason::kNotJoined)].add();
    return;
  }
  if (!may_publish(c->room->name)) {
    count_auth(metrics::AuthRefuseReason::kForbiddenPublish);
    protocol::append_error(ctrl_, "forbidden", "you may not send to this room", cmd.cid);
    return;
  }
  if (!shard_.accepting()) {
    protocol::append_error(ctrl_, "shutting_down", "the server is shutting down; message not sent");
    shard_.counters().rejected[slot(metrics::RejectReason::kShuttingDown)].add();
    return;
  }
  batcher::Inbound e;
  e.kind = batcher::InboundKind::kMsg;
  e.room = c->room->name;
  e.from = name_;
  e.text = std::move(cmd.text);
  e.cid = std::move(cmd.cid);
  e.conn = id_;
  shard_.submit(std::move(e));
  shard_.counters().messages_in.add();
}

void Connection::handle_name(const std::string& name) {
  if (name == name_) {
    protocol::append_named(ctrl_, name_);
    return;
  }
  if (auth_on()) {
    count_auth(metrics::AuthRefuseReason::kForbiddenName);
    protocol::append_error(ctrl_, "forbidden", kFixedNameReason);
    return;
  }
  if (!protocol::valid_name(name)) {
    protocol::append_error(ctrl_, "bad_name", kBadNameReason);
    return;
  }
  if (shard_.clustered()) {
    // Unique here first; then the cluster is asked, and name_answered() renames.
    if (!claiming_.empty() || claim_on_connect_) {
      protocol::append_error(ctrl_, "busy", "a name claim is under way: wait for its answer");
      return;
    }
    if (!shard_.names().claim(name)) {
      protocol::append_error(ctrl_, "name_taken", "that name is taken");
      return;
    }
    claiming_ = name;
    submit_name_request(batcher::InboundKind::kClaim, name);
    return;
  }
  if (!shard_.names().rename(name_, name)) {
    protocol::append_error(ctrl_, "name_taken", "that name is taken");
    return;
  }
  take_name(name);
}

// tidegate.v2.zstd: a joining or resuming client's decoder starts at the latest keyframe
// at or before its position (it drops the seqs it already has), else at the next one.
void Connection::v2_start(Cursor& c) {
  uint64_t key = c.room->log.keyframe_at_or_before(c.next_batch);
  if (key < c.room->log.next_seq()) c.next_batch = key;
  c.synced = false;
}

Cursor* Connection::cursor_for(const std::string& room) {
  for (Cursor& c : cursors_)
    if (c.room->name == room) return &c;
  return nullptr;
}

void Connection::join_room(const std::string& name, std::optional<uint64_t> since,
                           std::optional<uint64_t> epoch, bool notify, RoomState* entered) {
  if (Cursor* existing = cursor_for(name)) {
    current_ = static_cast<size_t>(existing - cursors_.data());
    if (notify) protocol::append_joined(ctrl_, name, existing->next_msg - 1, existing->room->epoch);
    return;
  }
  bool waited = entered != nullptr && notify;  // a join command that waited for its room
  if (!entered && cursors_.size() >= shard_.config().max_rooms_per_client) {
    shard_.counters().rooms_refused[slot(metrics::RoomRefuseReason::kMaxRoomsPerClient)].add();
    protocol::append_error(ctrl_, "too_many_rooms", "leave a room before joining another");
    return;
  }
  if (!entered) entered = shard_.enter_room(name);
  if (!entered) {
    shard_.counters().rooms_refused[slot(metrics::RoomRefuseReason::kMaxRooms)].add();
    protocol::append_error(ctrl_, "too_many_rooms",
                           "the server is at its room limit (--max-rooms): join an existing room "
                           "or try again later");
    return;
  }
  RoomState& room = *entered;
  if (!waited && notify && wait_for_room(room, since, epoch, false)) return;
  if (epoch && *epoch != room.epoch) since.reset();
  const RoomLog& log = room.log;
  if (since) since = log.resume_after(*since);
  Cursor c{&room, log.next_seq(), log.last_msg_seq() + 1};
  if (since && *since < log.last_msg_seq()) {
    // The log may hold nothing after `since` (trimmed to empty, or a new incarnation of
    // the room that has no batch yet): then everything up to the last message is gone.
    c.next_batch = log.batch_after_msg(*since);
    c.next_msg = *since + 1;
    uint64_t first_held = c.next_batch < log.next_seq() ? log.at(c.next_batch)->batch.first_msg
                                                        : log.last_msg_seq() + 1;
    // A v2 client that cannot start at a held keyframe waits for the next one: its one
    // gap, up to that keyframe, is told when it is reached (v2_sendable).
    bool v2_waits = proto_ == protocol::Subprotocol::kV2Zstd &&
                    log.keyframe_at_or_before(c.next_batch) >= log.next_seq();
    if (first_held > c.next_msg && !v2_waits) {  // part of what was asked for is gone: say so now
      protocol::append_gap(ctrl_, name, c.next_msg, first_held - 1);
      shard_.counters().gaps.add();
      shard_.counters().skipped_msgs.add(first_held - c.next_msg);
      c.next_msg = first_held;
    }
  }
  if (notify) protocol::append_joined(ctrl_, name, c.next_msg - 1, room.epoch);
  if (proto_ == protocol::Subprotocol::kV2Zstd) v2_start(c);
  cursors_.push_back(c);
  current_ = cursors_.size() - 1;
  room.members.push_back(this);

  batcher::Inbound e;
  e.kind = batcher::InboundKind::kJoin;
  e.room = name;
  e.from = name_;
  e.v2 = proto_ == protocol::Subprotocol::kV2Zstd;  // the room keeps a stream for it
  shard_.submit(std::move(e));
}

void Connection::leave_room(size_t index, bool notify) {
  RoomState* room = cursors_[index].room;
  auto& m = room->members;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == this) {
      m[i] = m.back();
      m.pop_back();
      break;
    }
  }
  cursors_.erase(cursors_.begin() + static_cast<ptrdiff_t>(index));
  if (current_ >= cursors_.size()) current_ = cursors_.empty() ? 0 : cursors_.size() - 1;
  if (notify) protocol::append_left(ctrl_, room->name);
  // The leave event goes to the Batcher before the directory hears of it: once the
  // directory shows the room without members, every event of it is in an inbox
  // (Batcher::sweep relies on that).
  batcher::Inbound e;
  e.kind = batcher::InboundKind::kLeave;
  e.room = room->name;
  e.from = name_;
  e.v2 = proto_ == protocol::Subprotocol::kV2Zstd;
  shard_.submit(std::move(e));
  shard_.exit_room(*room);
}

void Connection::detach() {
  shard_.remove_connection(this);
  if (!ws_) return;
  if (waiting_) {
    shard_.stop_waiting(this, waiting_->room->name);
    shard_.exit_room(*waiting_->room);  // entered, never joined: no leave event
    waiting_.reset();
  }
  if (claim_on_connect_) {
    shard_.exit_room(*claim_on_connect_->room);
    claim_on_connect_.reset();
  }
  if (!claiming_.empty()) shard_.names().release(claiming_);  // the cluster's: name_answered
  if (shard_.clustered() && !user_ && !name_.starts_with("guest-"))
    submit_name_request(batcher::InboundKind::kRelease, name_);
  while (!cursors_.empty()) leave_room(cursors_.size() - 1, false);
  if (!user_) shard_.names().release(name_);  // a token's name was never claimed
  if (proto_ == protocol::Subprotocol::kJson) shard_.batcher().json_clients().fetch_sub(1);
  shard_.counters().open.set(shard_.counters().open.get() - 1);
}

}  // namespace tg::gateway
