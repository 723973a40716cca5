// bot.cpp -- connection lifecycle, reading and writing of one simulated client (what it
// does with what it receives is in bot_receive.cpp).
#include "bots/bot.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>

#include "bots/bot_loop.hpp"
#include "bots/cid.hpp"
#include "bots/reconnect.hpp"
#include "http/request.hpp"

namespace tg::bots {
namespace {

constexpr int kSlowRecvBuffer = 16384;       // small kernel buffer: backpressure reaches the server
constexpr uint64_t kMaxBurst = 1000;         // messages one timer turn may catch up on
constexpr uint16_t kUnreportedClose = 1013;  // see on_bytes
// What browsers offer (RFC 7692 7.1.2.2: client_max_window_bits without a value says the
// client could honour a smaller window; the gateway does not answer it).
constexpr const char* kDeflateOffer = "permessage-deflate; client_max_window_bits";

// Whether the 101's Sec-WebSocket-Extensions accepted permessage-deflate without
// context takeover on the server's side: the bots inflate every message on its own.
bool deflate_accepted(std::string_view answer) {
  const auto semi = answer.find(';');
  if (http::trim(answer.substr(0, semi)) != "permessage-deflate") return false;
  if (answer.find(',') != std::string_view::npos) return false;  // one extension only
  return semi != std::string_view::npos &&
         answer.find("server_no_context_takeover", semi) != std::string_view::npos;
}

// A non-blocking TCP socket, optionally bound to 127.0.0.k without reserving a port
// (IP_BIND_ADDRESS_NO_PORT, Linux 4.2: the port is chosen at connect time per 4-tuple).
int open_socket(const BotSpec& spec) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (spec.slow) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSlowRecvBuffer, sizeof kSlowRecvBuffer);
  }
  if (spec.source_ip != 0) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl((127u << 24) | (spec.source_ip & 0xFFFFFFu));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

}  // namespace

struct Bot::WriteReq {
  uv_write_t req{};
  Bot* bot = nullptr;
  uint64_t gen = 0;  // the connection it was written on
  std::string data;
};

Bot::Bot(BotLoop& loop, const BotSpec& spec)
    : loop_(loop), spec_(spec), url_index_(first_url(spec.id, loop.url_count())) {
  if (const Corpus* corpus = loop.corpus()) {
    corpus_walk_ = corpus->walk(loop.config().corpus_seed, spec.id);
  }
  tcp_.data = this;
  connect_req_.data = this;
  timer_.data = this;
}

const WsUrl& Bot::url() const {
  return loop_.url(url_index_);
}

void Bot::connect() {
  first_attempt_us_ = BotLoop::now_us();
  attempt();
}

void Bot::attempt() {
  state_ = State::kConnecting;
  connect_started_us_ = BotLoop::now_us();
  got_close_ = false;
  close_status_ = 0;
  handshake_.reset();  // a previous attempt's answer must not decide about this one
  codec_.reset();
  tls_.reset();
  const int fd = open_socket(spec_);
  if (fd < 0) return fail_connect();
  if (uv_tcp_init(loop_.uv(), &tcp_) != 0) {
    ::close(fd);
    return fail_connect();
  }
  tcp_open_ = true;
  if (uv_tcp_open(&tcp_, fd) != 0) {
    ::close(fd);  // uv_tcp_open failed: the handle does not own fd
    return fail_connect();
  }
  uv_tcp_nodelay(&tcp_, 1);
  const auto* addr = reinterpret_cast<const sockaddr*>(&url().address);
  if (uv_tcp_connect(&connect_req_, &tcp_, addr, &Bot::connect_cb) != 0) fail_connect();
}

void Bot::connect_cb(uv_connect_t* req, int status) {
  static_cast<Bot*>(req->data)->on_connected(status);
}

