// worker.cpp -- accepting, the upgrade, and writing pre-built frames at each window.
#include "bots/floor/worker.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "http/request.hpp"
#include "http/response.hpp"
#include "ws/handshake.hpp"

namespace tg::fanout {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr size_t kMaxHeaderBytes = 8192;

uv_stream_t* stream_of(uv_tcp_t* tcp) {
  return reinterpret_cast<uv_stream_t*>(tcp);
}

// The first sub-protocol a request offers ("" for none): the one the swarm asked for.
std::string first_protocol(const http::HttpRequest& req) {
  const std::string_view offered = req.header("sec-websocket-protocol");
  return std::string(http::trim(offered.substr(0, offered.find(','))));
}

// The requested room's index, or -1 when this floor serves no such room.
int64_t requested_room(const http::HttpRequest& req, const FloorRooms& rooms) {
  std::vector<std::pair<std::string, std::string>> query;
  if (!http::parse_query(req.query, query)) return -1;
  for (const auto& [key, value] : query) {
    if (key != "room") continue;
    const auto it = rooms.index.find(value);
    return it == rooms.index.end() ? int64_t{-1} : int64_t{it->second};
  }
  return -1;
}

}  // namespace

void WorkerTotals::add(const WorkerTotals& o) {
  if (frames.size() < o.frames.size()) frames.resize(o.frames.size(), 0);
  for (size_t g = 0; g < o.frames.size(); ++g) frames[g] += o.frames[g];
  writes += o.writes;
  skipped += o.skipped;
  late_windows += o.late_windows;
  upgrades += o.upgrades;
  refused += o.refused;
  write_errors += o.write_errors;
  bytes_read += o.bytes_read;
}

struct Worker::Client {
  uv_tcp_t tcp{};
  uv_write_t write_req{};
  Worker* worker = nullptr;
  std::unique_ptr<http::HttpRequestParser> parser;  // until the request head is complete
  std::string response;                             // the HTTP answer while it is written
  int64_t room = -1;                                // the room asked for
  bool member = false;                              // in it: once the 101 was written
  size_t slot = 0;                                  // its index in the room's members
  bool writing = false;
  bool close_after_write = false;
  bool closing = false;
};

Worker::Worker(int index, const FloorConfig& config, const FloorRooms& rooms, int listen_fd)
    : index_(index),
      config_(config),
      shared_(rooms),
      rooms_(rooms.rooms.size()),
      read_buffer_(kReadBufferBytes) {
  totals_.frames.assign(config.groups.size(), 0);
  if (uv_loop_init(&loop_) != 0 || uv_tcp_init(&loop_, &listener_) != 0 ||
      uv_timer_init(&loop_, &timer_) != 0 || uv_async_init(&loop_, &stop_async_, async_cb) != 0) {
    throw std::runtime_error("libuv setup failed");
  }
  listener_.data = timer_.data = stop_async_.data = this;
  int rv = uv_tcp_open(&listener_, listen_fd);
  if (rv == 0) rv = uv_listen(stream_of(&listener_), 1024, connection_cb);
  if (rv != 0) throw std::runtime_error(std::string("listen: ") + uv_strerror(rv));
  const auto now = static_cast<int64_t>(uv_hrtime());
  for (const RoomSpec& room : rooms.rooms) {
    const RoomGroup& group = config.groups[room.group];
    schedule_.add(group.batches_per_s, room.phase, now, group.writes_per_s);
  }
}

Worker::~Worker() {
  join();
}

void Worker::start() {
  thread_ = std::thread([this] { run(); });
}

