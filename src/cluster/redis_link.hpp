// redis_link.hpp -- RedisLink: one hiredis async connection on a libuv loop, with what
// a long-lived client needs around it: AUTH and SELECT on connect, reconnection with
// backoff, a deadline on every reply (a Redis that stops answering is treated as gone),
// and the round trip of every command measured.
//
// Loop thread only. Every command's callback is called exactly once: with the reply, or
// with nullptr when the link dropped (or was stopped) before the reply came.
#pragma once

#include <hiredis/async.h>
#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/redis_url.hpp"

namespace tg::cluster {

class RedisLink {
 public:
  using Callback = std::function<void(const redisReply* reply)>;
  struct Options {
    RedisUrl url;
    std::string name;                  // for logs: "cmd", "read"
    uint64_t reply_timeout_ms = 3000;  // a reply later than this drops the link
    uint64_t backoff_min_ms = 100;
    uint64_t backoff_max_ms = 5000;
  };
  // Called when the link becomes usable (after AUTH and SELECT) and when it drops.
  using StateFn = std::function<void(bool up)>;
  // Called with each command's round trip in ns.
  using RttFn = std::function<void(uint64_t ns)>;

  RedisLink(uv_loop_t* loop, Options options, StateFn on_state, RttFn on_rtt = {});
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Connects, and keeps reconnecting after every drop until stop().
  void start();
  // Drops the connection for good (pending callbacks get nullptr) and closes the timers;
  // the loop can end once their close callbacks ran.
  void stop();

  bool up() const { return up_; }
  // Sends a command; false (and `cb` is not called) when the link is not up. A command
  // may carry a longer deadline (a blocking XREAD): `extra_timeout_ms` is added.
  bool command(const std::vector<std::string_view>& args, Callback cb,
               uint64_t extra_timeout_ms = 0);
  bool command(std::initializer_list<std::string_view> args, Callback cb,
               uint64_t extra_timeout_ms = 0) {
    return command(std::vector<std::string_view>(args), std::move(cb), extra_timeout_ms);
  }
  // Pub/sub (a link used only for that): `on_message` gets each message published on
  // `channel` until unsubscribe(), or until the link drops (then the owner subscribes
  // again when it is up). False when the link is not up.
  using MessageFn = std::function<void(std::string_view payload)>;
  bool subscribe(const std::string& channel, MessageFn handler);
  void unsubscribe(const std::string& channel);
  size_t pending() const { return pending_.size(); }
  uint64_t reconnects() const { return reconnects_; }
  // The error of the last failure (connect, AUTH, a dropped link), for logs and tests.
  const std::string& last_error() const { return last_error_; }

 private:
  struct Pending {
    uint64_t id;
    uint64_t sent_ns;
    uint64_t deadline_ns;
    Callback cb;
  };
  static void on_connect(const redisAsyncContext* ac, int status);
  static void on_disconnect(const redisAsyncContext* ac, int status);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_message(redisAsyncContext* ac, void* reply, void* privdata);
  static void retry_cb(uv_timer_t* t);
  static void watch_cb(uv_timer_t* t);
  void connect();
  void handshake();  // AUTH, SELECT, then up
  bool send(const std::vector<std::string_view>& args, Callback cb, uint64_t extra_timeout_ms);
  void dropped(const std::string& why);
  void fail_pending();
  void schedule_retry();

  uv_loop_t* loop_;
  Options opts_;
  StateFn on_state_;
  RttFn on_rtt_;
  redisAsyncContext* ac_ = nullptr;
  uv_timer_t retry_{};
  uv_timer_t watch_{};
  bool started_ = false;
  bool stopping_ = false;
  bool up_ = false;
  uint64_t backoff_ms_ = 0;
  uint64_t next_id_ = 1;
  uint64_t reconnects_ = 0;
  uint64_t connect_ns_ = 0;                              // when the current connect began
  uint64_t active_ns_ = 0;                               // when the last command was sent
  std::deque<Pending> pending_;                          // in send order: Redis answers in order
  std::unordered_map<std::string, MessageFn> channels_;  // subscribed
  std::string last_error_;
};

// Reply helpers: hiredis replies are a tagged tree.
std::string_view reply_str(const redisReply* r);  // string/status/error text, else ""
bool reply_is_error(const redisReply* r);

}  // namespace tg::cluster
