// api_server.cpp -- the publish API: accepting, routing, publishing through the Batcher
// and answering with the seqs, history from the log replica, the room list, shutdown.
#include "gateway/api_server.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <stdexcept>

#include "batcher/batch_encoder.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "pool/ws_frame.hpp"

namespace tg::gateway {

namespace {
using metrics::ApiRoute;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr uint64_t kTickMs = 100;                  // deadlines are checked this often
constexpr uint64_t kDrainMs = 2000;                // shutdown: connections get this long
constexpr size_t kMaxHistoryBodyBytes = 4u << 20;  // a history page stops growing past it
constexpr std::string_view kAuthenticate = "WWW-Authenticate: Bearer realm=\"tidegate\"\r\n";

void key_value(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
}

std::string done(rapidjson::StringBuffer& buf) {
  return std::string(buf.GetString(), buf.GetSize());
}
}  // namespace

ApiServer::ApiServer(const Config& config, Shard& shard, std::string key)
    : config_(config), shard_(shard), key_(std::move(key)) {}

ApiServer::~ApiServer() = default;

void ApiServer::open(int listen_fd) {
  uv_loop_t* l = loop();
  if (uv_tcp_init(l, &listener_) != 0 || uv_timer_init(l, &tick_) != 0 ||
      uv_async_init(l, &key_async_, [](uv_async_t* h) {
        auto* self = static_cast<ApiServer*>(h->data);
        std::lock_guard lock(self->key_mu_);
        if (!self->next_key_.empty()) self->key_.swap(self->next_key_);
        self->next_key_.clear();
      }) != 0)
    throw std::runtime_error("api: libuv setup failed");
  listener_.data = tick_.data = key_async_.data = this;
  int rv = uv_tcp_open(&listener_, listen_fd);
  if (rv == 0) rv = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 128, connection_cb);
  if (rv != 0) throw std::runtime_error(std::string("api: listen: ") + uv_strerror(rv));
  uv_timer_start(&tick_, tick_cb, kTickMs, kTickMs);
  open_ = accepting_ = true;
}

void ApiServer::set_key(std::string key) {
  {
    std::lock_guard lock(key_mu_);
    next_key_ = std::move(key);
  }
  if (open_) uv_async_send(&key_async_);
}

void ApiServer::connection_cb(uv_stream_t* listener, int status) {
  auto* self = static_cast<ApiServer*>(listener->data);
  if (status < 0) return;
  auto* c = new ApiConnection(*self, self->next_conn_++);
  if (!c->accept(listener)) return;  // freed by its close
  self->connections_.insert(c);
  self->counters_.connections.set(static_cast<int64_t>(self->connections_.size()));
  // Over --api-max-connections: closed unanswered (backends keep a few connections
  // alive; one over the limit is a misconfigured pool, and it is not read at all).
  if (self->connections_.size() > self->config_.api_max_connections) c->close();
}

void ApiServer::tick_cb(uv_timer_t* t) {
  static_cast<ApiServer*>(t->data)->tick();
}

void ApiServer::tick() {
  uint64_t now = uv_now(loop());
  std::vector<uint64_t> late;
  for (const auto& [id, p] : pending_)
    if (now >= p.deadline_ms) late.push_back(id);
  for (uint64_t id : late)
    finish(id, 504, "timeout", "no answer from the batcher within --api-request-timeout-ms");
  std::vector<ApiConnection*> all(connections_.begin(), connections_.end());
  for (ApiConnection* c : all) c->tick(now);
  if (draining_ && now >= drain_deadline_ms_) {
    std::vector<ApiConnection*> left(connections_.begin(), connections_.end());
    for (ApiConnection* c : left) c->close();
  }
  maybe_finish_drain();
}

void ApiServer::count(ApiRoute route, int status, uint64_t started_ns) {
  counters_.requests[metrics::slot(route)][metrics::api_status_slot(status)].add();
  if (started_ns != 0) counters_.latency_ns.observe(mono_ns() - started_ns);
}