void Bot::on_connected(int status) {
  if (state_ != State::kConnecting) return;  // timed out or closed meanwhile
  if (status < 0) return fail_connect();
  std::array<uint8_t, 16> key{};
  for (auto& b : key) b = static_cast<uint8_t>(loop_.rng()());
  // A reconnect resumes the room where this bot's stream stopped (PROTOCOL.md: since,
  // epoch); the bots claim no names, so none is sent.
  const ResumePoint resume{seq_.resume_since(), seq_.epoch()};
  const bool resuming = reconnecting_ && seq_.started();
  const std::string target =
      ws_target(url().path, loop_.room_name(spec_.room), resuming ? &resume : nullptr);
  const std::string& sub = loop_.config().subprotocol;
  std::string proto = sub == "v2" ? "tidegate.v2.zstd" : "tidegate.v1." + sub;
  std::string extensions;
  if (sub == "deflate") {
    // A browser's offer, and no sub-protocol: the gateway deflates only for clients that
    // name none (PROTOCOL.md, permessage-deflate).
    proto.clear();
    extensions = kDeflateOffer;
  }
  handshake_ = std::make_unique<client::Handshake>(url().authority(), target, proto, key,
                                                   std::move(extensions));
  state_ = State::kHandshaking;
  if (spec_.slow) {
    const double rate = loop_.config().slow_read_bps;
    read_budget_.emplace(rate, std::max(rate / 20.0, 1500.0), BotLoop::now_us());
  }
  out_ += handshake_->request();
  if (url().tls) {
    // The request waits in out_ until the TLS handshake is done (flush).
    tls_ = std::make_unique<tls::TlsStream>(loop_.tls()->get(), false, url().host);
    tls_->start();
  }
  flush();
  if (state_ != State::kHandshaking) return;  // the write failed
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Bot::alloc_cb, &Bot::read_cb) != 0) {
    return fail_connect();
  }
  reading_ = true;
}

void Bot::alloc_cb(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto& bot = *static_cast<Bot*>(handle->data);
  std::span<char> space = bot.loop_.read_buffer();
  size_t len = space.size();
  if (bot.read_budget_) {
    len = std::clamp<size_t>(bot.read_budget_->available(BotLoop::now_us()), 1, len);
  }
  *buf = uv_buf_init(space.data(), static_cast<unsigned>(len));
}

void Bot::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  static_cast<Bot*>(stream->data)->on_read(nread, buf);
}

void Bot::on_read(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0) return;
  if (nread < 0) return lost_connection();  // UV_EOF or a socket error
  const auto n = static_cast<size_t>(nread);
  if (loop_.measuring()) loop_.counters().bytes += n;
  if (read_budget_) {
    read_budget_->consume(n);
    if (read_budget_->available(BotLoop::now_us()) == 0) {
      uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
      reading_ = false;
      loop_.throttle(*this);
    }
  }
  if (tls_) return on_tls_bytes(buf->base, n);
  on_bytes({reinterpret_cast<const uint8_t*>(buf->base), n});
}

void Bot::on_tls_bytes(const char* data, size_t len) {
  std::string& plain = loop_.tls_plain();
  plain.clear();
  const uint64_t gen = conn_gen_;
  switch (tls_->feed(data, len, plain)) {
    case tls::TlsStream::Status::kFailed:
      ++loop_.counters().errors;
      if (state_ == State::kConnecting || state_ == State::kHandshaking) return fail_connect();
      return lost_connection(true);
    case tls::TlsStream::Status::kClosed:
    case tls::TlsStream::Status::kOk:
      break;
  }
  if (!plain.empty()) on_bytes({reinterpret_cast<const uint8_t*>(plain.data()), plain.size()});
  if (gen != conn_gen_ || state_ == State::kClosed) return;
  flush();  // the handshake's next flight, or the upgrade request once it is done
}

bool Bot::try_resume_reading(int64_t now_us) {
  if (reading_ || !tcp_open_ || state_ == State::kClosed || state_ == State::kBackoff) return true;
  if (read_budget_ && read_budget_->available(now_us) == 0) return false;
  reading_ =
      uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Bot::alloc_cb, &Bot::read_cb) == 0;
  return true;
}

void Bot::on_bytes(std::span<const uint8_t> bytes) {
  if (state_ == State::kHandshaking) return on_handshake_bytes(bytes);
  if (!codec_) return;
  const uint64_t gen = conn_gen_;
  const bool ok = codec_->feed(bytes);
  if (gen != conn_gen_ || state_ == State::kClosed) return;
  if (!ok) {
    ++loop_.counters().errors;
    return lost_connection(true);
  }
  if (!codec_->drain(out_)) return lost_connection(true);
  flush();
  if (gen != conn_gen_) return;  // the write failed and dropped the connection
  if (!codec_->finished()) return;
  if (!got_close_) {
    // wslay (1.1.1) takes only the close codes RFC 6455 listed: any other, 1012 and 1013
    // among them, it answers with 1002 and never reports. A gateway sends 1013 when it
    // cannot serve now (try again later) and 1012 when it restarts, so such a close is
    // taken as one of those.
    got_close_ = true;
    close_status_ = kUnreportedClose;
  }
  lost_connection();
}

