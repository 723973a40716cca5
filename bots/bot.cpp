// bot.cpp -- connection lifecycle, reading, writing and message accounting of one simulated client.
#include "bots/bot.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "bots/bot_loop.hpp"
#include "bots/cid.hpp"
#include "bots/decoded_batch.hpp"
#include "bots/notice.hpp"

namespace tg::bots {
namespace {

constexpr int kSlowRecvBuffer = 16384;  // small kernel buffer: backpressure reaches the server
constexpr uint64_t kMaxBurst = 1000;    // messages one timer turn may catch up on

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
  std::string data;
};

Bot::Bot(BotLoop& loop, const BotSpec& spec) : loop_(loop), spec_(spec) {
  tcp_.data = this;
  connect_req_.data = this;
  timer_.data = this;
}

void Bot::connect() {
  state_ = State::kConnecting;
  connect_started_us_ = BotLoop::now_us();
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
  const auto* addr = reinterpret_cast<const sockaddr*>(&loop_.url().address);
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
  const std::string target = loop_.url().path + "?room=" + loop_.room_name(spec_.room);
  const std::string proto = "tidegate.v1." + loop_.config().subprotocol;
  handshake_ = std::make_unique<client::Handshake>(loop_.url().authority(), target, proto, key);
  state_ = State::kHandshaking;
  if (spec_.slow) {
    const double rate = loop_.config().slow_read_bps;
    read_budget_.emplace(rate, std::max(rate / 20.0, 1500.0), BotLoop::now_us());
  }
  out_ += handshake_->request();
  flush();
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
  on_bytes({reinterpret_cast<const uint8_t*>(buf->base), n});
}

bool Bot::try_resume_reading(int64_t now_us) {
  if (reading_ || !tcp_open_ || state_ == State::kClosed) return true;
  if (read_budget_ && read_budget_->available(now_us) == 0) return false;
  reading_ =
      uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Bot::alloc_cb, &Bot::read_cb) == 0;
  return true;
}

void Bot::on_bytes(std::span<const uint8_t> bytes) {
  if (state_ == State::kHandshaking) return on_handshake_bytes(bytes);
  if (!codec_) return;
  const bool ok = codec_->feed(bytes);
  if (state_ == State::kClosed) return;
  if (!ok) {
    ++loop_.counters().errors;
    return lost_connection();
  }
  if (!codec_->drain(out_)) return lost_connection();
  flush();
  if (codec_->finished()) lost_connection();
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
  const std::string rest(reinterpret_cast<const char*>(handshake_->leftover().data()),
                         handshake_->leftover().size());
  handshake_.reset();
  client::WsCodec::Handler& handler = *this;  // private base: convert here, not in make_unique
  codec_ = std::make_unique<client::WsCodec>(handler, loop_.rng()());
  state_ = State::kAwaitingHello;
  if (loop_.config().sink) opened();  // a sink expects no hello
  if (!rest.empty()) on_bytes({reinterpret_cast<const uint8_t*>(rest.data()), rest.size()});
}

void Bot::opened() {
  state_ = State::kOpen;
  ++loop_.counters().connects;
  ++loop_.counters().connected;
  loop_.connect_resolved();
}

void Bot::on_ws_message(bool binary, std::span<const uint8_t> data) {
  Counters& c = loop_.counters();
  ++c.frames;
  if (loop_.measuring()) ++c.frames_measured;
  if (loop_.config().sink) return;
  const bool maybe_batch = binary || loop_.json_mode();
  uint64_t hash = 0;
  if (maybe_batch) {
    hash = BatchCache::hash_of(data);
    if (const DecodedBatch* cached = loop_.cache().find(hash, data)) {
      ++c.cache_hits;
      count_batch_frame(data.size());
      return on_batch(*cached);
    }
  }
  DecodedBatch batch;
  Notice notice;
  switch (loop_.decoder().decode(binary, data, batch, notice)) {
    case FrameDecoder::Kind::kBatch:
      ++c.decodes;
      count_batch_frame(data.size());
      return on_batch(*loop_.cache().insert(hash, data, std::move(batch)));
    case FrameDecoder::Kind::kNotice:
      return on_notice(notice);
    case FrameDecoder::Kind::kInvalid:
      ++c.errors;
      return;
  }
}

void Bot::count_batch_frame(size_t bytes) {
  if (!loop_.measuring()) return;
  loop_.counters().batch_bytes += bytes;
  ++loop_.counters().batch_frames;
}

void Bot::on_ws_close(uint16_t status) {
  if (state_ != State::kOpen) return;
  ++loop_.counters().server_closes;
  if (status == 1008) ++loop_.counters().policy_closes;  // PROTOCOL.md: slow consumer
}

void Bot::add_seq_deltas(const SeqTracker& before) {
  Counters& c = loop_.counters();
  c.holes += seq_.holes() - before.holes();
  c.hole_msgs += seq_.hole_msgs() - before.hole_msgs();
  c.order_errors += seq_.order_errors() - before.order_errors();
  c.announced_lost += seq_.announced() - before.announced();
}

void Bot::on_batch(const DecodedBatch& batch) {
  if (state_ != State::kOpen && state_ != State::kClosing) return;
  Counters& c = loop_.counters();
  if (batch.room != loop_.room_name(spec_.room)) {
    ++c.errors;  // a batch of a room this client never joined
    return;
  }
  loop_.saw_batch(spec_.room, batch.batch_seq);
  if (batch.msg_count == 0) return;
  if (!batch.consecutive) ++c.order_errors;
  const SeqTracker before = seq_;
  seq_.on_batch(batch.first_seq, batch.last_seq);
  add_seq_deltas(before);
  received_ += batch.run_msgs;
  c.deliveries += batch.run_msgs;
  if (counted_) loop_.count_received(spec_.room, batch.run_msgs);
  if (!spec_.slow && !batch.own.empty()) {
    // All bots share one steady clock, so every member can time every message.
    const int64_t now = BotLoop::now_us();
    for (const OwnMessage& m : batch.own) loop_.record_delivery(now - m.sent_us);
  }
  if (spec_.sender && echoed_ < sent_) on_echoes(batch);
}

