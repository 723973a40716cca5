// connection.cpp -- a client's connection: reading, the HTTP phase, closing. The
// WebSocket commands are in connection_commands.cpp, the write path in
// connection_writes.cpp.
#include "gateway/connection.hpp"

#include "common/log.hpp"
#include "common/memory.hpp"
#include "gateway/assets.hpp"
#include "gateway/shard.hpp"
#include "http/response.hpp"
#include "metrics/gateway_stats.hpp"
#include "protocol/notice.hpp"

namespace tg::gateway {

namespace {
constexpr uint64_t kLingerMs = 2000;      // wait for the peer's FIN after our last bytes
constexpr uint64_t kFloodCloseMs = 5000;  // refused this long without a pause: close 1008

Connection* self_of(uv_handle_t* h) {
  return static_cast<Connection*>(h->data);
}

std::string peer_name(const sockaddr_storage& ss) {
  char host[64] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    uv_ip4_name(a, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(a, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

// Heap bytes behind a string: none while it fits in the object (short string).
size_t heap_bytes(const std::string& s) {
  return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
}
}  // namespace

Connection::Connection(Shard& shard, uint64_t id)
    : shard_(shard),
      id_(id),
      limiter_(shard.config().rate_limit, shard.config().rate_burst, kFloodCloseMs) {}

void Connection::accept(uv_stream_t* listener) {
  uv_tcp_init(shard_.loop(), &tcp_);
  uv_timer_init(shard_.loop(), &timer_);
  tcp_.data = timer_.data = shutdown_req_.data = out_.req.data = this;
  open_handles_ = 2;
  shard_.add_connection(this);
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
    abort(CloseReason::kIoError);
    return;
  }
  uv_tcp_nodelay(&tcp_, 1);
  if (shard_.config().socket_sndbuf > 0) {
    int size = shard_.config().socket_sndbuf;
    uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(&tcp_), &size);
  }
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    peer_ = peer_name(ss);
    addr_ = addr_key(ss);
  } else {
    peer_ = "unknown";
  }
  ticket_ = shard_.admission().admit(addr_);
  if (ticket_.verdict != Admission::Verdict::kAdmit && !ticket_.answer) {
    shard_.note_refused(ticket_.verdict);  // so many refusals under way: not answered
    abort(CloseReason::kOverLimit);
    return;
  }
  opened_ms_ = uv_now(shard_.loop());
  if (shard_.tls()) tls_ = std::make_unique<tls::TlsStream>(shard_.tls()->get(), true);
  http_ = std::make_unique<http::HttpRequestParser>(shard_.config().max_header_bytes);
  uv_timer_start(&timer_, timer_cb, shard_.config().handshake_timeout_ms, 0);
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), alloc_cb, read_cb);
}

void Connection::alloc_cb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  *buf = self_of(h)->shard_.read_buffer();
}

void Connection::read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = self_of(reinterpret_cast<uv_handle_t*>(s));
  if (nread > 0) {
    if (self->tls_)
      self->on_tls_read(buf->base, static_cast<size_t>(nread));
    else
      self->on_read(buf->base, static_cast<size_t>(nread));
  } else if (nread < 0) {
    // While lingering the reason was decided already; the peer's FIN only ends it.
    CloseReason eof = self->lingering_ ? self->close_reason_ : CloseReason::kClient;
    self->abort(nread == UV_EOF ? eof : CloseReason::kIoError);
  }
}

void Connection::on_read(const char* data, size_t len) {
  active_ = true;
  switch (state_) {
    case State::kHttp:
      on_http(data, len);
      break;
    case State::kOpen:
    case State::kClosing: {
      if (!ws_) return;  // an HTTP response is on its way out; ignore the rest
      last_heard_ms_ = uv_now(shard_.loop());
      idle_pinged_ = false;
      auto fed = ws_->feed(reinterpret_cast<const uint8_t*>(data), len, ctrl_);
      if (!fed) {  // wslay failed the session; write its close frame, then drop
        close_reason_ = reason_for_close_sent();
        state_ = State::kClosing;
        close_after_write_ = true;
        pump();
        return;
      }
      if (ws_->close_sent() && state_ == State::kOpen) {
        state_ = State::kClosing;
        close_after_write_ = true;
        close_reason_ = reason_for_close_sent();
      }
      if (ws_->close_received() && ws_->close_sent() && ctrl_.empty() && !out_.busy) {
        abort(close_reason_);  // close handshake complete, nothing left to write
        return;
      }
      pump();
      break;
    }
    case State::kDead:
      break;
  }
}