void Bot::on_handshake_bytes(std::span<const uint8_t> bytes) {
  switch (handshake_->feed(bytes)) {
    case client::Handshake::State::kNeedMore:
      return;
    case client::Handshake::State::kFailed:
      return fail_connect();
    case client::Handshake::State::kDone:
      break;
  }
  const bool deflate = loop_.config().subprotocol == "deflate";
  if (deflate && !deflate_accepted(handshake_->extensions())) {
    // Measuring plain JSON under the name deflate would be a lie: the attempt fails.
    ++loop_.counters().errors;
    static std::atomic<bool> said{false};  // once per run, from whichever loop sees it first
    if (!said.exchange(true)) {
      std::fprintf(stderr,
                   "tidegate-bots: the gateway did not accept permessage-deflate "
                   "(Sec-WebSocket-Extensions: \"%.*s\"): connection failed\n",
                   static_cast<int>(handshake_->extensions().size()),
                   handshake_->extensions().data());
    }
    return fail_connect();
  }
  const std::string rest(reinterpret_cast<const char*>(handshake_->leftover().data()),
                         handshake_->leftover().size());
  handshake_.reset();
  client::WsCodec::Handler& handler = *this;  // private base: convert here, not in make_unique
  codec_ = std::make_unique<client::WsCodec>(handler, loop_.rng()());
  // The bot's own messages go uncompressed (RFC 7692 lets each message choose): only
  // the gateway's side of deflate is measured.
  if (deflate) codec_->allow_rsv1();
  state_ = State::kAwaitingHello;
  if (loop_.config().sink) opened();  // a sink expects no hello
  if (!rest.empty()) on_bytes({reinterpret_cast<const uint8_t*>(rest.data()), rest.size()});
}

void Bot::opened() {
  state_ = State::kOpen;
  ++loop_.counters().connected;
  conn_opened_us_ = BotLoop::now_us();
  sent_on_conn_ = 0;
  settled_on_conn_ = 0;
  attempt_ = 0;
  if (!reconnecting_) {
    ++loop_.counters().connects;
    loop_.connect_resolved();
    return;
  }
  reconnecting_ = false;
  ++loop_.counters().reconnects;
  --loop_.counters().reconnecting;
  counting_resumed_ = true;
  if (loop_.sending()) start_sending(conn_opened_us_);
}

void Bot::start_sending(int64_t now_us) {
  if (!spec_.sender || state_ != State::kOpen || loop_.config().rate <= 0) return;
  const double period_us = 1e6 / loop_.config().rate;
  const auto offset =
      static_cast<int64_t>(std::uniform_real_distribution<double>(0.0, period_us)(loop_.rng()));
  send_start_us_ = now_us + offset;
  sent_in_phase_ = 0;
  sending_ = true;
  arm_timer(static_cast<uint64_t>(offset / 1000));
}

void Bot::stop_sending() {
  sending_ = false;
  if (state_ == State::kBackoff) return;  // the timer counts down the backoff now: keep it
  if (timer_open_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) {
    uv_timer_stop(&timer_);
  }
}

void Bot::arm_timer(uint64_t ms) {
  if (!timer_open_) {
    uv_timer_init(loop_.uv(), &timer_);
    timer_open_ = true;
  }
  uv_timer_start(&timer_, &Bot::timer_cb, ms, 0);
}

void Bot::timer_cb(uv_timer_t* timer) {
  // One timer per bot: it paces sends while open and the backoff while reconnecting.
  auto* bot = static_cast<Bot*>(timer->data);
  if (bot->state_ == State::kBackoff) return bot->on_retry();
  bot->on_timer();
}

void Bot::on_timer() {
  if (!sending_ || state_ != State::kOpen) return;
  const int64_t now = BotLoop::now_us();
  const double period_us = 1e6 / loop_.config().rate;
  const double elapsed = static_cast<double>(now - send_start_us_);
  const auto due = static_cast<uint64_t>(std::max(0.0, elapsed / period_us)) + 1;
  for (uint64_t i = 0; sent_in_phase_ < due && i < kMaxBurst && state_ == State::kOpen; ++i) {
    send_message(now);
    ++sent_in_phase_;
  }
  if (!sending_ || state_ != State::kOpen) return;  // a write failed and dropped the connection
  const double next_us = static_cast<double>(send_start_us_) +
                         static_cast<double>(sent_in_phase_) * period_us - static_cast<double>(now);
  const auto wait_ms = static_cast<uint64_t>(std::max(0.0, std::ceil(next_us / 1000.0)));
  uv_timer_start(&timer_, &Bot::timer_cb, wait_ms, 0);
}

