// bot_loop.hpp -- one swarm thread: a libuv loop, the bots it owns, its decode cache and counters.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bots/batch_cache.hpp"
#include "bots/bot.hpp"
#include "bots/bot_spec.hpp"
#include "bots/corpus.hpp"
#include "bots/counters.hpp"
#include "bots/frame_decoder.hpp"
#include "bots/histogram.hpp"
#include "bots/run_totals.hpp"
#include "bots/swarm_config.hpp"
#include "bots/ws_url.hpp"
#include "tls/tls_context.hpp"

namespace tg::bots {

// The phases of a run, driven by Swarm; each loop follows them in order.
enum class Phase : int { kConnect, kSend, kDrain, kClose, kStop };

// What a loop publishes four times a second for the main thread.
struct LoopSnapshot {
  Counters counters;
  Histogram latency_us;  // samples since the previous take()
  Histogram ping_us;
  std::vector<uint64_t> room_sent;
  std::vector<uint64_t> room_unsent;    // of room_sent, refused or in doubt (RunTotals::Room)
  std::vector<uint64_t> room_members;   // counted bots
  std::vector<uint64_t> room_received;  // by counted bots
};

// A thread with its own uv loop and its share of the bots. The main thread talks to it
// only through set_phase() (a uv_async_t; coalesced wakeups are harmless because the
// loop applies every phase up to the latest) and take() (under a mutex). Bots call
// the loop-thread accessors.
class BotLoop {
 public:
  BotLoop(const SwarmConfig& config, const std::vector<WsUrl>& urls, std::string run,
          const std::vector<std::string>& rooms, uint64_t seed);
  ~BotLoop();
  BotLoop(const BotLoop&) = delete;
  BotLoop& operator=(const BotLoop&) = delete;

  // Before start() only.
  void add_bot(const BotSpec& spec);
  // Starts the thread, which begins the connect phase at once.
  void start();
  // Any thread: asks the loop to move to `phase` (phases only move forward).
  void set_phase(Phase phase);
  // Any thread: the latest published counters, plus the interval histograms since the
  // previous take().
  LoopSnapshot take();
  // Waits for the thread to end (after Phase::kStop).
  void join();
  // After join(): adds this loop's per-room send counts and batch spans, then (second
  // call) its clients and histograms to `totals`.
  void add_sent_to(RunTotals& totals) const;
  void add_clients_to(RunTotals& totals) const;