void Worker::stop() {
  uv_async_send(&stop_async_);
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  if (config_.pin) {  // as tidegate does: worker k on core k
    cpu_set_t set;
    CPU_ZERO(&set);
    const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    CPU_SET(static_cast<unsigned>(index_) % cpus, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  on_timer();  // starts the timer
  uv_run(&loop_, UV_RUN_DEFAULT);
  totals_.late_windows = schedule_.late();
  uv_loop_close(&loop_);
}

void Worker::connection_cb(uv_stream_t* server, int status) {
  if (status == 0) static_cast<Worker*>(server->data)->on_connection();
}

void Worker::on_connection() {
  auto* c = new Client;
  c->worker = this;
  c->tcp.data = c;
  c->write_req.data = c;
  uv_tcp_init(&loop_, &c->tcp);
  if (uv_accept(stream_of(&listener_), stream_of(&c->tcp)) != 0) {
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), client_closed_cb);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (config_.socket_sndbuf > 0) {
    int size = config_.socket_sndbuf;
    uv_send_buffer_size(reinterpret_cast<uv_handle_t*>(&c->tcp), &size);
  }
  c->parser = std::make_unique<http::HttpRequestParser>(kMaxHeaderBytes);
  if (uv_read_start(stream_of(&c->tcp), alloc_cb, read_cb) != 0) close_client(*c);
}

void Worker::alloc_cb(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  Worker& w = *static_cast<Client*>(handle->data)->worker;
  *buf = uv_buf_init(w.read_buffer_.data(), static_cast<unsigned>(w.read_buffer_.size()));
}

void Worker::read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto& c = *static_cast<Client*>(stream->data);
  c.worker->on_read(c, nread, buf);
}

void Worker::on_read(Client& c, ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) return close_client(c);  // EOF or an error
  if (!c.parser) {
    totals_.bytes_read += static_cast<uint64_t>(nread);  // a member's messages: dropped unread
    return;
  }
  size_t used = 0;
  switch (c.parser->feed(buf->base, static_cast<size_t>(nread), &used)) {
    case http::HttpRequestParser::State::kIncomplete:
      return;
    case http::HttpRequestParser::State::kError:
      ++totals_.refused;
      uv_read_stop(stream_of(&c.tcp));
      return answer(c, http::http_error(c.parser->error_status()), true);
    case http::HttpRequestParser::State::kComplete:
      return on_request(c);  // bytes after the head (early frames) are dropped too
  }
}

void Worker::on_request(Client& c) {
  const http::HttpRequest& req = c.parser->request();
  const ws::UpgradeCheck check = ws::check_upgrade(req);
  const int64_t room = requested_room(req, shared_);
  if (check.status != 0 || room < 0) {
    ++totals_.refused;
    uv_read_stop(stream_of(&c.tcp));
    return answer(c, http::http_error(check.status != 0 ? check.status : 404, check.extra_headers),
                  true);
  }
  std::string response = ws::accept_response(check.key, first_protocol(req));
  c.parser.reset();
  c.room = room;
  answer(c, std::move(response), false);
}

void Worker::join_room(Client& c) {
  std::vector<Client*>& members = rooms_[c.room].members;
  c.member = true;
  c.slot = members.size();
  members.push_back(&c);
  ++totals_.upgrades;
}

void Worker::answer(Client& c, std::string response, bool then_close) {
  c.response = std::move(response);
  c.close_after_write = then_close;
  uv_buf_t buf = uv_buf_init(c.response.data(), static_cast<unsigned>(c.response.size()));
  if (uv_write(&c.write_req, stream_of(&c.tcp), &buf, 1, write_cb) != 0) return close_client(c);
  c.writing = true;
}

void Worker::write_cb(uv_write_t* req, int status) {
  auto& c = *static_cast<Client*>(req->data);
  c.writing = false;
  if (c.closing) return;  // cancelled by close_client()
  if (status < 0) ++c.worker->totals_.write_errors;
  if (status < 0 || c.close_after_write) return c.worker->close_client(c);
  if (!c.member) c.worker->join_room(c);  // the 101 is out: windows may follow
}

void Worker::timer_cb(uv_timer_t* timer) {
  static_cast<Worker*>(timer->data)->on_timer();
}

