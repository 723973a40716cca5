// redis_backplane.cpp -- room logs in Redis Streams: appends, opens, the stream reader.
#include "cluster/redis_backplane.hpp"

#include <charconv>
#include <random>

#include "cluster/redis_scripts.hpp"
#include "common/log.hpp"

namespace tg::cluster {

namespace {
constexpr const char* kReadCount = "1024";  // entries per XRANGE
constexpr size_t kReadCountN = 1024;

uint64_t to_u64(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// An integer reply, or a string holding one.
uint64_t reply_u64(const redisReply* r) {
  if (!r) return 0;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer < 0 ? 0 : static_cast<uint64_t>(r->integer);
  return to_u64(reply_str(r));
}

std::string meta_key(std::string_view room) {
  std::string k = "tg:{";
  k += room;
  k += "}:meta";
  return k;
}

std::string log_key(std::string_view room) {
  std::string k = "tg:{";
  k += room;
  k += "}:log";
  return k;
}

std::string wake_channel(std::string_view room) {
  std::string k = "tg:{";
  k += room;
  k += "}:wake";
  return k;
}

std::string error_of(const redisReply* r) {
  if (!r) return "Redis unreachable";
  if (reply_is_error(r)) return "Redis: " + std::string(reply_str(r));
  return "unexpected reply from Redis";
}
}  // namespace

RedisBackplane::RedisBackplane(Options options) : opts_(std::move(options)) {
  std::random_device rd;
  uint64_t id = (uint64_t{rd()} << 32) ^ rd();
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  node_ = buf;
}

RedisBackplane::~RedisBackplane() = default;

void RedisBackplane::start(uv_loop_t* loop, Listener* listener) {
  loop_ = loop;
  listener_ = listener;
  uv_timer_init(loop_, &deferred_timer_);
  deferred_timer_.data = this;
  auto rtt = [this](uint64_t ns) { listener_->on_round_trip(ns); };
  RedisLink::Options o;
  o.url = opts_.url;
  o.reply_timeout_ms = opts_.reply_timeout_ms;
  o.name = "commands";
  cmd_ = std::make_unique<RedisLink>(
      loop_, o, [this](bool up) { on_cmd_state(up); }, rtt);
  o.name = "wake-ups";
  wake_ = std::make_unique<RedisLink>(loop_, o, [this](bool up) { on_wake_state(up); });
  TG_LOG(kInfo, "cluster mode: node %s, room logs in Redis at %s", node_.c_str(),
         opts_.url.redacted().c_str());
  cmd_->start();
  wake_->start();
}

void RedisBackplane::stop() {
  if (stopped_ || !loop_) return;
  stopped_ = true;
  up_ = false;
  cmd_->stop();
  wake_->stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&deferred_timer_), nullptr);
  // Whatever is still deferred runs now: every callback is called once.
  std::vector<std::function<void()>> left;
  left.swap(deferred_);
  for (auto& fn : left) fn();
}

void RedisBackplane::defer(std::function<void()> fn) {
  if (stopped_) {
    fn();
    return;
  }
  deferred_.push_back(std::move(fn));
  uv_timer_start(&deferred_timer_, deferred_cb, 0, 0);
}

void RedisBackplane::deferred_cb(uv_timer_t* t) {
  auto* self = static_cast<RedisBackplane*>(t->data);
  std::vector<std::function<void()>> run;
  run.swap(self->deferred_);
  for (auto& fn : run) fn();
}

void RedisBackplane::on_cmd_state(bool up) {
  if (up) {
    load_scripts();
    return;
  }
  bool was = up_;
  up_ = false;
  if (was) listener_->on_state(false);
}