void ApiServer::answer(ApiConnection& c, ApiRoute route, uint64_t started_ns, int status,
                       std::string_view json, std::string_view extra_headers) {
  count(route, status, started_ns);
  c.set_route(route);
  c.respond(status, json, extra_headers);
}

void ApiServer::answer_error(ApiConnection& c, ApiRoute route, uint64_t started_ns,
                             const api::Error& e, std::string_view extra_headers) {
  answer(c, route, started_ns, e.status, api::error_json(e.code, e.message), extra_headers);
}

void ApiServer::dispatch(ApiConnection& c, const http::HttpRequest& request, std::string body) {
  uint64_t started = mono_ns();
  api::Target target;
  std::optional<api::Error> bad_route = api::match_route(request.path, target);
  // The key first: without it nothing is told, not even which routes exist.
  if (!api::bearer_matches(request.header("authorization"), key_)) {
    answer_error(c, target.route, started,
                 {401, "unauthorized", "missing or wrong key: Authorization: Bearer <key>"},
                 kAuthenticate);
    return;
  }
  if (bad_route) {
    answer_error(c, target.route, started, *bad_route);
    return;
  }
  const char* method = target.route == ApiRoute::kPublish ? "POST" : "GET";
  if (request.method != method) {
    std::string allow = std::string("Allow: ") + method + "\r\n";
    answer_error(c, target.route, started,
                 {405, "method_not_allowed", std::string("use ") + method}, allow);
    return;
  }
  if (!accepting_) {
    answer_error(c, target.route, started, {503, "shutting_down", "the gateway is shutting down"});
    return;
  }
  switch (target.route) {
    case ApiRoute::kPublish:
      publish(c, body, started);
      break;
    case ApiRoute::kHistory:
      history(c, target.room, request.query, started);
      break;
    default:
      rooms(c, started);
      break;
  }
}

// --- POST /api/publish ---

void ApiServer::publish(ApiConnection& c, std::string_view body, uint64_t started_ns) {
  api::PublishLimits limits;
  limits.max_text_bytes = config_.max_message_bytes;
  limits.max_items = config_.api_max_batch;
  std::vector<api::PublishItem> items;
  bool array = false;
  if (auto e = api::parse_publish(body, limits, items, array)) {
    answer_error(c, ApiRoute::kPublish, started_ns, *e);
    return;
  }
  if (!shard_.batcher().backplane_up()) {
    answer_error(c, ApiRoute::kPublish, started_ns,
                 {503, "unavailable", "the cluster backplane (Redis) is unreachable"},
                 "Retry-After: 2\r\n");
    return;
  }
  if (tickets_.size() + items.size() > config_.api_max_inflight) {
    answer_error(c, ApiRoute::kPublish, started_ns,
                 {429, "busy", "too many messages waiting for their seqs (--api-max-inflight)"},
                 "Retry-After: 1\r\n");
    return;
  }
  uint64_t id = next_request_++;
  Pending p;
  p.conn = &c;
  p.array = array;
  p.started_ns = started_ns;
  p.deadline_ms = uv_now(loop()) + config_.api_request_timeout_ms;
  // Each room is entered in the room directory for the request's life, as a member that
  // sends no join: the room exists (or is created, within --max-rooms) and cannot expire
  // while its message waits for the Batcher.
  for (const api::PublishItem& item : items) {
    if (std::find(p.held.begin(), p.held.end(), item.room) != p.held.end()) continue;
    if (!shard_.enter_room(item.room)) {
      release(p);
      answer_error(
          c, ApiRoute::kPublish, started_ns,
          {503, "too_many_rooms", "the room is new and --max-rooms rooms are alive: " + item.room},
          "Retry-After: 10\r\n");
      return;
    }
    p.held.push_back(item.room);
    ++held_[item.room];
  }
  p.outcomes.resize(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    api::PublishItem& item = items[i];
    uint64_t ticket = next_ticket_++;
    tickets_[ticket] = {id, i};
    p.tickets.push_back(ticket);
    p.outcomes[i].room = item.room;
    batcher::Inbound e;
    e.kind = batcher::InboundKind::kMsg;
    e.room = std::move(item.room);
    e.from = std::move(item.from);
    e.text = std::move(item.text);
    e.cid = std::move(item.cid);
    e.ticket = ticket;
    shard_.submit(std::move(e));
  }
  p.waiting = items.size();
  pending_.emplace(id, std::move(p));
}