void Worker::on_timer() {
  const auto now = static_cast<int64_t>(uv_hrtime());
  for (uint32_t r = 0; r < rooms_.size(); ++r) {
    if (const uint32_t n = schedule_.take(r, now); n > 0) write_windows(r, n);
  }
  const int64_t next = schedule_.next_due_ns();
  if (next == WindowSchedule::kNever) return;
  uv_update_time(&loop_);  // the writes took time: count the delay from now
  const int64_t wait_ns = next - static_cast<int64_t>(uv_hrtime());
  // At least 1 ms, even when a window fell due meanwhile: libuv (1.44) runs a timer that
  // is due again at once in the same turn, so a floor behind its windows would never
  // get to accept or read. One poll between two turns of writing; take() catches up.
  const auto wait_ms = static_cast<uint64_t>(std::max<int64_t>(1, (wait_ns + 999999) / 1000000));
  uv_timer_start(&timer_, timer_cb, wait_ms, 0);
}

void Worker::write_windows(uint32_t room, uint32_t windows) {
  const std::string& frame = shared_.frames[room];
  const uint32_t group = shared_.rooms[room].group;
  // The room's frame once per window: one writev per member, as the gateway writes every
  // batch a client is behind on at once.
  const uv_buf_t one =
      uv_buf_init(const_cast<char*>(frame.data()), static_cast<unsigned>(frame.size()));
  bufs_.assign(windows, one);
  std::vector<Client*>& members = rooms_[room].members;
  // Backwards: a member closed on a failed write is replaced by the last one, already done.
  for (size_t i = members.size(); i-- > 0;) send_frames(*members[i], frame.size(), group);
}

void Worker::send_frames(Client& c, size_t frame_bytes, uint32_t group) {
  if (c.writing) {
    totals_.skipped += bufs_.size();
    return;
  }
  auto* stream = stream_of(&c.tcp);
  int n = uv_try_write(stream, bufs_.data(), static_cast<unsigned>(bufs_.size()));
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) {
    ++totals_.write_errors;
    return close_client(c);
  }
  totals_.frames[group] += bufs_.size();
  ++totals_.writes;
  const auto written = static_cast<size_t>(n);
  if (written == frame_bytes * bufs_.size()) return;
  // The rest: from the frame the socket stopped in (uv_write copies the buffers).
  const size_t whole = written / frame_bytes;
  std::vector<uv_buf_t> rest(bufs_.begin() + static_cast<ptrdiff_t>(whole), bufs_.end());
  rest[0].base += written % frame_bytes;
  rest[0].len -= written % frame_bytes;
  if (uv_write(&c.write_req, stream, rest.data(), static_cast<unsigned>(rest.size()), write_cb) !=
      0) {
    return close_client(c);
  }
  c.writing = true;
}

void Worker::close_client(Client& c) {
  if (c.closing) return;
  c.closing = true;
  if (c.member) {
    std::vector<Client*>& members = rooms_[c.room].members;
    members[c.slot] = members.back();
    members[c.slot]->slot = c.slot;
    members.pop_back();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), client_closed_cb);
}

void Worker::client_closed_cb(uv_handle_t* handle) {
  delete static_cast<Client*>(handle->data);
}

void Worker::async_cb(uv_async_t* async) {
  static_cast<Worker*>(async->data)->close_everything();
}

void Worker::close_everything() {
  uv_walk(&loop_, walk_cb, this);
}

void Worker::walk_cb(uv_handle_t* handle, void* self) {
  auto& w = *static_cast<Worker*>(self);
  if (uv_is_closing(handle)) return;
  const bool own = handle == reinterpret_cast<uv_handle_t*>(&w.listener_) ||
                   handle == reinterpret_cast<uv_handle_t*>(&w.timer_) ||
                   handle == reinterpret_cast<uv_handle_t*>(&w.stop_async_);
  if (own) return uv_close(handle, nullptr);
  w.close_client(*static_cast<Client*>(handle->data));
}

}  // namespace tg::fanout
