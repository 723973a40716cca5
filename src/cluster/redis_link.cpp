// redis_link.cpp -- a hiredis async connection with reconnection and reply deadlines.
#include "cluster/redis_link.hpp"

#include <algorithm>
#include <memory>
#include <random>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/result.hpp"

namespace tg::cluster {

namespace {
constexpr uint64_t kWatchMs = 250;
constexpr uint64_t kConnectTimeoutMs = 2000;
constexpr uint64_t kIdlePingMs = 1000;  // an idle link is pinged, so a dead peer is noticed

// hiredis's event-library hooks on a uv_poll_t. (hiredis 0.14's own libuv adapter drops
// poll errors: a refused connect or a reset connection would never be reported. Here an
// error makes hiredis read, which finds the failure and disconnects.)
struct UvEvents {
  redisAsyncContext* ac;
  uv_poll_t poll;
  int events = 0;
};

void uv_events_poll_cb(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<UvEvents*>(handle->data);
  if (!p->ac) return;
  if (status < 0) {
    redisAsyncHandleRead(p->ac);
    return;
  }
  if (events & UV_READABLE) redisAsyncHandleRead(p->ac);
  if (p->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->ac);
}

void uv_events_update(UvEvents* p, int add, int del) {
  p->events = (p->events | add) & ~del;
  if (p->events != 0) {
    uv_poll_start(&p->poll, p->events, uv_events_poll_cb);
  } else {
    uv_poll_stop(&p->poll);
  }
}

void uv_events_add_read(void* d) {
  uv_events_update(static_cast<UvEvents*>(d), UV_READABLE, 0);
}
void uv_events_del_read(void* d) {
  uv_events_update(static_cast<UvEvents*>(d), 0, UV_READABLE);
}
void uv_events_add_write(void* d) {
  uv_events_update(static_cast<UvEvents*>(d), UV_WRITABLE, 0);
}
void uv_events_del_write(void* d) {
  uv_events_update(static_cast<UvEvents*>(d), 0, UV_WRITABLE);
}

void uv_events_cleanup(void* d) {
  auto* p = static_cast<UvEvents*>(d);
  p->ac = nullptr;  // the context is being freed
  uv_close(reinterpret_cast<uv_handle_t*>(&p->poll),
           [](uv_handle_t* h) { delete static_cast<UvEvents*>(h->data); });
}

bool attach_to_loop(redisAsyncContext* ac, uv_loop_t* loop) {
  auto* p = new UvEvents{ac, {}, 0};
  if (uv_poll_init(loop, &p->poll, ac->c.fd) != 0) {
    delete p;
    return false;
  }
  p->poll.data = p;
  ac->ev.data = p;
  ac->ev.addRead = uv_events_add_read;
  ac->ev.delRead = uv_events_del_read;
  ac->ev.addWrite = uv_events_add_write;
  ac->ev.delWrite = uv_events_del_write;
  ac->ev.cleanup = uv_events_cleanup;
  return true;
}
}  // namespace

std::string_view reply_str(const redisReply* r) {
  if (!r) return {};
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return {r->str, r->len};
    default:
      return {};
  }
}

bool reply_is_error(const redisReply* r) {
  return r && r->type == REDIS_REPLY_ERROR;
}

RedisLink::RedisLink(uv_loop_t* loop, Options options, StateFn on_state, RttFn on_rtt)
    : loop_(loop),
      opts_(std::move(options)),
      on_state_(std::move(on_state)),
      on_rtt_(std::move(on_rtt)) {
  uv_timer_init(loop_, &retry_);
  uv_timer_init(loop_, &watch_);
  retry_.data = watch_.data = this;
}

RedisLink::~RedisLink() {
  TG_ASSERT(!started_ || stopping_);
}

void RedisLink::start() {
  started_ = true;
  uv_timer_start(&watch_, watch_cb, kWatchMs, kWatchMs);
  connect();
}

void RedisLink::stop() {
  if (stopping_) return;
  stopping_ = true;
  up_ = false;
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  fail_pending();
  if (ac) redisAsyncFree(ac);
  uv_close(reinterpret_cast<uv_handle_t*>(&retry_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch_), nullptr);
}