// The scripts are loaded on every connect (a restarted Redis has none); the backplane is
// up once all three are.
void RedisBackplane::load_scripts() {
  auto left = std::make_shared<int>(5);
  auto loaded = [this, left](std::string* sha, const redisReply* r) {
    if (!r) return;
    if (reply_is_error(r) || r->type != REDIS_REPLY_STRING) {
      TG_LOG(kError, "redis: SCRIPT LOAD failed: %s", error_of(r).c_str());
      return;
    }
    *sha = std::string(reply_str(r));
    if (--*left == 0 && !up_) {
      up_ = true;
      listener_->on_state(true);
      for (const auto& [room, f] : follows_) fetch(room);  // what came meanwhile
    }
  };
  cmd_->command({"SCRIPT", "LOAD", scripts::kAppend},
                [loaded, this](const redisReply* r) { loaded(&sha_append_, r); });
  cmd_->command({"SCRIPT", "LOAD", scripts::kOpen},
                [loaded, this](const redisReply* r) { loaded(&sha_open_, r); });
  cmd_->command({"SCRIPT", "LOAD", scripts::kHeartbeat},
                [loaded, this](const redisReply* r) { loaded(&sha_heartbeat_, r); });
  cmd_->command({"SCRIPT", "LOAD", scripts::kReleaseName},
                [loaded, this](const redisReply* r) { loaded(&sha_release_, r); });
  cmd_->command({"SCRIPT", "LOAD", scripts::kRefreshName},
                [loaded, this](const redisReply* r) { loaded(&sha_refresh_, r); });
}

void RedisBackplane::append(const Append& a, std::function<void(AppendResult)> done) {
  std::string meta = meta_key(a.room), log = log_key(a.room);
  std::string epoch = std::to_string(a.expect.epoch), batch = std::to_string(a.expect.last_batch),
              msg = std::to_string(a.expect.last_msg), online = std::to_string(a.expect.online),
              count = std::to_string(a.count), delta = std::to_string(a.online_delta),
              raw = std::to_string(a.raw_bytes), window = std::to_string(a.window_us),
              budget = std::to_string(opts_.log_bytes), ttl = std::to_string(opts_.log_ttl_ms),
              lease = std::to_string(opts_.lease_ms);
  auto cb = [done](const redisReply* r) {
    AppendResult res;
    if (!r) {
      res.error = "Redis unreachable (no answer)";
      res.maybe_appended = true;
      done(std::move(res));
      return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 6) {
      res.error = error_of(r);
      done(std::move(res));
      return;
    }
    std::string_view status = reply_str(r->element[0]);
    res.head.epoch = to_u64(reply_str(r->element[1]));
    res.head.last_batch = reply_u64(r->element[2]);
    res.head.last_msg = reply_u64(r->element[3]);
    res.head.online = static_cast<uint32_t>(reply_u64(r->element[4]));
    res.appended_us = to_u64(reply_str(r->element[5]));
    res.status = status == "OK"         ? Status::kOk
                 : status == "CONFLICT" ? Status::kConflict
                                        : Status::kEpoch;
    done(std::move(res));
  };
  // An append that succeeded was made on top of everything read so far: the reader
  // need not read it back (its wake-up is skipped).
  auto advance = [this, room = std::string(a.room), cb](const redisReply* r) {
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements >= 6 && reply_str(r->element[0]) == "OK") {
      auto it = follows_.find(room);
      if (it != follows_.end() && it->second.epoch == to_u64(reply_str(r->element[1])))
        it->second.after_msg = std::max(it->second.after_msg, reply_u64(r->element[3]));
    }
    cb(r);
  };
  std::string wake = wake_channel(a.room);
  bool sent =
      up_ && cmd_->command({"EVALSHA", sha_append_, "2", meta, log, epoch, batch, msg, online,
                            count, delta, node_, a.zstd, raw, window, budget, ttl, lease, wake},
                           advance);
  if (!sent) {
    defer([done] {
      AppendResult res;
      res.error = "Redis unreachable";
      done(std::move(res));
    });
  }
}

bool RedisBackplane::parse_entry(const redisReply* e, batcher::StoredBatch& out) const {
  if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 2) return false;
  const redisReply* f = e->element[1];
  if (!f || f->type != REDIS_REPLY_ARRAY) return false;
  std::string_view id = reply_str(e->element[0]);
  out.last_msg = to_u64(id.substr(0, id.find('-')));
  bool has_zstd = false;
  for (size_t i = 0; i + 1 < f->elements; i += 2) {
    std::string_view k = reply_str(f->element[i]);
    std::string_view v = reply_str(f->element[i + 1]);
    if (k.size() != 1) continue;
    switch (k[0]) {
      case 'b':
        out.seq = to_u64(v);
        break;
      case 'f':
        out.first_msg = to_u64(v);
        break;
      case 'o':
        out.online = static_cast<uint32_t>(to_u64(v));
        break;
      case 'w':
        out.window_us = to_u64(v);
        break;
      case 'r':
        out.raw_bytes = to_u64(v);
        break;
      case 't':
        out.appended_us = to_u64(v);
        break;
      case 'n':
        out.own = v == node_;
        break;
      case 'z':
        out.zstd.assign(v);
        has_zstd = true;
        break;
      default:
        break;
    }
  }
  return has_zstd && out.seq > 0 && out.first_msg > 0 && out.first_msg <= out.last_msg;
}

