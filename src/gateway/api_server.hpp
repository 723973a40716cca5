// api_server.hpp -- ApiServer: the publish API for backends (--api-listen): its own
// listening socket on Shard 0's loop, bearer-key auth, POST /api/publish (each message
// an Inbound through the same Batcher, seqs and log as a client's; answered once it has
// its seq), GET /api/rooms/{room}/history (read from Shard 0's log replica) and GET
// /api/rooms. Everything here runs on that one loop thread, never blocking it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gateway/api_connection.hpp"
#include "gateway/api_request.hpp"
#include "gateway/config.hpp"
#include "gateway/shard.hpp"
#include "metrics/api_counters.hpp"

namespace tg::gateway {

class ApiServer final : public ApiHooks {
 public:
  // `key`: the bearer key (api::read_key_file).
  ApiServer(const Config& config, Shard& shard, std::string key);
  ~ApiServer() override;
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Main thread, after the Shard's open() and before its start(): serves `listen_fd`
  // (bound, listening, non-blocking) on the Shard's loop. Throws std::runtime_error.
  void open(int listen_fd);
  // Any thread (SIGHUP): the key requests are checked against from now on.
  void set_key(std::string key);
  const metrics::ApiCounters& counters() const { return counters_; }

  // --- ApiHooks (the Shard's loop) ---
  void sequenced(const std::vector<batcher::Receipt>& receipts) override;
  void refused(const batcher::Refusal& refusal) override;
  void stop_intake() override;
  void drain() override;

  // --- for ApiConnection (the loop) ---
  // A complete request: answered now or later through c.respond().
  void dispatch(ApiConnection& c, const http::HttpRequest& request, std::string body);
  // Counts an answer (route, status, latency since the request was read).
  void count(metrics::ApiRoute route, int status, uint64_t started_ns);
  void closing(ApiConnection& c);  // it stops being served: its requests are forgotten
  void closed(ApiConnection* c);   // its handles are closed: freed
  uv_loop_t* loop() { return shard_.loop(); }
  uv_buf_t read_buffer() { return shard_.read_buffer(); }
  const Config& config() const { return config_; }

 private:
  // A publish (or, in cluster mode, a history read waiting for its room) not answered yet.
  struct Pending {
    enum class Kind : uint8_t { kPublish, kHistory };
    struct Outcome {
      std::string room;
      uint64_t seq = 0;
      uint64_t epoch = 0;
      bool done = false;
      bool refused = false;
    };
    Kind kind = Kind::kPublish;
    ApiConnection* conn = nullptr;  // null once it closed
    uint64_t deadline_ms = 0;
    uint64_t started_ns = 0;
    bool array = false;
    std::vector<Outcome> outcomes;  // publish: one per message, in order
    std::vector<uint64_t> tickets;  // publish: the messages' tickets, in order
    size_t waiting = 0;             // publish: messages without an outcome yet
    std::vector<std::string> held;  // rooms entered in the directory for this request
    std::string room;               // history
    api::HistoryQuery query;        // history
  };

  static void connection_cb(uv_stream_t* listener, int status);
  static void tick_cb(uv_timer_t* t);
  void tick();
  void publish(ApiConnection& c, std::string_view body, uint64_t started_ns);
  void history(ApiConnection& c, const std::string& room, std::string_view query,
               uint64_t started_ns);
  void rooms(ApiConnection& c, uint64_t started_ns);
  // Cluster mode: the room is open here (or could not be): answer the history read.
  void history_ready(uint64_t id, bool usable);
  // The history document from Shard 0's replica of the room (null: none yet).
  std::string history_json(const std::string& room, RoomState* r, api::HistoryQuery q);
  void settle(uint64_t id, size_t index, const batcher::Receipt* receipt);
  // Answers pending request `id` (whatever it holds so far with `status` other than
  // 200) and releases its rooms.
  void finish(uint64_t id, int status, const char* code, const char* message);
  void release(Pending& p);
  void answer(ApiConnection& c, metrics::ApiRoute route, uint64_t started_ns, int status,
              std::string_view json, std::string_view extra_headers = {});
  void answer_error(ApiConnection& c, metrics::ApiRoute route, uint64_t started_ns,
                    const api::Error& e, std::string_view extra_headers = {});
  void maybe_finish_drain();

  Config config_;
  Shard& shard_;
  std::string key_;
  uv_tcp_t listener_{};
  uv_timer_t tick_{};
  uv_async_t key_async_{};  // a new key (set_key) for the loop
  std::mutex key_mu_;
  std::string next_key_;  // guarded by key_mu_
  bool open_ = false;
  bool accepting_ = false;
  bool draining_ = false;
  bool closed_ = false;
  uint64_t drain_deadline_ms_ = 0;
  uint64_t next_conn_ = 1;
  uint64_t next_request_ = 1;
  uint64_t next_ticket_ = 1;
  std::unordered_set<ApiConnection*> connections_;
  std::unordered_map<uint64_t, Pending> pending_;
  std::unordered_map<uint64_t, std::pair<uint64_t, size_t>> tickets_;  // -> (request, index)
  std::unordered_map<std::string, uint64_t> held_;  // rooms entered by requests, and how often
  std::string scratch_;
  metrics::ApiCounters counters_;
};

}  // namespace tg::gateway