void RedisLink::connect() {
  const RedisUrl& u = opts_.url;
  redisAsyncContext* ac = u.unix_path.empty() ? redisAsyncConnect(u.host.c_str(), u.port)
                                              : redisAsyncConnectUnix(u.unix_path.c_str());
  if (!ac || ac->err) {
    last_error_ = ac ? ac->errstr : "out of memory";
    if (ac) redisAsyncFree(ac);
    TG_LOG(kWarn, "redis %s: cannot connect to %s: %s", opts_.name.c_str(), u.redacted().c_str(),
           last_error_.c_str());
    schedule_retry();
    return;
  }
  ac->data = this;
  if (!attach_to_loop(ac, loop_)) {
    last_error_ = "cannot attach to the event loop";
    redisAsyncFree(ac);
    schedule_retry();
    return;
  }
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  ac_ = ac;
  connect_ns_ = mono_ns();
}

void RedisLink::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self->ac_ != ac) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    self->ac_ = nullptr;
    self->last_error_ = ac->errstr;
    if (self->backoff_ms_ == 0)  // say it once per outage
      TG_LOG(kWarn, "redis %s: cannot connect to %s: %s (retrying)", self->opts_.name.c_str(),
             self->opts_.url.redacted().c_str(), ac->errstr);
    self->schedule_retry();
    return;
  }
  self->handshake();
}

void RedisLink::handshake() {
  // AUTH and SELECT go first on the connection; the link is up once both answered.
  auto steps = std::make_shared<int>(0);
  auto finish = [this, steps](const redisReply* r, const char* what) {
    if (!r) return;  // the link dropped meanwhile: dropped() handles it
    if (reply_is_error(r)) {
      last_error_ = std::string(what) + ": " + std::string(reply_str(r));
      TG_LOG(kError, "redis %s: %s", opts_.name.c_str(), last_error_.c_str());
      if (ac_) redisAsyncDisconnect(ac_);  // safe inside a callback; on_disconnect retries
      return;
    }
    if (--*steps == 0) {
      up_ = true;
      if (backoff_ms_ > opts_.backoff_min_ms)
        TG_LOG(kInfo, "redis %s: connected to %s", opts_.name.c_str(),
               opts_.url.redacted().c_str());
      backoff_ms_ = 0;
      if (on_state_) on_state_(true);
    }
  };
  const RedisUrl& u = opts_.url;
  std::string db = std::to_string(u.db);
  *steps = 1;  // the PING
  if (!u.password.empty()) {
    ++*steps;
    std::vector<std::string_view> auth{"AUTH"};
    if (!u.user.empty()) auth.push_back(u.user);
    auth.push_back(u.password);
    send(
        auth, [finish](const redisReply* r) { finish(r, "AUTH"); }, 0);
  }
  if (u.db != 0) {
    ++*steps;
    send(
        {"SELECT", db}, [finish](const redisReply* r) { finish(r, "SELECT"); }, 0);
  }
  send(
      {"PING"}, [finish](const redisReply* r) { finish(r, "PING"); }, 0);
}

bool RedisLink::command(const std::vector<std::string_view>& args, Callback cb,
                        uint64_t extra_timeout_ms) {
  if (!up_ || !ac_) return false;
  return send(args, std::move(cb), extra_timeout_ms);
}

bool RedisLink::send(const std::vector<std::string_view>& args, Callback cb,
                     uint64_t extra_timeout_ms) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  uint64_t id = next_id_++;
  if (redisAsyncCommandArgv(ac_, on_reply, reinterpret_cast<void*>(static_cast<uintptr_t>(id)),
                            static_cast<int>(argv.size()), argv.data(), lens.data()) != REDIS_OK)
    return false;
  uint64_t now = mono_ns();
  active_ns_ = now;
  pending_.push_back(
      {id, now, now + (opts_.reply_timeout_ms + extra_timeout_ms) * 1'000'000, std::move(cb)});
  return true;
}

void RedisLink::on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisLink*>(ac->data);
  auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(privdata));
  if (self->pending_.empty() || self->pending_.front().id != id) return;  // failed already
  Pending p = std::move(self->pending_.front());
  self->pending_.pop_front();
  auto* r = static_cast<const redisReply*>(reply);
  // (A null reply: the context is going away; hiredis refuses new commands on it.)
  if (r && self->on_rtt_) self->on_rtt_(mono_ns() - p.sent_ns);
  if (p.cb) p.cb(r);
}

bool RedisLink::subscribe(const std::string& channel, MessageFn handler) {
  if (!up_ || !ac_) return false;
  const char* argv[] = {"SUBSCRIBE", channel.c_str()};
  size_t lens[] = {9, channel.size()};
  if (redisAsyncCommandArgv(ac_, on_message, this, 2, argv, lens) != REDIS_OK) return false;
  channels_[channel] = std::move(handler);
  active_ns_ = mono_ns();
  return true;
}