void Bot::send_message(int64_t now_us) {
  std::string& text = loop_.scratch();
  text.assign(R"({"t":"msg","text":")");
  if (const Corpus* corpus = loop_.corpus()) {
    text += corpus->text(corpus_walk_, sent_);
  } else {
    text += loop_.filler();
  }
  text += R"(","cid":")";
  Cid{spec_.id, now_us}.format(loop_.run(), text);
  text += "\"}";
  ++sent_;
  ++sent_on_conn_;
  ++loop_.counters().messages_sent;
  loop_.count_sent(spec_.room);
  send_text(text);
}

void Bot::send_ping(int64_t now_us) {
  if (state_ != State::kOpen) return;
  ++ping_id_;
  ping_sent_us_[ping_id_ % ping_sent_us_.size()] = now_us;
  std::string& text = loop_.scratch();
  text.assign(R"({"t":"ping","id":)");
  text += std::to_string(ping_id_);
  text += '}';
  send_text(text);
  ++loop_.counters().pings_sent;
}

void Bot::send_text(std::string_view text) {
  if (!codec_->queue_text(text) || !codec_->drain(out_)) return lost_connection();
  flush();
}

void Bot::flush() {
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  if (writing_ || !tcp_open_ || state_ == State::kClosed || state_ == State::kBackoff ||
      uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) {
    return;
  }
  // wss://: what goes on the wire is the engine's ciphertext; out_'s plaintext is
  // encrypted into it once the handshake is done.
  if (tls_ && tls_->handshake_done() && !out_.empty()) {
    if (!tls_->write(out_.data(), out_.size())) return lost_connection(true);
    out_.clear();
  }
  std::string& wire = tls_ ? tls_->pending() : out_;
  if (wire.empty()) return;
  uv_buf_t buf = uv_buf_init(wire.data(), static_cast<unsigned>(wire.size()));
  int n = uv_try_write(stream, &buf, 1);
  if (n == UV_EAGAIN || n == UV_ENOSYS) n = 0;
  if (n < 0) return lost_connection();
  wire.erase(0, static_cast<size_t>(n));
  if (wire.empty()) return;
  auto* req = new WriteReq;
  req->bot = this;
  req->gen = conn_gen_;
  req->data.swap(wire);
  req->req.data = req;
  buf = uv_buf_init(req->data.data(), static_cast<unsigned>(req->data.size()));
  if (uv_write(&req->req, stream, &buf, 1, &Bot::write_cb) != 0) {
    delete req;
    return lost_connection();
  }
  writing_ = true;
}

void Bot::write_cb(uv_write_t* req, int status) {
  std::unique_ptr<WriteReq> owned(static_cast<WriteReq*>(req->data));
  Bot& bot = *owned->bot;
  if (owned->gen != bot.conn_gen_) return;  // a dropped connection's write, cancelled
  bot.writing_ = false;
  if (status < 0) return bot.lost_connection();
  bot.flush();
}

void Bot::count_from_now() {
  if (state_ != State::kOpen || spec_.slow || loop_.config().sink) return;
  counted_ = true;
  loop_.count_member(spec_.room, +1, 0);
}

void Bot::uncount() {
  if (!counted_) return;
  counted_ = false;
  loop_.count_member(spec_.room, -1, received_);
}

void Bot::close_gracefully() {
  if (state_ == State::kBackoff ||
      (reconnecting_ && (state_ == State::kConnecting || state_ == State::kHandshaking ||
                         state_ == State::kAwaitingHello))) {
    return give_up();
  }
  if (state_ != State::kOpen) return;
  stop_sending();
  state_ = State::kClosing;
  // A sink's peer speaks no WebSocket back: closing the socket is the whole goodbye.
  if (loop_.config().sink) return lost_connection();
  if (codec_->queue_close(1000) && codec_->drain(out_)) flush();
}

void Bot::check_connect_timeout(int64_t now_us, int64_t timeout_us) {
  const bool opening = state_ == State::kConnecting || state_ == State::kHandshaking ||
                       state_ == State::kAwaitingHello;
  if (opening && now_us - connect_started_us_ > timeout_us) fail_connect();
}

