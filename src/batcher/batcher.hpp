// batcher.hpp -- Batcher: the thread that collects every Shard's inbox into per-room
// queues, gives each room its own window (WindowPolicy), and at each flush orders the
// events of every room whose window closed, builds one Batch per such room and hands the
// batches to every Shard in one delivery. It also decides what the room logs keep
// (HistoryLedger: --history-bytes per room, --history-total-bytes in all) and when an
// empty room expires (RoomDirectory, --room-ttl-s), and tells every Shard in the same
// ordered delivery (RoomCut).
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "batcher/backplane.hpp"
#include "batcher/batch_encoder.hpp"
#include "batcher/batcher_counters.hpp"
#include "batcher/history_ledger.hpp"
#include "batcher/inbox.hpp"
#include "batcher/room_directory.hpp"
#include "batcher/room_stream.hpp"
#include "batcher/sequencer.hpp"
#include "batcher/window_policy.hpp"

namespace tg::batcher {

// How loaded a sink is, for the window policy.
struct SinkLoad {
  uint64_t writes = 0;     // client writes completed so far (cumulative)
  uint64_t fanout_ns = 0;  // loop time spent delivering batches and writing (cumulative)
  double busy = 0;         // loop busy fraction, latest sample
  uint64_t lag_ns = 0;     // peak batch-built -> write-completed time since the last call
};

// Where built batches go: every Shard is one. Both calls come from the Batcher thread;
// deliver() must only queue the batches and the cuts and wake the Shard's loop. The cuts
// apply after the batches of the same delivery (they may trim them).
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  virtual void deliver(const std::vector<Batch>& batches, const std::vector<RoomCut>& cuts) = 0;
  // Cluster mode: changes of rooms' logs, applied in order with the deliveries.
  virtual void change(const std::vector<RoomChange>& changes) { (void)changes; }
  // Cluster mode: messages of this sink's clients that were not sent (error notices).
  virtual void refuse(std::vector<Refusal> refusals) { (void)refusals; }
  // Cluster mode: connection `conn`'s claim of `name` was answered.
  virtual void name_answer(uint64_t conn, std::string name, NameResult result) {
    (void)conn, (void)name, (void)result;
  }
  // Publish API messages of this sink got their seqs; called after the delivery of their
  // batches.
  virtual void sequenced(std::vector<Receipt> receipts) { (void)receipts; }
  virtual SinkLoad load() = 0;
};

class Batcher final : private Backplane::Listener {
 public:
  struct Options {
    int shards = 1;
    int zstd_level = 1;
    size_t max_rooms = 0;                          // rooms alive at once (0: no limit)
    size_t room_history_bytes = size_t{64} << 20;  // --history-bytes
    size_t history_total_bytes = SIZE_MAX;         // --history-total-bytes
    uint64_t room_ttl_ms = 0;                      // --room-ttl-s in ms (0: rooms never expire)
    size_t zstd_keyframe_bytes = 64 * 1024;        // --zstd-keyframe-bytes
    uint64_t zstd_keyframe_ms = 10'000;            // --zstd-keyframe-ms
    int zstd_v2_level = 1;                         // --zstd-v2-level
  };

  Batcher(Options options, std::unique_ptr<Sequencer> sequencer,
          std::unique_ptr<WindowPolicy> policy);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Sinks must be set before start() and outlive the Batcher's thread.
  void add_sink(BatchSink* sink) { sinks_.push_back(sink); }
  // Cluster mode: rooms' seqs and logs are the backplane's (batcher_cluster.cpp). Set
  // before start(); without one the Sequencer hands out seqs (a single node).
  void set_backplane(std::unique_ptr<Backplane> backplane) { backplane_ = std::move(backplane); }
  bool clustered() const { return backplane_ != nullptr; }
  // Any thread: cluster mode and the backplane reachable (or no cluster mode).
  bool backplane_up() const { return !backplane_ || backplane_up_.load(std::memory_order_relaxed); }

  // The inbox of Shard `shard`; push to it from that Shard's thread, then call
  // notify() when push() returned true.
  Inbox& inbox(int shard) { return *inboxes_[shard]; }

  // Starts the Batcher thread. Throws std::runtime_error if libuv setup fails.
  void start();
  // Thread-safe: events are waiting. Coalesced wake-ups are harmless.
  void notify();
  // Thread-safe: the window policy takes `options` on the Batcher thread's next turn
  // (a reload).
  void reconfigure_window(const WindowOptions& options);
  // Thread-safe: flushes what is queued now, delivers it, and stops the thread.
  // Returns once the thread has exited. Call at most once, after start().
  void stop();