void ApiServer::sequenced(const std::vector<batcher::Receipt>& receipts) {
  for (const batcher::Receipt& r : receipts) {
    auto it = tickets_.find(r.ticket);
    if (it == tickets_.end()) continue;  // its request timed out
    auto [id, index] = it->second;
    tickets_.erase(it);
    counters_.published.add();
    settle(id, index, &r);
  }
}

void ApiServer::refused(const batcher::Refusal& refusal) {
  auto it = tickets_.find(refusal.ticket);
  if (it == tickets_.end()) return;
  auto [id, index] = it->second;
  tickets_.erase(it);
  counters_.refused.add();
  settle(id, index, nullptr);
}

void ApiServer::settle(uint64_t id, size_t index, const batcher::Receipt* receipt) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  Pending::Outcome& o = p.outcomes[index];
  if (o.done) return;
  o.done = true;
  if (receipt) {
    o.seq = receipt->seq;
    o.epoch = receipt->epoch != 0 ? receipt->epoch : shard_.epoch();
  } else {
    o.refused = true;
  }
  if (--p.waiting > 0) return;
  bool any_refused = std::any_of(p.outcomes.begin(), p.outcomes.end(),
                                 [](const Pending::Outcome& x) { return x.refused; });
  if (any_refused) {
    finish(id, 503, "unavailable",
           "the cluster backplane (Redis) is unreachable: not sent (see results)");
  } else {
    finish(id, 200, nullptr, nullptr);
  }
}

void ApiServer::finish(uint64_t id, int status, const char* code, const char* message) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending p = std::move(it->second);
  pending_.erase(it);
  release(p);
  if (p.kind == Pending::Kind::kHistory) {
    if (p.conn) answer_error(*p.conn, ApiRoute::kHistory, p.started_ns, {status, code, message});
    return;
  }
  for (uint64_t t : p.tickets) {
    if (tickets_.erase(t) > 0) counters_.refused.add();  // never got a seq in time
  }
  if (!p.conn) return;
  // Each message's result: {"seq","room","epoch"}, or {"room","error"} for one not sent.
  auto result = [&](Writer& w, const Pending::Outcome& o) {
    w.StartObject();
    if (o.done && !o.refused) {
      w.Key("seq");
      w.Uint64(o.seq);
      key_value(w, "room", o.room);
      w.Key("epoch");
      w.Uint64(o.epoch);
    } else {
      key_value(w, "room", o.room);
      key_value(w, "error", o.refused ? "unavailable" : (status == 504 ? "timeout" : code));
    }
    w.EndObject();
  };
  rapidjson::StringBuffer buf;
  Writer w(buf);
  if (status == 200 && !p.array) {
    result(w, p.outcomes.front());
  } else if (status == 200) {
    w.StartArray();
    for (const auto& o : p.outcomes) result(w, o);
    w.EndArray();
  } else {
    w.StartObject();
    key_value(w, "error", code);
    key_value(w, "message", message);
    w.Key("results");
    w.StartArray();
    for (const auto& o : p.outcomes) result(w, o);
    w.EndArray();
    w.EndObject();
  }
  answer(*p.conn, ApiRoute::kPublish, p.started_ns, status, done(buf));
}

void ApiServer::release(Pending& p) {
  for (const std::string& room : p.held) {
    shard_.batcher().rooms().leave(room, mono_ns());
    auto it = held_.find(room);
    if (it != held_.end() && --it->second == 0) held_.erase(it);
  }
  p.held.clear();
}

// --- GET /api/rooms/{room}/history ---

