// api_connection.cpp -- a publish API connection: reading requests and bodies, keep-alive,
// deadlines, writing answers.
#include "gateway/api_connection.hpp"

#include <charconv>

#include "common/clock.hpp"
#include "gateway/api_request.hpp"
#include "gateway/api_server.hpp"
#include "http/response.hpp"

namespace tg::gateway {

namespace {
constexpr std::string_view kHeadEnd = "\r\n\r\n";
}

ApiConnection::ApiConnection(ApiServer& server, uint64_t id) : server_(server), id_(id) {}

bool ApiConnection::accept(uv_stream_t* listener) {
  uv_tcp_init(server_.loop(), &tcp_);
  tcp_.data = this;
  write_req_.data = this;
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
    close();
    return false;
  }
  uv_tcp_nodelay(&tcp_, 1);
  deadline_ms_ = uv_now(server_.loop()) + uint64_t{server_.config().api_idle_timeout_s} * 1000;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), alloc_cb, read_cb);
  return true;
}

void ApiConnection::alloc_cb(uv_handle_t* h, size_t, uv_buf_t* buf) {
  *buf = static_cast<ApiConnection*>(h->data)->server_.read_buffer();
}

void ApiConnection::read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<ApiConnection*>(s->data);
  if (nread < 0) {
    self->close();
    return;
  }
  if (nread == 0 || self->state_ == State::kClosed) return;
  if (self->state_ == State::kHead && self->in_.empty()) {
    // A request starts: it has --api-request-timeout-ms to arrive and be answered.
    self->deadline_ms_ =
        uv_now(self->server_.loop()) + self->server_.config().api_request_timeout_ms;
  }
  self->in_.append(buf->base, static_cast<size_t>(nread));
  self->process();
}

void ApiConnection::process() {
  const Config& cfg = server_.config();
  while (state_ == State::kHead || state_ == State::kBody) {
    if (state_ == State::kHead) {
      size_t end = in_.find(kHeadEnd);
      if (end == std::string::npos) {
        if (in_.size() > cfg.max_header_bytes)
          refuse(431, "header_too_large", "the request head is over --max-header-bytes");
        return;
      }
      if (!parse_head(end + kHeadEnd.size())) return;
    }
    if (in_.size() < body_len_) return;
    std::string body = in_.substr(0, body_len_);
    in_.erase(0, body_len_);
    state_ = State::kServing;
    route_ = metrics::ApiRoute::kOther;
    // One request at a time: the next is read once this one is answered.
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    server_.dispatch(*this, request_, std::move(body));
  }
}

bool ApiConnection::parse_head(size_t head_len) {
  const Config& cfg = server_.config();
  if (head_len > cfg.max_header_bytes) {
    refuse(431, "header_too_large", "the request head is over --max-header-bytes");
    return false;
  }
  http::HttpRequestParser parser(cfg.max_header_bytes);
  size_t used = 0;
  auto st = parser.feed(in_.data(), head_len, &used);
  if (st != http::HttpRequestParser::State::kComplete) {
    refuse(st == http::HttpRequestParser::State::kError ? parser.error_status() : 400,
           "bad_request", "malformed HTTP request");
    return false;
  }
  request_ = parser.request();
  in_.erase(0, head_len);
  // HTTP/1.1 persists unless asked not to; HTTP/1.0 only when asked to.
  std::string_view conn = request_.header("connection");
  keep_alive_ = request_.http_major == 1 && request_.http_minor >= 1
                    ? !http::has_token(conn, "close")
                    : http::has_token(conn, "keep-alive");
  if (!request_.header("transfer-encoding").empty()) {
    refuse(411, "length_required", "chunked bodies are not accepted: send Content-Length");
    return false;
  }
  body_len_ = 0;
  std::string_view len = http::trim(request_.header("content-length"));
  if (!len.empty()) {
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
    if (ec != std::errc() || p != len.data() + len.size()) {
      refuse(400, "bad_request", "malformed Content-Length");
      return false;
    }
    if (n > cfg.api_max_body_bytes) {
      refuse(413, "body_too_large",
             "the body is over --api-max-body-bytes (" + std::to_string(cfg.api_max_body_bytes) +
                 " bytes)");
      return false;
    }
    body_len_ = static_cast<size_t>(n);
  }
  state_ = State::kBody;
  // A client that asked waits for this before it sends the body (RFC 9110 10.1.1).
  if (body_len_ > in_.size() && http::has_token(request_.header("expect"), "100-continue")) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    uv_buf_t b = uv_buf_init(const_cast<char*>(kContinue), sizeof kContinue - 1);
    continue_req_.data = this;
    if (uv_write(&continue_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1,
                 [](uv_write_t*, int) {}) != 0) {
      close();
      return false;
    }
  }
  return true;
}

void ApiConnection::refuse(int status, std::string_view code, std::string_view message) {
  state_ = State::kServing;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
  server_.count(route_, status, 0);
  respond(status, api::error_json(code, message), {}, true);
}

void ApiConnection::respond(int status, std::string_view json, std::string_view extra_headers,
                            bool close_after) {
  if (state_ != State::kServing) return;
  close_after_write_ = close_after || !keep_alive_;
  std::string headers(extra_headers);
  if (close_after_write_) {
    out_ = http::http_response(status, "application/json", json, headers);
  } else {
    out_ = http::http_keep_alive_response(status, "application/json", json, headers);
  }
  state_ = State::kWriting;
  // A peer that does not take the answer is cut like an idle one.
  deadline_ms_ = uv_now(server_.loop()) + uint64_t{server_.config().api_idle_timeout_s} * 1000;
  uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  if (uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, write_cb) != 0) close();
}

void ApiConnection::write_cb(uv_write_t* req, int status) {
  auto* self = static_cast<ApiConnection*>(req->data);
  if (self->state_ == State::kClosed) return;
  if (status < 0 || self->close_after_write_) {
    self->close();
    return;
  }
  self->next_request();
}

void ApiConnection::next_request() {
  out_.clear();
  out_.shrink_to_fit();
  state_ = State::kHead;
  uint64_t now = uv_now(server_.loop());
  deadline_ms_ = in_.empty() ? now + uint64_t{server_.config().api_idle_timeout_s} * 1000
                             : now + server_.config().api_request_timeout_ms;
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), alloc_cb, read_cb);
  process();  // a request that arrived with the previous one
}

void ApiConnection::tick(uint64_t now_ms) {
  if (state_ == State::kClosed || state_ == State::kServing || now_ms < deadline_ms_) return;
  if ((state_ == State::kHead && !in_.empty()) || state_ == State::kBody) {
    refuse(408, "request_timeout", "the request did not arrive within --api-request-timeout-ms");
    return;
  }
  close();  // idle, or a write the peer does not take
}

void ApiConnection::close_when_idle() {
  if (state_ == State::kClosed) return;
  if (state_ == State::kHead && in_.empty()) {
    close();
    return;
  }
  keep_alive_ = false;
  close_after_write_ = true;
}

void ApiConnection::close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  server_.closing(*this);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), close_cb);
}

void ApiConnection::close_cb(uv_handle_t* h) {
  auto* self = static_cast<ApiConnection*>(h->data);
  self->server_.closed(self);
}

}  // namespace tg::gateway
