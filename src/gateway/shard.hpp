// shard.hpp -- Shard: one worker thread with its own libuv loop, listening socket
// (SO_REUSEPORT) and clients, and its own replica of every room's log. No other thread
// touches what a Shard owns; they reach it through deliver() and post().
#pragma once

#include <uv.h>
#include <zstd.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "batcher/batcher.hpp"
#include "gateway/admission.hpp"
#include "gateway/config.hpp"
#include "gateway/connection.hpp"
#include "gateway/name_registry.hpp"
#include "gateway/room_log.hpp"
#include "metrics/shard_counters.hpp"
#include "tls/tls_context.hpp"

namespace tg::metrics {
class GatewayStats;
}

namespace tg::gateway {

using metrics::ShardCounters;

// One room as a Shard sees it: its log replica and the Shard's clients in it.
// `incarnation` is the life of the room it replicates (batcher::RoomDirectory): a room
// that expired and was created again is another incarnation, with higher seqs.
//
// In cluster mode a replica is `live` once the Batcher opened the room from the
// backplane (RoomChange kOpen); until then its clients wait (Shard::await_room).
struct RoomState {
  RoomState(std::string n, uint64_t inc, uint64_t first_batch, uint64_t last_msg, uint64_t ep,
            bool is_live)
      : name(std::move(n)),
        incarnation(inc),
        log(first_batch, last_msg),
        epoch(ep),
        live(is_live) {}
  std::string name;
  uint64_t incarnation;
  RoomLog log;
  uint64_t epoch;  // what `since` is relative to: the server run's, or (cluster) the room log's
  bool live;
  std::vector<Connection*> members;
  // The window of the room's latest batch (0 before any), for hello and pong.
  double window_ms() const {
    return log.empty() ? 0 : log.at(log.next_seq() - 1)->batch.window_us / 1000.0;
  }
  bool dirty = false;  // got a batch in this delivery round
};

// The publish API (api_server.hpp) as the Shard whose loop it runs on sees it: what the
// Batcher answers its messages, and the shutdown steps. Loop thread only.
class ApiHooks {
 public:
  virtual ~ApiHooks() = default;
  virtual void sequenced(const std::vector<batcher::Receipt>& receipts) = 0;
  virtual void refused(const batcher::Refusal& refusal) = 0;
  virtual void stop_intake() = 0;  // with the Shard's: no new requests
  virtual void drain() = 0;        // with the Shard's: answer what waits, close, end
};

class Shard final : public batcher::BatchSink {
 public:
  Shard(int index, const Config& config, batcher::Batcher& batcher, NameRegistry& names,
        Admission& admission, std::atomic<uint64_t>& next_client_id, uint64_t epoch);
  ~Shard() override;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Sets up the loop and its handles around `listen_fd` (bound, listening,
  // non-blocking), on the calling thread. Throws std::runtime_error on failure. Every
  // Shard is opened before any thread starts, so deliver() and post() from other
  // threads always find initialised handles.
  void open(int listen_fd);
  // Starts the thread that runs the loop. Call once, after open().
  void start();
  // Batcher thread: queues the batches and the cuts and wakes the loop.
  void deliver(const std::vector<batcher::Batch>& batches,
               const std::vector<batcher::RoomCut>& cuts) override;
  // Batcher thread (cluster mode): queues changes of rooms' logs, in order with the
  // deliveries, and messages that could not be sent.
  void change(const std::vector<batcher::RoomChange>& changes) override;
  void refuse(std::vector<batcher::Refusal> refusals) override;
  void name_answer(uint64_t conn, std::string name, batcher::NameResult result) override;
  void sequenced(std::vector<batcher::Receipt> receipts) override;
  // Batcher thread: this Shard's load, from its counters.
  batcher::SinkLoad load() override;
  // Any thread: runs `task` on the loop thread, after any batches delivered before it.
  void post(std::function<void()> task);
  // Waits for the thread to end (after begin_drain() has been posted and done).
  void join();

  // --- loop thread only ---
  // Stops accepting; new chat messages are refused from now on (not silently lost).
  void stop_intake();
  // Closes every client with 1001 after its pending batches; ends the loop when the
  // last one is gone or after --drain-timeout-ms.
  void begin_drain();

  bool accepting() const { return accepting_; }
  uv_loop_t* loop() { return &loop_; }
  const Config& config() const { return config_; }
  // Loop thread (post it): takes the reloadable settings of `next` (reload.hpp) and
  // gives every connection the new rate limit.
  void reconfigure(const Config& next);
  batcher::Batcher& batcher() { return batcher_; }
  NameRegistry& names() { return names_; }
  Admission& admission() { return admission_; }
  // Counts a connection refused for being over a limit, and says so in the log at most
  // every few seconds (a full server would otherwise log every attempt).
  void note_refused(Admission::Verdict verdict);
  ShardCounters& counters() { return counters_; }
  // Every Shard's and the Batcher's numbers, for GET /stats; null until the Server set it
  // (before start()).
  metrics::GatewayStats* stats() const { return stats_; }
  void set_stats(metrics::GatewayStats* stats) { stats_ = stats; }
  uint64_t epoch() const { return epoch_; }
  uint64_t next_client_id() { return next_client_id_.fetch_add(1); }
  // A client enters room `name`: registered in the room directory (which creates the
  // room when it is not alive), and the room's replica here, made for the directory's
  // incarnation. nullptr when the room would be new and --max-rooms are alive.
  RoomState* enter_room(const std::string& name);
  // A client that entered `room` left it.
  void exit_room(RoomState& room);
  // Cluster mode: `c` waits until this node's replicas can serve it room `room`, messages
  // from `from_msg` (0: none) to `to_msg` (0: the newest) included; the Batcher reads the
  // room from the backplane. The answer calls Connection::room_ready(). Returns the id of
  // the request.
  uint64_t await_room(Connection* c, RoomState& room, uint64_t from_msg, uint64_t to_msg);
  // `c` no longer waits (it closed).
  void stop_waiting(Connection* c, const std::string& room);
  // The publish API: the same wait without a Connection; `done(usable)` is called on the
  // loop when the Batcher answered (never after the loop ended).
  void await_room(RoomState& room, uint64_t from_msg, uint64_t to_msg,
                  std::function<void(bool usable)> done);
  // The replica of room `name` here, or nullptr.
  RoomState* find_room(const std::string& name) const;
  // Before open(): the publish API runs on this Shard's loop.
  void set_api(ApiHooks* api) { api_ = api; }
  bool clustered() const { return clustered_; }
  // Hands an event to the Batcher (this Shard's inbox) and wakes it when needed.
  void submit(batcher::Inbound&& event);
  // The 64 KiB buffer every read of this Shard lands in (consumed within read_cb).
  uv_buf_t read_buffer();
  // The buffer list a connection composes its next write in, until uv_write (which
  // copies it): one for the whole Shard instead of one per connection.
  std::vector<uv_buf_t>& write_bufs() { return write_bufs_; }
  ZSTD_DCtx* dctx() { return dctx_; }
  // The JSON frame of an entry, derived from its zstd frame the first time it is asked.
  const pool::SharedFrame& json_frame(RoomState& room, LogEntry& e);
  // permessage-deflate: the entry's text frame deflated with a `window_bits` window,
  // made the first time it is asked and then written to every such client of the
  // Shard. A batch that would not shrink is kept as plain text (RSV1 clear).
  const pool::SharedFrame& deflate_frame(RoomState& room, LogEntry& e, int window_bits);
  // tidegate.v2.zstd: gives a batch built without a room stream (`no_stream`) a v2 frame
  // of its own, a keyframe that starts and ends with it, the first time it is asked.
  void v2_frame(RoomState& room, LogEntry& e);
  // The inflater every permessage-deflate session of this Shard shares (made on first
  // use): clients are told client_no_context_takeover, so none keeps its own.
  ws::MessageInflater& inflater();
  void add_connection(Connection* c);
  void remove_connection(Connection* c);

  // --tls-cert: the context new connections take (null: plaintext). Loop thread only; a
  // reload posts the new one (set_tls), connections made before keep theirs.
  const std::shared_ptr<tls::TlsContext>& tls() const { return tls_; }
  void set_tls(std::shared_ptr<tls::TlsContext> ctx) { tls_ = std::move(ctx); }
  // Scratch of the TLS path, reused by every connection of this Shard within one call:
  // the plaintext one read decrypts to, and small frames gathered into one record.
  std::string& tls_plain() { return tls_plain_; }
  std::string& tls_gather() { return tls_gather_; }

 private:
  // A batch's JSON text (its JSON frame's payload, or its v1 frame decompressed into
  // json_scratch_, valid until the scratch is used again).
  std::string_view batch_text(const LogEntry& e);
  static void async_cb(uv_async_t* h);
  static void connection_cb(uv_stream_t* server, int status);
  static void drain_timer_cb(uv_timer_t* t);
  static void busy_timer_cb(uv_timer_t* t);
  static void pump_idle_cb(uv_idle_t* h);
  void run();
  void on_async();
  // What one deliver() or change() call queued, applied in the order they were made.
  struct Delivery {
    std::vector<batcher::RoomChange> changes;
    std::vector<batcher::Batch> batches;
    std::vector<batcher::RoomCut> cuts;
  };
  void apply(Delivery& d);
  void apply_change(batcher::RoomChange& c);
  void answer_waiting(const batcher::RoomChange& c, RoomState* room);
  void answer_api_waiting(const batcher::RoomChange& c, RoomState* room, uint64_t answered);
  void pump_dirty();
  void apply_cut(const batcher::RoomCut& cut);
  void mark_dirty(RoomState& r);
  // The replica of life `incarnation` of room `name` (for a batch, or a join with the
  // directory's answer): made when first needed, renewed for a newer life; nullptr for a
  // life older than the replica's (its batches are dropped).
  RoomState* replica(const std::string& name, uint64_t incarnation, uint64_t first_batch,
                     uint64_t first_msg);
  void pump_ready();
  void maybe_finish();
  void sample_gauges();  // clients_behind, log_bytes, buffer_bytes (and the idle sweep)
  // --auth: closes the connections whose token ran out (with the gauges, about once a second).
  void close_expired_tokens();

  int index_;
  Config config_;  // this Shard's copy: a reload changes it on this thread (reconfigure)
  batcher::Batcher& batcher_;
  NameRegistry& names_;
  Admission& admission_;
  std::atomic<uint64_t>& next_client_id_;
  uint64_t epoch_;

  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  uv_async_t async_{};
  uv_timer_t drain_timer_{};
  uv_timer_t busy_timer_{};
  uv_idle_t pump_idle_{};                // active while the ready list has connections left to pump
  uint64_t refusal_logged_ms_ = 0;       // loop time of the last refusal log line
  uint64_t refusals_unlogged_ = 0;       // refusals since then
  uint64_t accept_error_logged_ms_ = 0;  // loop time of the last accept error log line
  uint64_t busy_idle_ns_ = 0;            // uv_metrics_idle_time at the last sample
  uint64_t busy_at_ns_ = 0;              // mono_ns() at the last sample
  unsigned busy_ticks_ = 0;              // busy samples taken; every kGaugeEvery-th samples gauges
  std::thread thread_;
  bool accepting_ = false;
  bool draining_ = false;
  bool finished_ = false;

  std::mutex mailbox_mu_;
  std::vector<Delivery> mailbox_;
  std::vector<std::function<void()>> mailbox_tasks_;
  std::vector<Delivery> deliveries_;          // swapped in from the mailbox
  std::vector<std::function<void()>> tasks_;  // swapped in from the mailbox
  const bool clustered_;
  uint64_t next_need_ = 0;
  // Cluster mode: the connections waiting for each room (await_room).
  std::unordered_map<std::string, std::vector<Connection*>> waiting_;
  // And the publish API's waits: (request id, what to call).
  std::unordered_map<std::string, std::vector<std::pair<uint64_t, std::function<void(bool)>>>>
      api_waiting_;
  ApiHooks* api_ = nullptr;

  std::unordered_map<std::string, std::unique_ptr<RoomState>> rooms_;
  std::vector<RoomState*> dirty_rooms_;
  std::vector<Connection*> ready_;  // connections due a pump; [0, ready_pos_) are done
  size_t ready_pos_ = 0;
  std::vector<Connection*> fresh_;    // apply_batches' newly due connections, reused
  std::vector<Connection*> expired_;  // close_expired_tokens()' list, reused
  std::unordered_set<Connection*> connections_;
  std::unique_ptr<char[]> read_buf_;
  std::vector<uv_buf_t> write_bufs_;
  ZSTD_DCtx* dctx_;
  std::string json_scratch_;
  // permessage-deflate: one deflater per window size asked for, made on first use.
  std::unique_ptr<ws::MessageDeflater>
      deflaters_[ws::kMaxWindowBits - ws::kMinServerWindowBits + 1];
  std::unique_ptr<ws::MessageInflater> inflater_;
  std::string deflate_scratch_;
  // tidegate.v2.zstd: the stream that frames batches alone (v2_frame), made on first use.
  std::unique_ptr<batcher::RoomStream> v2_alone_;
  std::string v2_scratch_;
  ShardCounters counters_;
  metrics::GatewayStats* stats_ = nullptr;
  std::shared_ptr<tls::TlsContext> tls_;
  std::string tls_plain_;
  std::string tls_gather_;
};

}  // namespace tg::gateway