void ApiServer::history(ApiConnection& c, const std::string& room, std::string_view query,
                        uint64_t started_ns) {
  api::HistoryQuery q;
  if (auto e = api::parse_history_query(query, q)) {
    answer_error(c, ApiRoute::kHistory, started_ns, *e);
    return;
  }
  RoomState* r = shard_.find_room(room);
  if (shard_.clustered()) {
    // As for a client's join (Connection::wait_for_room): a room not open on this node
    // is opened from Redis with the history asked for; a live one whose replica starts
    // after `since` has the older part read back.
    uint64_t from = 0, to = 0;
    bool wait = false;
    if (!r || !r->live) {
      wait = true;
      from = q.since + 1;
    } else if (!q.epoch || *q.epoch == r->epoch) {
      uint64_t after = r->log.resume_after(q.since);
      uint64_t first_held = r->log.first_held_msg();
      if (after + 1 < first_held && after < r->log.last_msg_seq()) {
        wait = true;
        from = after + 1;
        to = first_held - 1;
      }
    }
    if (wait) {
      if (!shard_.batcher().backplane_up()) {
        answer_error(c, ApiRoute::kHistory, started_ns,
                     {503, "unavailable", "the cluster backplane (Redis) is unreachable"},
                     "Retry-After: 2\r\n");
        return;
      }
      RoomState* entered = shard_.enter_room(room);
      if (!entered) {
        answer_error(c, ApiRoute::kHistory, started_ns,
                     {503, "too_many_rooms", "the room is not open and --max-rooms are alive"},
                     "Retry-After: 10\r\n");
        return;
      }
      uint64_t id = next_request_++;
      Pending p;
      p.kind = Pending::Kind::kHistory;
      p.conn = &c;
      p.started_ns = started_ns;
      p.deadline_ms = uv_now(loop()) + config_.api_request_timeout_ms;
      p.held.push_back(room);
      ++held_[room];
      p.room = room;
      p.query = q;
      pending_.emplace(id, std::move(p));
      shard_.await_room(*entered, from, to, [this, id](bool usable) { history_ready(id, usable); });
      return;
    }
  }
  answer(c, ApiRoute::kHistory, started_ns, 200, history_json(room, r, q));
}

void ApiServer::history_ready(uint64_t id, bool usable) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (!usable) {
    finish(id, 503, "unavailable", "the cluster backplane (Redis) is unreachable");
    return;
  }
  Pending p = std::move(it->second);
  pending_.erase(it);
  std::string body = history_json(p.room, shard_.find_room(p.room), p.query);
  release(p);
  if (p.conn) answer(*p.conn, ApiRoute::kHistory, p.started_ns, 200, body);
}

