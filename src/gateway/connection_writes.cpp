// connection_writes.cpp -- the write path: one write in flight per connection, built
// from queued notices and the shared batch frames the cursors point at. The frames are
// the Shard's log entries themselves (pinned until the write completes), never copies.
#include <algorithm>

#include "common/clock.hpp"
#include "common/log.hpp"
#include "gateway/connection.hpp"
#include "gateway/shard.hpp"
#include "protocol/notice.hpp"

namespace tg::gateway {

namespace {
// A write never gathers more buffers than this; libuv copies a longer array anyway.
constexpr size_t kMaxBufs = 64;

uv_buf_t buf_of(const char* data, size_t len) {
  return uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(len));
}
}  // namespace

void Connection::pump() {
  if (state_ == State::kDead || lingering_) return;
  if (state_ == State::kOpen && shard_.config().slow_policy == SlowPolicy::kClose &&
      fell_off_log()) {
    // Checked even while a write is in flight: a stalled reader's write never
    // completes, and it must not take that long to be found out.
    close_slow();
    return;
  }
  if (out_.busy) return;
  if (tls_) {
    write_tls(compose());
    return;
  }
  if (!compose()) {
    if (state_ != State::kDead && close_after_write_) linger();  // nothing left to write
    return;
  }
  out_.busy = true;
  std::vector<uv_buf_t>& bufs = shard_.write_bufs();
  int rv = uv_write(&out_.req, reinterpret_cast<uv_stream_t*>(&tcp_), bufs.data(),
                    static_cast<unsigned>(bufs.size()), write_cb);
  if (rv != 0) {
    out_.busy = false;
    abort(CloseReason::kIoError);
  }
}

void Connection::write_tls(bool composed) {
  if (state_ == State::kDead) return;
  // After close_notify nothing more goes out (a pong composed meanwhile is dropped).
  if (composed && !tls_->close_sent() && !encrypt(shard_.write_bufs())) {
    abort(CloseReason::kTlsError);
    return;
  }
  // The connection's last bytes (complete_write will linger or close after them) are
  // followed by close_notify, so that the peer can tell the end from a truncation.
  if (close_after_write_ && ctrl_.empty()) tls_->close();
  if (tls_->pending().empty()) {
    if (close_after_write_) linger();
    return;
  }
  out_.cipher.swap(tls_->pending());  // out_.cipher was emptied when its write completed
  out_.busy = true;
  uv_buf_t buf = buf_of(out_.cipher.data(), out_.cipher.size());
  if (uv_write(&out_.req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, write_cb) != 0) {
    out_.busy = false;
    abort(CloseReason::kIoError);
  }
}

// Encrypts the composed buffers. Frames smaller than a record are gathered first (one
// record, one MAC and one header for many small batches); a large frame is encrypted
// from where it lies.
bool Connection::encrypt(const std::vector<uv_buf_t>& bufs) {
  constexpr size_t kRecordBytes = 16 * 1024;  // TLS's largest record plaintext
  std::string& gather = shard_.tls_gather();
  gather.clear();
  for (const uv_buf_t& b : bufs) {
    if (gather.size() + b.len <= kRecordBytes) {
      gather.append(b.base, b.len);
      continue;
    }
    if (!gather.empty() && !tls_->write(gather.data(), gather.size())) return false;
    gather.clear();
    if (b.len < kRecordBytes) {
      gather.append(b.base, b.len);
    } else if (!tls_->write(b.base, b.len)) {
      return false;
    }
  }
  return gather.empty() || tls_->write(gather.data(), gather.size());
}

// Fills out_ and the Shard's buffer list with what is due now. Returns false when there
// is nothing to write.
bool Connection::compose() {
  out_.head.swap(ctrl_);
  ctrl_.clear();
  std::vector<uv_buf_t>& bufs = shard_.write_bufs();
  bufs.clear();
  bufs.push_back({});  // slot for head, filled last: gap notices may extend it
  out_.msgs = 0;
  size_t bytes = 0;
  if (state_ == State::kOpen) {
    for (Cursor& c : cursors_) {
      if (!add_frames(c, bytes)) return false;  // closed as too slow
    }
    if (shutdown_pending_ && !behind()) {
      ws_->close(1001, "server shutting down", out_.tail);
      state_ = State::kClosing;
      close_after_write_ = true;
    }
  }
  if (!out_.tail.empty()) bufs.push_back(buf_of(out_.tail.data(), out_.tail.size()));
  if (out_.head.empty()) {
    bufs.erase(bufs.begin());
  } else {
    bufs[0] = buf_of(out_.head.data(), out_.head.size());
  }
  out_.bytes = bytes + out_.head.size() + out_.tail.size();
  return !bufs.empty();
}

bool Connection::behind() const {
  if (state_ != State::kOpen) return false;
  for (const Cursor& c : cursors_)
    if (c.next_batch < c.room->log.next_seq()) return true;
  return false;
}

bool Connection::fell_off_log() const {
  for (const Cursor& c : cursors_)
    if (c.room->log.evicted(c.next_batch)) return true;
  return false;
}