void Connection::on_tls_read(const char* data, size_t len) {
  if (state_ == State::kDead) return;
  // Our last bytes are out (only the peer's FIN is awaited), or the engine failed and
  // its answer is on its way: what else arrives is not read (nor counted again).
  if (lingering_ || tls_->failure() != tls::Failure::kNone) return;
  bool was_done = tls_->handshake_done();
  std::string& plain = shard_.tls_plain();
  plain.clear();
  tls::TlsStream::Status st = tls_->feed(data, len, plain);
  if (!was_done && tls_->handshake_done()) {
    shard_.counters().tls_handshakes[slot(metrics::TlsHandshakeResult::kOk)].add();
    if (log_enabled(LogLevel::kTrace))
      log_fields(LogLevel::kTrace,
                 {{"event", "tls"}, {"conn", id_}, {"peer", peer_}, {"version", tls_->version()}},
                 "conn %lu: %s %s", id_, tls_->version(), tls_->cipher());
  }
  if (st == tls::TlsStream::Status::kFailed) {
    tls_failed();
    return;
  }
  if (!plain.empty()) on_read(plain.data(), plain.size());
  if (st == tls::TlsStream::Status::kClosed && state_ != State::kDead) {
    abort(CloseReason::kClient);  // close_notify: the peer sends nothing more
    return;
  }
  pump();  // handshake replies, session tickets
}

void Connection::tls_failed() {
  tls::Failure why = tls_->failure();
  if (!tls_->handshake_done()) {
    auto result = why == tls::Failure::kPlaintextHttp ? metrics::TlsHandshakeResult::kPlaintextHttp
                                                      : metrics::TlsHandshakeResult::kFailed;
    shard_.counters().tls_handshakes[slot(result)].add();
  }
  if (log_enabled(LogLevel::kDebug))
    log_fields(LogLevel::kDebug,
               {{"event", "tls_failed"},
                {"conn", id_},
                {"peer", peer_},
                {"failure", tls::failure_name(why)},
                {"reason", tls_->reason()}},
               "conn %lu: TLS %s: %s", id_, tls::failure_name(why), tls_->reason().c_str());
  if (state_ != State::kHttp) {  // a bad record mid-stream: nothing more can be sent
    abort(CloseReason::kTlsError);
    return;
  }
  // Sent as they are: OpenSSL's alert, or (like nginx's 497) a plaintext answer that
  // tells a person or a script what went wrong.
  if (why == tls::Failure::kPlaintextHttp)
    tls_->pending() = http::http_response(
        400, "text/plain; charset=utf-8",
        "this port speaks TLS: use https:// (or wss:// for the WebSocket)\n", {}, true);
  uv_timer_stop(&timer_);
  http_.reset();
  close_reason_ = CloseReason::kTlsError;
  state_ = State::kClosing;
  close_after_write_ = true;
  pump();
}

// Why the session is ending, from the close code we sent (RFC 6455 7.4.1).
CloseReason Connection::reason_for_close_sent() const {
  uint16_t code = ws_->close_code_sent();
  if (code == 1009) return CloseReason::kTooBig;     // over --max-message-bytes (wslay)
  if (code == 1008) return CloseReason::kRateLimit;  // flooding (on_ws_text)
  if (code == 1000 || ws_->close_received()) return CloseReason::kClient;
  return CloseReason::kProtocol;
}

void Connection::on_http(const char* data, size_t len) {
  size_t used = 0;
  auto st = http_->feed(data, len, &used);
  if (st == http::HttpRequestParser::State::kIncomplete) return;
  if (st == http::HttpRequestParser::State::kError) {
    close_reason_ = CloseReason::kHttpError;
    shard_.counters().handshake_failed[ws::handshake_status_slot(http_->error_status())].add();
    respond_and_close(http::http_error(http_->error_status()));
    return;
  }
  auto parser = std::move(http_);  // the request head is complete: free the parser after
  route(parser->request(), data + used, len - used);
}