void Bot::fail_connect() {
  const bool opening = state_ == State::kConnecting || state_ == State::kHandshaking ||
                       state_ == State::kAwaitingHello;
  if (!opening) return;
  if (reconnecting_) {
    ++loop_.counters().reconnect_failures;
    return loop_.may_reconnect() ? retry_later() : give_up();
  }
  ++loop_.counters().connect_failures;
  // 503: the gateway is full or cannot serve the room right now (PROTOCOL.md); a close
  // before hello with a code such as 1013 (try again later: a cluster node whose
  // backplane is down) says the same. Another try, maybe on another node, may get past.
  const bool busy = (handshake_ && handshake_->status() == 503) ||
                    (got_close_ && reconnect_after_close(close_status_));
  const auto budget_us = static_cast<int64_t>(loop_.config().connect_timeout * 1e6);
  if (busy && loop_.config().reconnect && !loop_.config().sink && loop_.phase() < Phase::kClose &&
      BotLoop::now_us() - first_attempt_us_ < budget_us) {
    return retry_later();
  }
  loop_.connect_resolved();
  set_closed();
}

void Bot::lost_connection(bool protocol_error) {
  Counters& c = loop_.counters();
  switch (state_) {
    case State::kIdle:
    case State::kBackoff:
    case State::kClosed:
      return;
    case State::kConnecting:
    case State::kHandshaking:
    case State::kAwaitingHello:
      return fail_connect();
    case State::kOpen:
      if (!protocol_error && loop_.may_reconnect() &&
          (!got_close_ || reconnect_after_close(close_status_))) {
        return begin_reconnect();
      }
      // Not asked for and not coming back: the client no longer counts towards
      // expected deliveries.
      ++c.disconnects;
      if (got_close_) {
        ++c.server_closes;
        if (close_status_ == 1008) ++c.policy_closes;  // PROTOCOL.md: slow consumer
      }
      uncount();
      [[fallthrough]];
    case State::kClosing:
      --c.connected;
      set_closed();
  }
}

void Bot::begin_reconnect() {
  --loop_.counters().connected;
  ++loop_.counters().reconnecting;
  stop_sending();
  // What this connection sent and never saw back may or may not have reached the
  // server: in doubt until the resume's replay shows it (settle) or the run ends.
  const uint64_t unsettled = sent_on_conn_ - std::min(sent_on_conn_, settled_on_conn_);
  if (unsettled > 0) {
    in_doubt_ += unsettled;
    loop_.add_in_doubt(spec_.room, static_cast<int64_t>(unsettled));
  }
  sent_on_conn_ = 0;
  settled_on_conn_ = 0;
  reconnecting_ = true;
  counting_resumed_ = false;
  attempt_ = 0;
  retry_later();
}

void Bot::retry_later() {
  drop_transport();
  state_ = State::kBackoff;
  url_index_ = next_url(url_index_, loop_.url_count());
  const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(loop_.rng());
  arm_timer(static_cast<uint64_t>(backoff_delay_ms(attempt_++, unit)));
}

void Bot::on_retry() {
  const bool allowed = reconnecting_ ? loop_.may_reconnect() : loop_.phase() < Phase::kClose;
  if (!allowed) return give_up();
  // The old handle must be closed before uv_tcp_init may reuse it; its close callback
  // runs on the loop turn after uv_close, long before a backoff ends, but be sure.
  if (tcp_open_) return arm_timer(5);
  attempt();
}

void Bot::give_up() {
  if (state_ == State::kClosed) return;
  if (reconnecting_) {
    ++loop_.counters().disconnects;  // dropped, and never came back
    --loop_.counters().reconnecting;
    uncount();
  } else {
    loop_.connect_resolved();
  }
  set_closed();
}

void Bot::drop_transport() {
  ++conn_gen_;
  auto* handle = reinterpret_cast<uv_handle_t*>(&tcp_);
  if (tcp_open_ && !uv_is_closing(handle)) uv_close(handle, &Bot::tcp_close_cb);
  reading_ = false;
  writing_ = false;
  out_.clear();
  read_budget_.reset();
}

void Bot::tcp_close_cb(uv_handle_t* handle) {
  static_cast<Bot*>(handle->data)->tcp_open_ = false;
}

void Bot::set_closed() {
  state_ = State::kClosed;
  stop_sending();
  close_handles();
}

void Bot::close_handles() {
  auto* tcp = reinterpret_cast<uv_handle_t*>(&tcp_);
  if (tcp_open_ && !uv_is_closing(tcp)) uv_close(tcp, &Bot::tcp_close_cb);
  if (timer_open_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  }
}

RunTotals::Client Bot::tally() const {
  RunTotals::Client c;
  c.room = spec_.room;
  c.counted = counted_;
  c.slow = spec_.slow;
  c.received = received_;
  c.announced = seq_.announced();
  c.hole_msgs = seq_.hole_msgs();
  return c;
}

}  // namespace tg::bots