// Adds the frames due from one cursor, up to the in-flight budget. Returns false when
// the client fell off the log under --slow-policy close (and is now closed).
bool Connection::add_frames(Cursor& c, size_t& bytes) {
  RoomLog& log = c.room->log;
  const size_t budget = shard_.config().client_inflight;
  const bool v2 = proto_ == protocol::Subprotocol::kV2Zstd;
  if (log.evicted(c.next_batch) && v2) {
    // Its decoder cannot go on from the oldest held batch: it restarts at the next
    // keyframe, and the gap up to there is reported when it is reached (v2_sendable).
    c.next_batch = log.first_seq();
    c.synced = false;
  } else if (log.evicted(c.next_batch)) {
    // Its next batch was evicted while it was behind; under
    // --slow-policy close pump() has closed it before we get here.
    uint64_t first_held = log.first_held_msg();
    protocol::append_gap(out_.head, c.room->name, c.next_msg, first_held - 1);
    shard_.counters().gaps.add();
    shard_.counters().skipped_msgs.add(first_held - c.next_msg);
    c.next_batch = log.first_seq();
    c.next_msg = first_held;
  }
  std::vector<uv_buf_t>& bufs = shard_.write_bufs();
  while (c.next_batch < log.next_seq() && bytes < budget && bufs.size() < kMaxBufs) {
    LogEntry* e = log.at(c.next_batch);
    if (v2 && !v2_sendable(c, *e)) {
      ++c.next_batch;
      continue;
    }
    const pool::SharedFrame& f = proto_ == protocol::Subprotocol::kZstd ? e->batch.zstd
                                 : v2                                   ? e->batch.v2
                                 : deflate_bits_ != 0
                                     ? shard_.deflate_frame(*c.room, *e, deflate_bits_)
                                     : shard_.json_frame(*c.room, *e);
    // Counted when queued: against the same batch as an uncompressed JSON frame.
    if (deflate_bits_ != 0)
      shard_.counters().deflate_saved_bytes.add(pool::ws_frame_size(e->batch.raw_bytes) - f.size());
    bufs.push_back(buf_of(f.data(), f.size()));
    out_.pins.emplace_back(e);
    out_.msgs += e->batch.msg_count();
    bytes += f.size();
    ++c.next_batch;
    // A v2 client started at a keyframe may be sent batches it already has: its
    // position never goes back.
    c.next_msg = std::max(c.next_msg, e->batch.last_msg + 1);
  }
  return true;
}

bool Connection::v2_sendable(Cursor& c, LogEntry& e) {
  const batcher::Batch& b = e.batch;
  // Built while the room had no v2 member here (a v2 client joined just after, or resumes
  // into batches of such a time): framed alone, it is a keyframe, and the room's next
  // stream batch is one too. So a live joiner waits for no keyframe and skips nothing.
  if (b.no_stream) shard_.v2_frame(*c.room, e);
  if (b.v2.size() == 0) {
    // Outside the room's stream (history read back from the backplane, or a batch that
    // did not decompress): the client's decoder cannot take it nor what follows it
    // until a keyframe.
    c.synced = false;
    return false;
  }
  if (c.synced) return true;
  if (!b.keyframe) return false;
  if (b.first_msg > c.next_msg) {
    protocol::append_gap(out_.head, c.room->name, c.next_msg, b.first_msg - 1);
    shard_.counters().gaps.add();
    shard_.counters().skipped_msgs.add(b.first_msg - c.next_msg);
    c.next_msg = b.first_msg;
  }
  c.synced = true;
  return true;
}

void Connection::write_cb(uv_write_t* req, int status) {
  static_cast<Connection*>(req->data)->on_written(status);
}

// Completing a write (and pumping the next) is fan-out work: its loop time is counted
// for the window controller. The Shard outlives the Connection, which may be closing.
void Connection::on_written(int status) {
  Shard& shard = shard_;
  uint64_t start = mono_ns();
  complete_write(status, start);
  shard.counters().fanout_ns.add(mono_ns() - start);
}

void Connection::complete_write(int status, uint64_t now) {
  out_.busy = false;
  uint64_t newest_built_ns = out_.pins.empty() ? 0 : out_.pins.back().get()->batch.built_ns;
  uint64_t oldest_recv_ns = out_.pins.empty() ? 0 : out_.pins.front().get()->batch.first_recv_ns;
  out_.pins.clear();  // unpin: evicted entries are freed here
  size_t written = out_.bytes;
  out_.bytes = 0;
  out_.head.clear();
  out_.tail.clear();
  out_.cipher.clear();
  if (state_ == State::kDead) return;  // cancelled by uv_close
  active_ = true;
  if (status < 0) {
    abort(CloseReason::kIoError);
    return;
  }
  if (newest_built_ns != 0) shard_.counters().lag_ns.offer(now - newest_built_ns);
  count_write(written, oldest_recv_ns == 0 ? 0 : now - oldest_recv_ns);
  if (close_after_write_ && ctrl_.empty()) {
    // RFC 6455 7.1.1: once the close handshake is complete the server closes the TCP
    // connection first. Otherwise (HTTP answer, or our close not yet answered) send
    // FIN and give the peer a moment.
    if (ws_ && ws_->close_received() && ws_->close_sent()) {
      abort(close_reason_);
    } else {
      linger();
    }
    return;
  }
  pump();
}

// Counts a completed write. `latency_ns` is how long the oldest batch's first event
// waited from receive to now: the longest any message of this write waited, observed
// once per write (not per message); 0 when the write carried no batch.
void Connection::count_write(size_t written, uint64_t latency_ns) {
  ShardCounters& c = shard_.counters();
  c.deliveries.add(out_.msgs);
  c.bytes_out.add(written);
  c.writes.add();
  if (latency_ns != 0) c.latency_ns.observe(latency_ns);
}

}  // namespace tg::gateway
