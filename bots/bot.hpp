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
#include "bots/corpus.hpp"
#include "bots/frame_decoder.hpp"
#include "bots/run_totals.hpp"
#include "bots/seq_tracker.hpp"
#include "bots/token_bucket.hpp"
#include "bots/ws_url.hpp"
#include "client/handshake.hpp"
#include "client/ws_codec.hpp"
#include "tls/tls_stream.hpp"

namespace tg::bots {

class BotLoop;
struct DecodedBatch;
struct Notice;

// Lives on one BotLoop from construction to the loop's end (never freed while the
// loop runs, so late libuv callbacks always find it). Every method runs on that
// loop's thread.
//
// Connects to its URL (reconnect.hpp: first_url). While the run sends and drains, a
// connection its gateway dropped (reset, EOF, close 1001/1006/1011/1012/1013) is
// reopened on the next URL after a backoff, resuming the room from the last seq seen;
// attempts that fail are retried the same way until the drain ends. Otherwise, and
// with --no-reconnect, a lost connection is counted and final. A first connect
// refused with 503, or closed before its hello with one of those codes, is retried
// too, for at most --connect-timeout.
class Bot final : private client::WsCodec::Handler {
 public:
  enum class State {
    kIdle,
    kConnecting,
    kHandshaking,
    kAwaitingHello,
    kOpen,
    kClosing,
    kBackoff,  // waiting to try again (a reconnect, or a first connect refused with 503)
    kClosed,
  };

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
  // Starts the WebSocket close handshake (1000) if open; gives up a reconnect under way.
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

  const WsUrl& url() const;
  // One connection attempt to the current URL (a first connect or a reconnect).
  void attempt();
  void on_connected(int status);
  void on_read(ssize_t nread, const uv_buf_t* buf);
  void on_bytes(std::span<const uint8_t> bytes);
  // wss://: ciphertext read from the socket, decrypted into on_bytes().
  void on_tls_bytes(const char* data, size_t len);
  void on_handshake_bytes(std::span<const uint8_t> bytes);
  void on_ws_message(bool binary, std::span<const uint8_t> data) override;
  void on_ws_close(uint16_t status) override;
  // The WebSocket is open (hello seen, or upgraded in --sink mode).
  void opened();
  void count_batch_frame(size_t bytes);
  void on_batch(const DecodedBatch& batch);
  void count_resumed(const DecodedBatch& batch, uint64_t fresh_from);
  void on_notice(const Notice& notice);
  void on_hello(const Notice& notice);
  void on_unavailable(const Notice& notice);
  void on_echoes(const DecodedBatch& batch, uint64_t fresh_from);
  // One of this bot's messages, sent at `sent_us`, came back or was refused.
  void settle(int64_t sent_us);
  void on_timer();
  void send_message(int64_t now_us);
  void send_text(std::string_view text);
  void flush();
  void fail_connect();
  // `protocol_error`: the stream itself was broken (a bug somewhere, not a node
  // failure), so the connection is not reopened.
  void lost_connection(bool protocol_error = false);
  // The gateway went away: count what this connection left unconfirmed, then retry.
  void begin_reconnect();
  // Closes the transport and waits a backoff before the next attempt, on the next URL.
  void retry_later();
  void on_retry();
  // The run ended (or the bot may no longer reconnect) while it was trying: final.
  void give_up();
  // Closes this connection's TCP handle (asynchronously) and forgets its buffers.
  void drop_transport();
  // The bot stops counting towards expected deliveries (it can no longer be checked).
  void uncount();
  void arm_timer(uint64_t ms);
  void set_closed();
  void add_seq_deltas(const SeqTracker& before);

  static void connect_cb(uv_connect_t* req, int status);
  static void alloc_cb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void timer_cb(uv_timer_t* timer);
  static void tcp_close_cb(uv_handle_t* handle);

  BotLoop& loop_;
  BotSpec spec_;
  Corpus::Walk corpus_walk_;  // --corpus: this bot's order through the texts
  State state_ = State::kIdle;
  uv_tcp_t tcp_{};
  uv_connect_t connect_req_{};
  uv_timer_t timer_{};
  bool tcp_open_ = false;  // initialised and not yet closed (the close callback clears it)
  bool timer_open_ = false;
  bool writing_ = false;
  bool reading_ = false;
  bool counted_ = false;
  bool sending_ = false;
  int64_t connect_started_us_ = 0;
  // Connections and reconnection. conn_gen_ tells a stale libuv callback (a write of a
  // connection since dropped) from a current one.
  size_t url_index_ = 0;
  uint32_t attempt_ = 0;       // failed attempts in a row: the backoff's exponent
  bool reconnecting_ = false;  // the attempt under way reopens a dropped connection
  int64_t first_attempt_us_ = 0;
  uint64_t conn_gen_ = 0;
  // tidegate.v2.zstd: where this bot is in its room's stream: the hash of the keyframe
  // frame it started from and how many frames followed. Two frames of one stream can be
  // byte for byte equal (back-references, a one-digit literal), so the BatchCache key
  // adds this place to the bytes, and a cache miss is decoded at this place (the loop
  // keeps a decoder per keyframe: a replay from an older one is decoded on its own).
  FrameDecoder::V2Place v2_place_;
  std::span<const uint8_t> v2_cache_key(std::span<const uint8_t> frame);
  bool got_close_ = false;  // the peer sent a close frame, with close_status_
  uint16_t close_status_ = 0;
  // Own messages: what this connection sent and saw back or refused; messages of dropped
  // connections not yet seen back (RunTotals::Room::in_doubt).
  int64_t conn_opened_us_ = 0;
  uint64_t sent_on_conn_ = 0;
  uint64_t settled_on_conn_ = 0;
  uint64_t in_doubt_ = 0;
  uint64_t refused_ = 0;
  // After a reconnect, until the replay is over: counts resumed messages.
  bool counting_resumed_ = false;
  std::unique_ptr<client::Handshake> handshake_;
  std::unique_ptr<client::WsCodec> codec_;
  // wss://: the TLS engine between the socket and out_/on_bytes (one per connection).
  std::unique_ptr<tls::TlsStream> tls_;
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