  // The widest room window of the last flush, for hello and pong notices and metrics;
  // any thread.
  double window_ms() const { return window_us_.load(std::memory_order_relaxed) / 1000.0; }
  // Number of JSON-subprotocol clients connected; while 0, no JSON frame is built.
  std::atomic<int>& json_clients() { return json_clients_; }
  // What the Batcher thread counted; any thread may read it (metrics scrapes).
  const BatcherCounters& counters() const { return counters_; }
  // The rooms alive: Shards register joins and leaves there; any thread.
  RoomDirectory& rooms() { return rooms_; }
  const RoomDirectory& rooms() const { return rooms_; }

 private:
  // One room's events waiting for its window to close.
  struct RoomQueue {
    std::vector<Inbound> events;
    uint64_t due_ns = 0;     // when the window closes
    uint64_t window_us = 0;  // the window it was given
  };
  // Cluster mode: a room's log as this node knows it (what its replicas hold up to), and
  // its one append in flight.
  struct RoomView {
    enum class State : uint8_t { kClosed, kOpening, kOpen };
    State state = State::kClosed;
    uint64_t incarnation = 0;  // the RoomDirectory life the replicas are of
    LogHead head;              // the last batch delivered to the replicas
    int64_t own_members = 0;   // this node's joins minus leaves appended
    bool appending = false;
    std::vector<Inbound> inflight;  // the events of the append in flight
    Batch proposed;                 // and its batch
    // An append whose answer was lost with the link: it may or may not be in the log.
    // Settled when the log's batch `uncertain_seq` is read (ours or another's), or the
    // epoch changes.
    std::vector<Inbound> uncertain;
    uint64_t uncertain_seq = 0;
    uint64_t wait_batch = 0;  // after a conflict: append again once this batch is read
    std::vector<std::pair<int, uint64_t>> answer_on_open;  // requests the open answers
    std::vector<Inbound> needs_later;                      // requests that came while opening
  };

  static void wake_cb(uv_async_t* h);
  static void stop_cb(uv_async_t* h);
  static void timer_cb(uv_timer_t* h);
  static void sweep_cb(uv_timer_t* h);
  // Moves every inbox's events into their rooms' queues, opening a window for each room
  // that had none.
  void intake(uint64_t now_ns);
  // Flushes every room whose window closes by `now_ns` (every room with `all`), in one
  // delivery, then arms the timer for the next window to close.
  void flush_due(uint64_t now_ns, bool all = false);
  // Orders a room's queued events by receive time into event_ptrs_; returns joins minus
  // leaves among them.
  int order_events(RoomQueue& q);
  void build_batch(const std::string& room, RoomQueue& q, bool with_json);
  FlushStats measure(uint64_t start_ns, uint64_t events);
  void count_flush(uint64_t events, uint64_t encode_ns, uint64_t flush_ns);  // into counters_
  void arm_timer(uint64_t now_ns);
  // Records the built batches in the ledger and trims to the budgets (into cuts_).
  void account(uint64_t now_ns);
  // Expires the rooms idle for --room-ttl-s, and refreshes the history gauges.
  void sweep(uint64_t now_ns);
  void publish_history();
  // Hands the batches in built_ to the ledger and every sink, and counts the flush; then
  // the receipts collected.
  void deliver_built(uint64_t start_ns, uint64_t events, uint64_t widest_us);
  // Publish API messages: `e` got seq `seq` (of `epoch` in cluster mode). Collected per
  // sink, sent by send_receipts() after the batch's delivery.
  void add_receipt(const Inbound& e, uint64_t seq, uint64_t epoch);
  void send_receipts();

  // --- cluster mode (batcher_cluster.cpp) ---
  // Proposes the room's queued events as its next batch. False when the room cannot
  // append now (opening, an append in flight, waiting to read what another node
  // appended): its events stay queued and the answer flushes it again.
  bool propose(const std::string& room, RoomQueue& q, bool with_json);
  void on_appended(const std::string& room, Backplane::AppendResult r);
  void need(Inbound& request);
  void claim(Inbound& request);  // kClaim and kRelease
  void refresh_names(uint64_t now_ns);
  void open_room(const std::string& room, RoomView& v, uint64_t from_msg, uint64_t to_msg);
  void on_opened(const std::string& room, Backplane::OpenResult r, bool fresh);
  void on_older(const std::string& room, int shard, uint64_t need_id, uint64_t epoch,
                Backplane::OpenResult r);
  void requeue(const std::string& room, std::vector<Inbound>& events);
  void refuse(std::vector<Inbound>& events, const char* why);
  Batch to_batch(const std::string& room, const RoomView& v, StoredBatch& s);
  void send_changes();
  bool room_busy(const std::string& room) const;  // cluster work pending: no expiry
  void on_batches(std::string_view room, uint64_t epoch,
                  std::vector<StoredBatch>& batches) override;
  void on_read_done() override;
  void on_state(bool up) override;
  void on_round_trip(uint64_t ns) override;
  void heartbeat_rooms(uint64_t now_ns);
  void finish_stop();
  static void stop_wait_cb(uv_timer_t* h);