  // Loop thread only, for bots.
  uv_loop_t* uv() { return &loop_; }
  const SwarmConfig& config() const { return config_; }
  const WsUrl& url(size_t index) const { return urls_[index]; }
  size_t url_count() const { return urls_.size(); }
  std::string_view run() const { return run_; }
  const std::string& room_name(uint32_t room) const { return rooms_[room]; }
  bool json_mode() const { return json_mode_; }
  // True while sending or draining: byte counters only count then, so the connect
  // storm (hellos, join batches) does not inflate bytes per delivery.
  bool measuring() const { return phase_ == Phase::kSend || phase_ == Phase::kDrain; }
  Phase phase() const { return phase_; }
  bool sending() const { return phase_ == Phase::kSend; }
  // True while a bot whose gateway went away should come back: reconnecting is on and
  // the run is sending or draining (before that a drop is final, as after it).
  bool may_reconnect() const { return config_.reconnect && !config_.sink && measuring(); }
  Counters& counters() { return counters_; }
  BatchCache& cache() { return cache_; }
  FrameDecoder& decoder() { return decoder_; }
  // tidegate.v2.zstd: the BatchCache key of a frame (its bytes and its place in the
  // room's stream, Bot::v2_cache_key), built here and reused.
  std::vector<uint8_t>& v2_key() { return v2_key_; }
  std::span<char> read_buffer() { return read_buffer_; }
  std::mt19937_64& rng() { return rng_; }
  static int64_t now_us();
  // A slice of --size filler bytes (lowercase words), different per call.
  std::string_view filler();
  // The message scratch buffer bots format into (reused).
  std::string& scratch() { return scratch_; }
  // wss:// URLs: the client context every bot's TLS engine is made from (null: no TLS;
  // set before start()), and the buffer one read decrypts into (reused).
  void set_tls(std::shared_ptr<tls::TlsContext> ctx) { tls_ = std::move(ctx); }
  const tls::TlsContext* tls() const { return tls_.get(); }
  // --corpus: the texts bots send instead of filler() (null: filler; set before
  // add_bot()).
  void set_corpus(std::shared_ptr<const Corpus> corpus) { corpus_ = std::move(corpus); }
  const Corpus* corpus() const { return corpus_.get(); }
  std::string& tls_plain() { return tls_plain_; }
  void record_latency(int64_t us);
  // A message of this run reached a (not slow) member: send to arrival at any receiver.
  void record_delivery(int64_t us);
  void record_ping(int64_t us);
  void count_sent(uint32_t room) { ++room_sent_[room]; }
  // A message sent to `room` was refused (`unavailable`): nobody will receive it.
  void count_refused(uint32_t room) { ++room_refused_[room]; }
  // Messages of `room` whose sender lost its connection before seeing them back (+), or
  // saw them back after all (-). See RunTotals::Room::in_doubt.
  void add_in_doubt(uint32_t room, int64_t delta) {
    room_in_doubt_[room] =
        static_cast<uint64_t>(static_cast<int64_t>(room_in_doubt_[room]) + delta);
  }
  void count_received(uint32_t room, uint64_t n) { room_received_[room] += n; }
  void count_member(uint32_t room, int64_t delta, uint64_t received);
  // A bot received batch `batch_seq` of `room`: while measuring, widens the room's span
  // of batch seqs (distinct batches, however many members received each).
  void saw_batch(uint32_t room, uint64_t batch_seq) {
    if (measuring()) room_batches_[room].add(batch_seq);
  }
  // A connect attempt finished (opened or failed).
  void connect_resolved();
  void throttle(Bot& bot) { throttled_.push_back(&bot); }

 private:
  void run_thread();
  void apply_phases();
  void enter(Phase phase);
  void on_tick();
  void on_ping_tick();
  void publish();
  void publish_rooms();  // under mutex_, or before the thread starts
  void close_all_handles();

  static void async_cb(uv_async_t* handle);
  static void tick_cb(uv_timer_t* timer);
  static void ping_cb(uv_timer_t* timer);
  static void publish_cb(uv_timer_t* timer);

  const SwarmConfig& config_;
  const std::vector<WsUrl>& urls_;
  std::string run_;
  const std::vector<std::string>& rooms_;
  bool json_mode_;
  std::vector<uint8_t> v2_key_;
  uv_loop_t loop_{};
  uv_async_t async_{};
  uv_timer_t tick_timer_{};
  uv_timer_t ping_timer_{};
  uv_timer_t publish_timer_{};
  std::thread thread_;
  std::atomic<int> requested_phase_{static_cast<int>(Phase::kConnect)};
  Phase phase_ = Phase::kConnect;

  std::vector<std::unique_ptr<Bot>> bots_;
  size_t next_connect_ = 0;
  uint32_t connecting_ = 0;
  int64_t start_us_ = 0;
  uint64_t ping_tick_ = 0;
  std::vector<Bot*> throttled_;

  Counters counters_;
  Histogram latency_total_, latency_interval_, ping_total_, ping_interval_, delivery_total_;
  std::vector<uint64_t> room_sent_, room_refused_, room_in_doubt_, room_members_, room_received_;
  std::vector<SeqSpan> room_batches_;
  BatchCache cache_;
  FrameDecoder decoder_;
  std::vector<char> read_buffer_;
  std::mt19937_64 rng_;
  std::string filler_pool_;
  std::string scratch_;
  std::string tls_plain_;
  std::shared_ptr<tls::TlsContext> tls_;
  std::shared_ptr<const Corpus> corpus_;

  std::mutex mutex_;
  LoopSnapshot published_;
};

}  // namespace tg::bots