void Connection::route(const http::HttpRequest& req, const char* rest, size_t rest_len) {
  close_reason_ = CloseReason::kHttpDone;
  if (ticket_.verdict != Admission::Verdict::kAdmit && req.path != "/healthz") {
    refuse_over_limit(req);  // /healthz still answers: the process is alive, only full
    return;
  }
  if (req.path == "/ws") {
    protocol::Handshake hs = protocol::evaluate_handshake(req, shard_.config().allowed_origins,
                                                          shard_.config().permessage_deflate);
    if (hs.status == 101 && !shard_.accepting())
      hs.response = http::http_error(503), hs.status = 503;
    if (hs.status == 101 && !shard_.batcher().backplane_up()) {
      // Cluster mode without Redis: no room can be opened or resumed here now.
      hs.status = 503;
      hs.response = http::http_response(
          503, "text/plain; charset=utf-8",
          "the cluster backplane (Redis) is unreachable: try again shortly, or another node\n",
          "Retry-After: 2\r\n", req.method != "HEAD");
    }
    if (hs.status == 101) authenticate(hs, req.method == "HEAD");
    RoomState* room = nullptr;
    if (hs.status == 101) {
      room = shard_.enter_room(hs.room);
      if (!room) {  // a new room, and --max-rooms are alive: try later
        shard_.counters().rooms_refused[slot(metrics::RoomRefuseReason::kMaxRooms)].add();
        hs.status = 503;
        hs.response = http::http_response(
            503, "text/plain; charset=utf-8",
            "server full: too many rooms (the server's --max-rooms limit); join an existing "
            "room or try again later\n",
            "Retry-After: 10\r\n", req.method != "HEAD");
      }
    }
    if (hs.status != 101) {
      close_reason_ = CloseReason::kHttpError;
      shard_.counters().handshake_failed[ws::handshake_status_slot(hs.status)].add();
      if (log_enabled(LogLevel::kDebug))
        log_fields(LogLevel::kDebug,
                   {{"event", "refused"}, {"conn", id_}, {"peer", peer_}, {"status", hs.status}},
                   "conn %lu: upgrade refused with %d", id_, hs.status);
      respond_and_close(std::move(hs.response));
      return;
    }
    upgrade(hs, *room, rest, rest_len);
    return;
  }
  if (req.path == "/auth") {
    answer_auth_check(req);
    return;
  }
  bool head = req.method == "HEAD";
  if (req.method != "GET" && !head) {
    respond_and_close(http::http_error(405, "Allow: GET, HEAD\r\n"));
  } else if (req.path == "/healthz") {
    respond_and_close(http::http_response(200, "text/plain", "ok\n", {}, !head));
  } else if (req.path == "/readyz") {
    bool ready = shard_.accepting() && shard_.batcher().backplane_up();
    const char* body = ready                 ? "ready\n"
                       : !shard_.accepting() ? "shutting down\n"
                                             : "cluster backplane (Redis) unreachable\n";
    respond_and_close(http::http_response(ready ? 200 : 503, "text/plain", body, {}, !head));
  } else if (req.path == "/stats" && shard_.stats()) {
    respond_and_close(http::http_response(200, "application/json", shard_.stats()->stats_body(),
                                          "Cache-Control: no-store\r\n", !head));
  } else if (const Asset* a = find_asset(req.path)) {
    respond_and_close(http::http_response(200, a->content_type, {a->data, a->size}, {}, !head));
  } else {
    respond_and_close(http::http_error(404));
  }
}

void Connection::refuse_over_limit(const http::HttpRequest& req) {
  // 503: the server as a whole is full. 429: this address has too many connections
  // (RFC 6585 4). Either way, try again later.
  bool full = ticket_.verdict == Admission::Verdict::kServerFull;
  int status = full ? 503 : 429;
  shard_.note_refused(ticket_.verdict);
  close_reason_ = CloseReason::kOverLimit;
  if (req.path == "/ws")
    shard_.counters().handshake_failed[ws::handshake_status_slot(status)].add();
  std::string body = full ? "server full: too many connections, try again later\n"
                          : "too many connections from your address, try again later\n";
  respond_and_close(http::http_response(status, "text/plain; charset=utf-8", body,
                                        "Retry-After: 10\r\n", req.method != "HEAD"));
}

void Connection::respond_and_close(std::string response) {
  uv_timer_stop(&timer_);
  ctrl_ = std::move(response);
  close_after_write_ = true;
  state_ = State::kClosing;
  pump();
}

void Connection::timer_cb(uv_timer_t* t) {
  auto* self = self_of(reinterpret_cast<uv_handle_t*>(t));
  // Before the upgrade the timer is the handshake deadline; while open, the idle check;
  // once closing, the linger.
  if (self->state_ == State::kOpen) {
    self->on_idle_timer();
    return;
  }
  if (self->state_ == State::kHttp && self->tls_ && !self->tls_->handshake_done())
    self->shard_.counters().tls_handshakes[slot(metrics::TlsHandshakeResult::kTimeout)].add();
  self->abort(self->state_ == State::kHttp ? CloseReason::kHandshakeTimeout : self->close_reason_);
}

void Connection::on_idle_timer() {
  // Nothing heard for a whole --idle-timeout-s: ping (RFC 6455 5.5.2). Still nothing a
  // whole period after the ping: the peer is gone, close.
  uint64_t now = uv_now(shard_.loop());
  uint64_t period = uint64_t{shard_.config().idle_timeout_s} * 1000;
  if (now - last_heard_ms_ < period) {
    uv_timer_start(&timer_, timer_cb, period - (now - last_heard_ms_), 0);
    return;
  }
  if (idle_pinged_) {
    close_reason_ = CloseReason::kIdle;
    ws_->close(1001, "idle timeout: no answer to ping", ctrl_);
    state_ = State::kClosing;
    close_after_write_ = true;
    uv_timer_start(&timer_, timer_cb, kLingerMs, 0);
  } else {
    idle_pinged_ = true;
    ws_->ping(ctrl_);
    uv_timer_start(&timer_, timer_cb, period, 0);
  }
  pump();
}