  Options opts_;
  std::unique_ptr<Backplane> backplane_;
  std::unordered_map<std::string, RoomView> views_;  // cluster mode: the rooms open here
  std::vector<RoomChange> changes_;                  // cluster mode: to deliver, reused
  std::atomic<bool> backplane_up_{false};
  bool stopping_ = false;
  uint64_t heartbeat_at_ns_ = 0;         // cluster mode: the last heartbeat of the rooms' shares
  uint64_t names_at_ns_ = 0;             // cluster mode: the last refresh of the names held
  uint64_t append_error_logged_ns_ = 0;  // cluster mode: the last append failure logged
  std::unordered_map<std::string, std::string> names_held_;  // cluster mode: name -> owner
  uv_timer_t stop_wait_{};  // cluster mode: how long a stop waits for appends in flight
  std::unique_ptr<Sequencer> sequencer_;
  std::unique_ptr<WindowPolicy> policy_;
  BatchEncoder encoder_;
  // tidegate.v2.zstd: the rooms with v2 members on this node (or whose last one left less
  // than --zstd-keyframe-ms ago), each with its stream, fed every batch in the room's
  // order on this node (room_stream.hpp). The context is released when the room is quiet
  // (the next batch is then a keyframe); rooms not listed have none.
  struct StreamState {
    std::unique_ptr<RoomStream> stream;  // null: released (quiet) or not needed yet
    int64_t members = 0;                 // v2 joins minus leaves on this node
    uint64_t left_ns = 0;                // when `members` last dropped to 0
    uint64_t next_seq = 0;               // the batch seq the stream expects next
    uint64_t last_keyframe = 0;          // seq of its latest keyframe batch
    uint64_t used_ns = 0;                // when it last compressed a batch
  };
  void count_v2_member(const Inbound& e, uint64_t now_ns);
  bool wants_stream(const StreamState& s, uint64_t now_ns) const;
  // The room's state with its stream (made if needed) when it wants one, else nullptr.
  StreamState* stream_for(const std::string& room, uint64_t now_ns);
  void drop_stream(StreamState& s);
  void forget_stream(const std::string& room);
  void attach_v2(Batch& b, std::string_view json, uint64_t now_ns);
  void attach_v2_built(uint64_t now_ns);
  void v2_after_cuts();
  void release_quiet_streams(uint64_t now_ns);
  std::unordered_map<std::string, StreamState> streams_;
  size_t live_streams_ = 0;       // streams_ entries with a context (tidegate_v2_streams)
  ZSTD_DCtx* v2_dctx_ = nullptr;  // cluster mode: decompresses batches read from the backplane
  std::string v2_json_;           // reused
  std::string v2_payload_;        // reused
  std::vector<std::unique_ptr<Inbox>> inboxes_;
  std::vector<BatchSink*> sinks_;

  std::mutex run_mu_;     // orders notify() against stop() closing the handles
  bool running_ = false;  // guarded by run_mu_
  std::optional<WindowOptions> pending_window_;  // guarded by run_mu_; from a reload
  uv_loop_t loop_{};
  uv_async_t wake_{};
  uv_async_t stop_{};
  uv_timer_t timer_{};
  uv_timer_t sweep_timer_{};
  std::thread thread_;

  std::vector<Inbound> intake_;                         // drained events, reused
  std::unordered_map<std::string, RoomQueue> queues_;   // rooms with a window open
  std::vector<RoomFlush> flushed_;                      // rooms of this flush, reused
  std::vector<const Inbound*> event_ptrs_;              // one room's events in order, reused
  std::vector<Batch> built_;                            // reused
  std::vector<RoomCut> cuts_;                           // reused
  std::vector<std::vector<Receipt>> receipts_;          // by sink, until send_receipts()
  std::vector<std::pair<std::string, uint64_t>> idle_;  // sweep's candidates, reused
  std::vector<uint64_t> bucket_scratch_;
  uint64_t histogram_at_ns_ = 0;  // when rooms_by_bytes was last recomputed
  uint64_t writes_seen_ = 0;      // sum of the sinks' write counters at the last flush
  uint64_t fanout_seen_ = 0;      // and of their fan-out time
  std::atomic<uint64_t> window_us_{0};
  std::atomic<int> json_clients_{0};
  BatcherCounters counters_;
  RoomDirectory rooms_;
  HistoryLedger ledger_;
};

}  // namespace tg::batcher