// {"room","epoch","since","last","messages":[{"seq","from","text","ts","cid"?}],"next",
//  "more","gap"?:{"from","to"}}: the chat messages (not joins, leaves or renames) after
// `since` the replica holds, at most `limit`; `next` is the `since` of the next page.
std::string ApiServer::history_json(const std::string& room, RoomState* r, api::HistoryQuery q) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  key_value(w, "room", room);
  uint64_t epoch = r ? r->epoch : shard_.epoch();
  // A `since` of another epoch means nothing in this one (as on /ws): from the start.
  if (q.epoch && *q.epoch != epoch) q.since = 0;
  w.Key("epoch");
  w.Uint64(epoch);
  w.Key("since");
  w.Uint64(q.since);
  uint64_t after = r ? r->log.resume_after(q.since) : q.since;
  uint64_t last = r ? r->log.last_msg_seq() : 0;
  w.Key("last");
  w.Uint64(last);
  uint64_t next = std::min(after, last);
  bool more = false;
  w.Key("messages");
  w.StartArray();
  if (r) {
    size_t n = 0;
    rapidjson::Document doc;
    for (uint64_t b = r->log.batch_after_msg(after); b < r->log.next_seq() && !more; ++b) {
      LogEntry* e = r->log.at(b);
      if (!e) break;
      const pool::SharedFrame& z = e->batch.zstd;
      size_t h = pool::ws_header_length(z.data());
      if (!batcher::decompress_batch(shard_.dctx(), {z.data() + h, z.size() - h},
                                     e->batch.raw_bytes, scratch_))
        break;
      doc.Parse(scratch_.data(), scratch_.size());
      if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("msgs")) break;
      for (const auto& m : doc["msgs"].GetArray()) {
        uint64_t seq = m["seq"].GetUint64();
        if (seq <= after) continue;
        if (n >= q.limit || buf.GetSize() > kMaxHistoryBodyBytes) {
          more = true;
          break;
        }
        next = seq;
        if (std::string_view(m["t"].GetString()) != "msg") continue;
        ++n;
        w.StartObject();
        w.Key("seq");
        w.Uint64(seq);
        key_value(w, "from", {m["from"].GetString(), m["from"].GetStringLength()});
        key_value(w, "text", {m["text"].GetString(), m["text"].GetStringLength()});
        w.Key("ts");
        w.Int64(m["ts"].GetInt64());
        if (m.HasMember("cid"))
          key_value(w, "cid", {m["cid"].GetString(), m["cid"].GetStringLength()});
        w.EndObject();
      }
    }
  }
  w.EndArray();
  w.Key("next");
  w.Uint64(next);
  w.Key("more");
  w.Bool(more);
  // What `since` asked for and the log no longer holds (as the /ws `gap` notice).
  if (r && after + 1 < r->log.first_held_msg() && after < last) {
    w.Key("gap");
    w.StartObject();
    w.Key("from");
    w.Uint64(after + 1);
    w.Key("to");
    w.Uint64(r->log.first_held_msg() - 1);
    w.EndObject();
  }
  w.EndObject();
  return done(buf);
}

// --- GET /api/rooms ---

void ApiServer::rooms(ApiConnection& c, uint64_t started_ns) {
  std::vector<std::pair<std::string, uint64_t>> all;
  shard_.batcher().rooms().members(all);
  std::sort(all.begin(), all.end());
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("rooms");
  w.StartArray();
  for (auto& [name, members] : all) {
    auto held = held_.find(name);
    uint64_t api = held == held_.end() ? 0 : held->second;
    w.StartObject();
    key_value(w, "room", name);
    w.Key("members");
    w.Uint64(members - std::min(members, api));
    // The count in the room's latest batch: in cluster mode the whole cluster's.
    if (RoomState* r = shard_.find_room(name); r && !r->log.empty()) {
      w.Key("online");
      w.Uint(r->log.at(r->log.next_seq() - 1)->batch.online);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  answer(c, ApiRoute::kRooms, started_ns, 200, done(buf));
}

// --- connections and shutdown ---

void ApiServer::closing(ApiConnection& c) {
  for (auto& [id, p] : pending_)
    if (p.conn == &c) p.conn = nullptr;  // its messages still go out; nobody is answered
}

void ApiServer::closed(ApiConnection* c) {
  connections_.erase(c);
  counters_.connections.set(static_cast<int64_t>(connections_.size()));
  delete c;
  maybe_finish_drain();
}

void ApiServer::stop_intake() {
  if (!accepting_) return;
  accepting_ = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
}

void ApiServer::drain() {
  stop_intake();
  draining_ = true;
  drain_deadline_ms_ = uv_now(loop()) + kDrainMs;
  std::vector<uint64_t> ids;
  for (const auto& [id, p] : pending_) ids.push_back(id);
  for (uint64_t id : ids) finish(id, 503, "shutting_down", "the gateway is shutting down");
  std::vector<ApiConnection*> all(connections_.begin(), connections_.end());
  for (ApiConnection* c : all) c->close_when_idle();
  maybe_finish_drain();
}

void ApiServer::maybe_finish_drain() {
  if (!draining_ || closed_ || !connections_.empty()) return;
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&key_async_), nullptr);
}

}  // namespace tg::gateway
