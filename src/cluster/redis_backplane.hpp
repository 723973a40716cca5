// redis_backplane.hpp -- RedisBackplane: the cluster's room logs in Redis Streams.
//
// Per room, two keys in one hash slot (the room in braces is the Redis Cluster hash tag):
//   tg:{room}:meta  a hash: epoch, batch and msg (the last seqs), bytes (the log's zstd
//                   bytes), and per node n:<node> (its members) and l:<node> (the lease
//                   of that share, ms)
//   tg:{room}:log   a stream, one entry per batch, with the ID <last message seq>-0 and
//                   the fields b (batch seq), f (first message seq), o (online), w
//                   (window us), r (JSON bytes), t (append time, us), n (node), z (the
//                   zstd frame)
//   tg:{room}:wake  a pub/sub channel: "<node> <last message seq>" after each append
// An append is one EVALSHA (compare the head, XADD, advance the head, trim the log to
// its byte budget, refresh the keys' expiry, publish a wake-up). A node reads a room's
// log with XRANGE when woken for it, from after the last message it read; its own
// appends need no reading back. (Measured against one XREAD BLOCK over every room
// followed: docs/SCALING.md.)
//
// Two connections: one for commands, one subscribed to the wake-ups. Batcher thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "batcher/backplane.hpp"
#include "cluster/redis_link.hpp"
#include "cluster/redis_url.hpp"

namespace tg::cluster {

class RedisBackplane final : public batcher::Backplane {
 public:
  struct Options {
    RedisUrl url;
    uint64_t log_ttl_ms =
        24ull * 3600 * 1000;              // a room's keys live this long after its last append
    size_t log_bytes = size_t{64} << 20;  // a room's log is trimmed to this (zstd bytes)
    uint64_t lease_ms = 30'000;           // a node's share of a room's members
    uint64_t reply_timeout_ms = 3000;
    uint64_t name_ttl_ms = 60'000;  // a name claimed lives this long unless refreshed
  };
  explicit RedisBackplane(Options options);
  ~RedisBackplane() override;

  void start(uv_loop_t* loop, Listener* listener) override;
  void stop() override;
  bool up() const override { return up_; }
  void append(const Append& a, std::function<void(AppendResult)> done) override;
  void open(std::string_view room, batcher::LogHead known, uint64_t from_msg, uint64_t to_msg,
            size_t max_bytes, std::function<void(OpenResult)> done) override;
  void follow(std::string_view room, uint64_t epoch, uint64_t after_msg) override;
  void unfollow(std::string_view room) override;
  bool behind(std::string_view room) const override;
  void catch_up(std::string_view room) override { fetch(std::string(room)); }
  void heartbeat(std::string_view room, int64_t members) override;
  void claim_name(std::string_view name, std::string_view owner,
                  std::function<void(batcher::NameResult)> done) override;
  void release_name(std::string_view name, std::string_view owner) override;
  void refresh_name(std::string_view name, std::string_view owner) override;
  const std::string& node_id() const override { return node_; }

 private:
  // A room this node follows: its log is read after `after_msg`, on each wake-up.
  struct Follow {
    std::string key;
    std::string channel;
    uint64_t epoch = 0;
    uint64_t after_msg = 0;
    bool subscribed = false;
    bool fetching = false;       // an XRANGE is on its way
    bool again = false;          // and a wake-up came meanwhile
    uint64_t announced_msg = 0;  // the newest last message a wake-up announced
  };
  void on_cmd_state(bool up);
  void on_wake_state(bool up);
  void load_scripts();
  void woken(const std::string& room, std::string_view payload);
  void fetch(const std::string& room);
  void fetched(const std::string& room, uint64_t epoch, const redisReply* r);
  void defer(std::function<void()> fn);
  static void deferred_cb(uv_timer_t* t);
  bool parse_entry(const redisReply* e, batcher::StoredBatch& out) const;

  Options opts_;
  std::string node_;
  uv_loop_t* loop_ = nullptr;
  Listener* listener_ = nullptr;
  std::unique_ptr<RedisLink> cmd_;
  std::unique_ptr<RedisLink> wake_;  // subscribed to the wake-up channels of the rooms followed
  uv_timer_t deferred_timer_{};
  std::vector<std::function<void()>> deferred_;
  bool up_ = false;
  bool stopped_ = false;
  std::string sha_append_, sha_open_, sha_heartbeat_, sha_release_, sha_refresh_;
  std::unordered_map<std::string, Follow> follows_;  // by room
};

}  // namespace tg::cluster