void Connection::linger() {
  // Our last bytes are written: send FIN, keep reading until the peer's FIN so that
  // closing does not reset the connection before the peer has read them.
  lingering_ = true;
  if (uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), shutdown_cb) != 0) {
    abort(close_reason_);
    return;
  }
  uv_timer_start(&timer_, timer_cb, kLingerMs, 0);
}

void Connection::shutdown_cb(uv_shutdown_t*, int) {}

void Connection::close_slow() {
  // It fell off the log: it is served no more. It still gets the rest of the write in
  // flight, then close 1008 on a frame boundary, if it reads within the grace period;
  // after that the TCP connection is dropped (possibly mid-frame: it stopped reading).
  close_reason_ = CloseReason::kSlow;
  while (!cursors_.empty()) leave_room(cursors_.size() - 1, false);
  ws_->close(1008, "slow consumer: fell behind the log", ctrl_);
  state_ = State::kClosing;
  close_after_write_ = true;
  uv_timer_start(&timer_, timer_cb, shard_.config().slow_close_grace_ms, 0);
  if (log_enabled(LogLevel::kDebug))
    log_fields(LogLevel::kDebug,
               {{"event", "slow"}, {"conn", id_}, {"name", name_}, {"peer", peer_}},
               "conn %lu %s fell behind the log: closing with 1008", id_, name_.c_str());
  pump();
}

void Connection::close_for_shutdown() {
  if (state_ == State::kHttp) {
    abort(CloseReason::kShutdown);
  } else if (state_ == State::kOpen) {
    shutdown_pending_ = true;
    close_reason_ = CloseReason::kShutdown;
    pump();
  }
}

void Connection::abort(CloseReason why) {
  if (state_ == State::kDead) return;
  bool was_ws = ws_ != nullptr;
  state_ = State::kDead;
  shard_.admission().release(addr_, ticket_);
  ticket_ = {};
  shard_.counters().closed[slot(why)].add();
  if (why == CloseReason::kTooBig)  // the message that was too big is a rejected one too
    shard_.counters().rejected[slot(metrics::RejectReason::kTooBig)].add();
  if (was_ws) {
    if (log_enabled(LogLevel::kInfo)) {
      double seconds = (uv_now(shard_.loop()) - opened_ms_) / 1000.0;
      log_fields(LogLevel::kInfo,
                 {{"event", "close"},
                  {"conn", id_},
                  {"name", name_},
                  {"peer", peer_},
                  {"reason", close_reason_name(why)},
                  {"seconds", seconds}},
                 "conn %lu %s closed (%s) after %.1fs", id_, name_.c_str(), close_reason_name(why),
                 seconds);
    }
  }
  detach();
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), close_cb);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), close_cb);
}

void Connection::close_cb(uv_handle_t* h) {
  auto* self = self_of(h);
  if (--self->open_handles_ != 0) return;
  size_t session = self->ws_ ? sizeof(ws::WsSession) : 0;
  memory::note_released(sizeof(Connection) + session + self->buffer_bytes());
  delete self;
}

size_t Connection::buffer_bytes() const {
  size_t n = heap_bytes(ctrl_) + heap_bytes(out_.head) + heap_bytes(out_.tail) +
             out_.pins.capacity() * sizeof(EntryPin) + cursors_.capacity() * sizeof(Cursor);
  if (ws_ && ws_->holds_context()) n += ws::WsSession::kContextBytes;
  if (tls_) n += heap_bytes(out_.cipher) + tls_->buffer_bytes() + tls::TlsStream::kSessionBytes;
  return n;
}

size_t Connection::sweep_idle() {
  if (active_ || state_ != State::kOpen || out_.busy) {
    active_ = false;
    return buffer_bytes();
  }
  size_t before = buffer_bytes();
  // Between writes head, tail and pins are empty; ctrl_ may hold a notice not yet sent.
  std::string().swap(out_.head);
  std::string().swap(out_.tail);
  std::vector<EntryPin>().swap(out_.pins);
  if (ctrl_.empty()) std::string().swap(ctrl_);
  if (ws_) ws_->release_idle();
  if (tls_) {
    std::string().swap(out_.cipher);
    tls_->release_idle();
  }
  size_t after = buffer_bytes();
  if (after < before) memory::note_released(before - after);
  return after;
}

}  // namespace tg::gateway