void Bot::on_echoes(const DecodedBatch& batch) {
  const int64_t now = BotLoop::now_us();
  for (const OwnMessage& m : batch.sent_by(spec_.id)) {
    loop_.record_latency(now - m.sent_us);
    ++echoed_;
    ++loop_.counters().echoes;
  }
}

void Bot::on_notice(const Notice& notice) {
  Counters& c = loop_.counters();
  switch (notice.type) {
    case Notice::Type::kHello:
      if (state_ != State::kAwaitingHello) return;
      if (notice.room != loop_.room_name(spec_.room)) ++c.errors;
      seq_.start(notice.seq);
      return opened();
    case Notice::Type::kPong:
      if (notice.id != 0 && notice.id <= ping_id_ && ping_id_ - notice.id < ping_sent_us_.size()) {
        loop_.record_ping(BotLoop::now_us() - ping_sent_us_[notice.id % ping_sent_us_.size()]);
        ++c.pongs;
        c.pong_window_us += static_cast<uint64_t>(notice.window_ms * 1000.0 + 0.5);
      }
      return;
    case Notice::Type::kGap: {
      ++c.gap_notices;
      if (notice.to < notice.from) return void(++c.errors);
      const SeqTracker before = seq_;
      seq_.on_gap(notice.from, notice.to);
      add_seq_deltas(before);
      return;
    }
    case Notice::Type::kError:
      ++c.errors;
      return;
    default:
      return;
  }
}

void Bot::start_sending(int64_t now_us) {
  if (!spec_.sender || state_ != State::kOpen || loop_.config().rate <= 0) return;
  const double period_us = 1e6 / loop_.config().rate;
  const auto offset =
      static_cast<int64_t>(std::uniform_real_distribution<double>(0.0, period_us)(loop_.rng()));
  send_start_us_ = now_us + offset;
  sent_in_phase_ = 0;
  sending_ = true;
  if (!timer_open_) {
    uv_timer_init(loop_.uv(), &timer_);
    timer_open_ = true;
  }
  uv_timer_start(&timer_, &Bot::timer_cb, static_cast<uint64_t>(offset / 1000), 0);
}

void Bot::stop_sending() {
  sending_ = false;
  if (timer_open_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) {
    uv_timer_stop(&timer_);
  }
}

void Bot::timer_cb(uv_timer_t* timer) {
  static_cast<Bot*>(timer->data)->on_timer();
}

void Bot::on_timer() {
  if (!sending_ || state_ != State::kOpen) return;
  const int64_t now = BotLoop::now_us();
  const double period_us = 1e6 / loop_.config().rate;
  const double elapsed = static_cast<double>(now - send_start_us_);
  const auto due = static_cast<uint64_t>(std::max(0.0, elapsed / period_us)) + 1;
  for (uint64_t i = 0; sent_in_phase_ < due && i < kMaxBurst; ++i) {
    send_message(now);
    ++sent_in_phase_;
  }
  const double next_us = static_cast<double>(send_start_us_) +
                         static_cast<double>(sent_in_phase_) * period_us - static_cast<double>(now);
  const auto wait_ms = static_cast<uint64_t>(std::max(0.0, std::ceil(next_us / 1000.0)));
  uv_timer_start(&timer_, &Bot::timer_cb, wait_ms, 0);
}

void Bot::send_message(int64_t now_us) {
  std::string& text = loop_.scratch();
  text.assign(R"({"t":"msg","text":")");
  text += loop_.filler();
  text += R"(","cid":")";
  Cid{spec_.id, now_us}.format(loop_.run(), text);
  text += "\"}";
  send_text(text);
  ++sent_;
  ++loop_.counters().messages_sent;
  loop_.count_sent(spec_.room);
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
  if (writing_ || out_.empty() || !tcp_open_ || state_ == State::kClosed) return;
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  uv_buf_t buf = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  int n = uv_try_write(stream, &buf, 1);
  if (n == UV_EAGAIN || n == UV_ENOSYS) n = 0;
  if (n < 0) return lost_connection();
  out_.erase(0, static_cast<size_t>(n));
  if (out_.empty()) return;
  auto* req = new WriteReq;
  req->bot = this;
  req->data.swap(out_);
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
  bot.writing_ = false;
  if (status < 0) return bot.lost_connection();
  bot.flush();
}

void Bot::count_from_now() {
  if (state_ != State::kOpen || spec_.slow || loop_.config().sink) return;
  counted_ = true;
  loop_.count_member(spec_.room, +1, 0);
}

void Bot::close_gracefully() {
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
  ++loop_.counters().connect_failures;
  loop_.connect_resolved();
  set_closed();
}

void Bot::lost_connection() {
  switch (state_) {
    case State::kIdle:
    case State::kClosed:
      return;
    case State::kConnecting:
    case State::kHandshaking:
    case State::kAwaitingHello:
      return fail_connect();
    case State::kOpen:
      // Not asked for: the client no longer counts towards expected deliveries.
      ++loop_.counters().disconnects;
      if (counted_) {
        counted_ = false;
        loop_.count_member(spec_.room, -1, received_);
      }
      [[fallthrough]];
    case State::kClosing:
      --loop_.counters().connected;
      set_closed();
  }
}

void Bot::set_closed() {
  state_ = State::kClosed;
  stop_sending();
  close_handles();
}

void Bot::close_handles() {
  if (tcp_open_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), nullptr);
  }
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