void RedisBackplane::open(std::string_view room, batcher::LogHead known, uint64_t from_msg,
                          uint64_t to_msg, size_t max_bytes, std::function<void(OpenResult)> done) {
  std::string meta = meta_key(room), log = log_key(room), min = std::to_string(known.last_msg),
              epoch = std::to_string(known.epoch), from = std::to_string(from_msg),
              to = std::to_string(to_msg), budget = std::to_string(max_bytes),
              ttl = std::to_string(opts_.log_ttl_ms);
  auto cb = [this, done](const redisReply* r) {
    OpenResult res;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 5) {
      res.error = error_of(r);
      done(std::move(res));
      return;
    }
    res.ok = true;
    res.head.epoch = to_u64(reply_str(r->element[0]));
    res.head.last_batch = reply_u64(r->element[1]);
    res.head.last_msg = reply_u64(r->element[2]);
    res.head.online = static_cast<uint32_t>(reply_u64(r->element[3]));
    const redisReply* entries = r->element[4];
    if (entries && entries->type == REDIS_REPLY_ARRAY) {
      // Newest first from the script: oldest first for the caller.
      for (size_t i = entries->elements; i-- > 0;) {
        batcher::StoredBatch s;
        if (parse_entry(entries->element[i], s)) res.older.push_back(std::move(s));
      }
    }
    done(std::move(res));
  };
  bool sent = up_ && cmd_->command({"EVALSHA", sha_open_, "2", meta, log, min, from, to, budget,
                                    ttl, node_, epoch},
                                   cb);
  if (!sent) {
    defer([done] {
      OpenResult res;
      res.error = "Redis unreachable";
      done(std::move(res));
    });
  }
}

void RedisBackplane::heartbeat(std::string_view room, int64_t members) {
  if (!up_) return;
  cmd_->command({"EVALSHA", sha_heartbeat_, "1", meta_key(room), node_, std::to_string(members),
                 std::to_string(opts_.lease_ms)},
                [room = std::string(room)](const redisReply* r) {
                  if (r && reply_is_error(r))
                    TG_LOG(kWarn, "room %s: heartbeat: %s", room.c_str(), error_of(r).c_str());
                });
}

namespace {
std::string name_key(std::string_view name) {
  std::string k = "tg:name:";
  k += name;
  return k;
}
}  // namespace

void RedisBackplane::claim_name(std::string_view name, std::string_view owner,
                                std::function<void(batcher::NameResult)> done) {
  using batcher::NameResult;
  auto cb = [done, name = std::string(name)](const redisReply* r) {
    if (!r || reply_is_error(r)) {
      if (r) TG_LOG(kWarn, "claim of name %s: %s", name.c_str(), error_of(r).c_str());
      done(NameResult::kUnavailable);
      return;
    }
    done(r->type == REDIS_REPLY_NIL ? NameResult::kTaken : NameResult::kOk);
  };
  bool sent =
      up_ && cmd_->command(
                 {"SET", name_key(name), owner, "NX", "PX", std::to_string(opts_.name_ttl_ms)}, cb);
  if (!sent) defer([done] { done(NameResult::kUnavailable); });
}

void RedisBackplane::release_name(std::string_view name, std::string_view owner) {
  if (!up_) return;  // it expires
  cmd_->command({"EVALSHA", sha_release_, "1", name_key(name), owner}, nullptr);
}

void RedisBackplane::refresh_name(std::string_view name, std::string_view owner) {
  if (!up_) return;
  cmd_->command(
      {"EVALSHA", sha_refresh_, "1", name_key(name), owner, std::to_string(opts_.name_ttl_ms)},
      [name = std::string(name)](const redisReply* r) {
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
          TG_LOG(kWarn, "name %s: its claim was lost and taken by another client", name.c_str());
      });
}