void RedisLink::unsubscribe(const std::string& channel) {
  if (channels_.erase(channel) == 0 || !up_ || !ac_) return;
  const char* argv[] = {"UNSUBSCRIBE", channel.c_str()};
  size_t lens[] = {11, channel.size()};
  redisAsyncCommandArgv(ac_, on_message, this, 2, argv, lens);
}

// Every reply on a subscribed channel: ["subscribe", channel, n], ["message", channel,
// payload], ["unsubscribe", channel, n]; nullptr when the link goes away.
void RedisLink::on_message(redisAsyncContext* ac, void* reply, void* privdata) {
  auto* self = static_cast<RedisLink*>(privdata);
  auto* r = static_cast<const redisReply*>(reply);
  if (!r || self->ac_ != ac || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  if (reply_str(r->element[0]) != "message") return;
  auto it = self->channels_.find(std::string(reply_str(r->element[1])));
  if (it != self->channels_.end() && it->second) it->second(reply_str(r->element[2]));
}

void RedisLink::on_disconnect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<RedisLink*>(ac->data);
  if (self->ac_ != ac) return;
  self->ac_ = nullptr;  // hiredis frees it after this callback
  self->dropped(status == REDIS_OK ? "disconnected" : ac->errstr);
}

void RedisLink::watch_cb(uv_timer_t* t) {
  auto* self = static_cast<RedisLink*>(t->data);
  uint64_t now = mono_ns();
  if (self->ac_ && !self->up_ && self->pending_.empty() &&
      now - self->connect_ns_ > kConnectTimeoutMs * 1'000'000) {
    // A connect that neither succeeded nor failed (a black-holed address).
    redisAsyncContext* ac = self->ac_;
    self->ac_ = nullptr;
    self->last_error_ = "connect timed out";
    redisAsyncFree(ac);
    self->schedule_retry();
    return;
  }
  // (A subscribed link cannot be pinged like this: it is watched by the other link.)
  if (self->up_ && self->pending_.empty() && self->channels_.empty() &&
      now - self->active_ns_ > kIdlePingMs * 1'000'000) {
    self->send({"PING"}, nullptr, 0);
    return;
  }
  if (self->pending_.empty() || self->pending_.front().deadline_ns > now) return;
  // A reply is overdue: Redis is stopped, overloaded or cut off. Drop the link; the
  // callbacks learn it now, and reconnecting tells when it is back.
  uint64_t waited_ms = (mono_ns() - self->pending_.front().sent_ns) / 1'000'000;
  redisAsyncContext* ac = self->ac_;
  self->ac_ = nullptr;
  self->dropped("no reply for " + std::to_string(waited_ms) + " ms");
  if (ac) redisAsyncFree(ac);  // its callbacks find nothing pending: failed already
}

void RedisLink::dropped(const std::string& why) {
  bool was_up = up_;
  up_ = false;
  channels_.clear();  // the owner subscribes again once the link is back
  last_error_ = why;
  fail_pending();
  if (was_up)
    TG_LOG(kWarn, "redis %s: link to %s lost: %s", opts_.name.c_str(), opts_.url.redacted().c_str(),
           why.c_str());
  if (was_up && on_state_) on_state_(false);
  if (!stopping_) schedule_retry();
}

void RedisLink::fail_pending() {
  std::deque<Pending> failed;
  failed.swap(pending_);
  for (Pending& p : failed)
    if (p.cb) p.cb(nullptr);
}

void RedisLink::schedule_retry() {
  if (stopping_) return;
  backoff_ms_ =
      backoff_ms_ == 0 ? opts_.backoff_min_ms : std::min(backoff_ms_ * 2, opts_.backoff_max_ms);
  // Jitter: nodes that lost Redis together do not all come back in the same ms.
  static thread_local std::minstd_rand rng{std::random_device{}()};
  uint64_t wait = backoff_ms_ / 2 + rng() % (backoff_ms_ / 2 + 1);
  ++reconnects_;
  uv_timer_start(&retry_, retry_cb, wait, 0);
}

void RedisLink::retry_cb(uv_timer_t* t) {
  auto* self = static_cast<RedisLink*>(t->data);
  if (!self->stopping_ && !self->ac_) self->connect();
}

}  // namespace tg::cluster
