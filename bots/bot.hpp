// bot.hpp -- one simulated chat client: a TCP connection, a WebSocket session and its bookkeeping.
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "bots/bot_spec.hpp"
#include "bots/run_totals.hpp"
#include "bots/seq_tracker.hpp"
#include "bots/token_bucket.hpp"
#include "client/handshake.hpp"
#include "client/ws_codec.hpp"

namespace tg::bots {

class BotLoop;
struct DecodedBatch;
struct Notice;

// Lives on one BotLoop from construction to the loop's end (never freed while the
// loop runs, so late libuv callbacks always find it). Every method runs on that
// loop's thread. Connects once; a lost connection is counted, never retried.
class Bot final : private client::WsCodec::Handler {
 public:
  enum class State { kIdle, kConnecting, kHandshaking, kAwaitingHello, kOpen, kClosing, kClosed };

  Bot(BotLoop& loop, const BotSpec& spec);
  Bot(const Bot&) = delete;
  Bot& operator=(const Bot&) = delete;

  // Opens the TCP connection (socket, optional bind to 127.0.0.k, connect). Failures
  // are counted as connect failures and reported to the loop as resolved.
  void connect();
  // Starts sending at --rate from `now_us`, at a random phase within one period.
  void start_sending(int64_t now_us);
  void stop_sending();
  // Sends {"t":"ping","id":N} if open.
  void send_ping(int64_t now_us);
  // Marks the bot as one that must receive everything sent from now on (open, not slow).
  void count_from_now();
  // Starts the WebSocket close handshake (1000) if open.
  void close_gracefully();
  // Closes every libuv handle; the bot is then inert.
  void close_handles();
  // Fails the connection attempt if it has not opened by `deadline_us` after it began.
  void check_connect_timeout(int64_t now_us, int64_t timeout_us);
  // For a throttled slow reader: resumes reading once its budget allows.
  bool try_resume_reading(int64_t now_us);

  State state() const { return state_; }
  bool counted() const { return counted_; }
  const BotSpec& spec() const { return spec_; }
  // The bot's final accounting (after the loop stopped).
  RunTotals::Client tally() const;

 private:
  struct WriteReq;

  void on_connected(int status);
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void on_bytes(std::span<const uint8_t> bytes);
  void on_handshake_bytes(std::span<const uint8_t> bytes);
  void on_ws_message(bool binary, std::span<const uint8_t> data) override;
  void on_ws_close(uint16_t status) override;
  // The WebSocket is open (hello seen, or upgraded in --sink mode).
  void opened();
  void count_batch_frame(size_t bytes);
  void on_batch(const DecodedBatch& batch);
  void on_notice(const Notice& notice);
  void on_echoes(const DecodedBatch& batch);
  void on_timer();
  void send_message(int64_t now_us);
  void send_text(std::string_view text);
  void flush();
  void fail_connect();
  void lost_connection();
  void set_closed();
  void add_seq_deltas(const SeqTracker& before);

  static void connect_cb(uv_connect_t* req, int status);
  static void alloc_cb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void timer_cb(uv_timer_t* timer);

  BotLoop& loop_;
  BotSpec spec_;
  State state_ = State::kIdle;
  uv_tcp_t tcp_{};
  uv_connect_t connect_req_{};
  uv_timer_t timer_{};
  bool tcp_open_ = false;
  bool timer_open_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool counted_ = false;
  bool sending_ = false;
  int64_t connect_started_us_ = 0;
  std::unique_ptr<client::Handshake> handshake_;
  std::unique_ptr<client::WsCodec> codec_;
  std::optional<TokenBucket> read_budget_;
  std::string out_;
  SeqTracker seq_;
  int64_t send_start_us_ = 0;
  uint64_t sent_in_phase_ = 0;
  uint64_t sent_ = 0;
  uint64_t echoed_ = 0;
  uint64_t received_ = 0;
  uint64_t ping_id_ = 0;
  std::array<int64_t, 8> ping_sent_us_{};
};

}  // namespace tg::bots