void RedisBackplane::follow(std::string_view room, uint64_t epoch, uint64_t after_msg) {
  std::string name(room);
  Follow& f = follows_[name];
  f.key = log_key(room);
  f.channel = wake_channel(room);
  f.epoch = epoch;
  f.after_msg = after_msg;
  f.announced_msg = 0;
  if (!f.subscribed && wake_->up())
    f.subscribed =
        wake_->subscribe(f.channel, [this, name](std::string_view p) { woken(name, p); });
  fetch(name);  // what was appended before the subscription took effect
}

bool RedisBackplane::behind(std::string_view room) const {
  auto it = follows_.find(std::string(room));
  return it != follows_.end() &&
         (it->second.fetching || it->second.announced_msg > it->second.after_msg);
}

void RedisBackplane::unfollow(std::string_view room) {
  auto it = follows_.find(std::string(room));
  if (it == follows_.end()) return;
  if (it->second.subscribed) wake_->unsubscribe(it->second.channel);
  follows_.erase(it);
}

// A node appended to a room this node follows: "<node> <last message seq>".
void RedisBackplane::woken(const std::string& room, std::string_view payload) {
  auto it = follows_.find(room);
  if (it == follows_.end()) return;
  size_t space = payload.find(' ');
  // Our own append's wake-up may come before the append's answer: not read back (the
  // answer delivers it; an answer lost with the link is settled by reading on reconnect).
  if (space != std::string_view::npos && payload.substr(0, space) == node_) return;
  uint64_t last = space == std::string_view::npos ? UINT64_MAX : to_u64(payload.substr(space + 1));
  if (last <= it->second.after_msg) return;  // our own append, or read already
  it->second.announced_msg = std::max(it->second.announced_msg, last);
  fetch(room);
}

void RedisBackplane::on_wake_state(bool up) {
  if (!up) {
    for (auto& [room, f] : follows_) f.subscribed = false;
    return;
  }
  // Back: subscribed again, and every room read once for what was published meanwhile.
  for (auto& [room, f] : follows_) {
    const std::string name = room;
    f.subscribed =
        wake_->subscribe(f.channel, [this, name](std::string_view p) { woken(name, p); });
    fetch(name);
  }
}

// Reads the room's log after the last message read (XRANGE with an exclusive start), and
// again while there is more or a wake-up came meanwhile.
void RedisBackplane::fetch(const std::string& room) {
  auto it = follows_.find(room);
  if (it == follows_.end() || stopped_) return;
  Follow& f = it->second;
  if (f.fetching) {
    f.again = true;
    return;
  }
  std::string from = "(" + std::to_string(f.after_msg) + "-0";
  f.again = false;
  f.fetching = cmd_->command(
      {"XRANGE", f.key, from, "+", "COUNT", kReadCount},
      [this, room, epoch = f.epoch](const redisReply* r) { fetched(room, epoch, r); });
}

void RedisBackplane::fetched(const std::string& room, uint64_t epoch, const redisReply* r) {
  auto it = follows_.find(room);
  if (it == follows_.end()) return;  // unfollowed meanwhile
  Follow& f = it->second;
  f.fetching = false;
  if (!r) return;  // the link dropped: every room is read again when it is back
  if (reply_is_error(r) || r->type != REDIS_REPLY_ARRAY) {
    TG_LOG(kWarn, "room %s: reading its log: %s", room.c_str(), error_of(r).c_str());
    f.announced_msg = f.after_msg;  // proposals go on (and conflict if they must)
    listener_->on_read_done();
    return;
  }
  if (f.epoch != epoch) {  // reset while this read was on its way: read from the new start
    fetch(room);
    return;
  }
  std::vector<batcher::StoredBatch> batches;
  for (size_t j = 0; j < r->elements; ++j) {
    batcher::StoredBatch s;
    if (!parse_entry(r->element[j], s)) {
      TG_LOG(kError, "room %s: a malformed entry in its Redis log: skipped", room.c_str());
      continue;
    }
    f.after_msg = std::max(f.after_msg, s.last_msg);
    batches.push_back(std::move(s));
  }
  bool more = r->elements >= kReadCountN || f.again;
  if (!batches.empty()) listener_->on_batches(room, epoch, batches);
  if (more) fetch(room);
  // Even a read that found nothing new ends a wait: proposals held back while the room
  // was being read (behind()) go on now.
  listener_->on_read_done();
}

}  // namespace tg::cluster
