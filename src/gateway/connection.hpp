// connection.hpp -- Connection: one client's TCP connection on its Shard, from the HTTP
// request through the WebSocket session; serves the client its rooms' batches from
// per-room Cursors, in as few writes as it can, never more than --client-inflight at once.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/jwt.hpp"
#include "gateway/admission.hpp"
#include "gateway/rate_limiter.hpp"
#include "gateway/room_log.hpp"
#include "http/request.hpp"
#include "metrics/shard_counters.hpp"
#include "protocol/upgrade.hpp"
#include "tls/tls_stream.hpp"
#include "ws/session.hpp"

namespace tg::protocol {
struct ClientCommand;
}
namespace tg::batcher {
struct Refusal;
enum class InboundKind : uint8_t;
enum class NameResult : uint8_t;
}  // namespace tg::batcher

namespace tg::gateway {

class Shard;
struct RoomState;

// Where a client stands in one room: the next batch to send it and the seq of the next
// message it expects (a batch starting later means the messages between are lost).
// tidegate.v2.zstd: `synced` says the client's decoder for the room follows the room's
// stream; when false, batches are skipped up to the next keyframe (and their messages
// reported as a gap).
struct Cursor {
  RoomState* room;
  uint64_t next_batch;
  uint64_t next_msg;
  bool synced = true;
};

using metrics::CloseReason;

class Connection final : public ws::WsSession::Handler {
 public:
  // A reload's new --rate-limit and --rate-burst (Shard::reconfigure).
  void set_rate_limit(double rate, double burst) { limiter_.set_limit(rate, burst); }

  Connection(Shard& shard, uint64_t id);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Accepts the pending connection of `listener` and starts reading. On failure the
  // connection is closed and freed through the usual uv_close path.
  void accept(uv_stream_t* listener);

  // Writes whatever is due (notices, batches from the cursors) unless a write is in
  // flight; the write's completion calls it again. Loop thread only.
  void pump();

  // Server shutdown: finish sending what the log holds for this client, then close
  // with 1001. HTTP connections are dropped at once.
  void close_for_shutdown();

  // Closes the TCP connection now (no close frame); the object is freed in uv_close's
  // callback, never inside the caller's stack.
  void abort(CloseReason why);

  // True while an open WebSocket client has batches due that are not yet written (its
  // write is in flight or over --client-inflight). Loop thread only.
  bool behind() const;

  // The Shard's sweep, about once a second. A client that neither sent nor was written
  // anything since the previous sweep gives back its buffers: the write-side strings and
  // pin vector (empty between writes, but keeping their capacity) and wslay's context
  // (when between messages). A busy client keeps them, so the data path does not
  // allocate them again for each message. Returns the buffer bytes still held.
  size_t sweep_idle();
  // Heap bytes of this connection's buffers (strings, vectors, wslay's context).
  size_t buffer_bytes() const;

  bool pump_queued = false;  // set by the Shard while the connection is in its ready list

  uint64_t id() const { return id_; }
  // Cluster mode. The request this connection waits on (Shard::await_room), 0: none.
  uint64_t waiting_need() const { return waiting_ ? waiting_->need : 0; }
  // The room it waited for can be served now (`usable`), or not (the backplane is
  // unreachable): the connect or join goes on, or is refused.
  void room_ready(bool usable);
  // The room's log was reset (lost in the backplane: `new_epoch`; or trimmed before this
  // node read it): the client is told what it lost, up to `lost_to`, and where the room
  // goes on.
  void room_reset(RoomState& room, uint64_t lost_to, bool new_epoch);
  // A message it sent could not be sent (the backplane was unreachable).
  void refused(const batcher::Refusal& r);
  // Cluster mode: its claim of `name` in the whole cluster was answered.
  void name_answered(const std::string& name, batcher::NameResult result);

  // --auth: whether the client's token has run out at `now_s` (wall clock, seconds since
  // the Unix epoch): its exp + --jwt-leeway-s passed. The Shard's sweep asks, about once
  // a second, then calls close_expired() (connection_auth.cpp).
  bool token_expired(double now_s) const;
  // Tells the client (error token_expired), leaves its rooms and closes with 1008.
  void close_expired();

 private:
  enum class State { kHttp, kOpen, kClosing, kDead };

  static void alloc_cb(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void timer_cb(uv_timer_t* t);
  static void close_cb(uv_handle_t* h);
  static void shutdown_cb(uv_shutdown_t* req, int status);

  void on_read(const char* data, size_t len);
  void on_http(const char* data, size_t len);
  void route(const http::HttpRequest& req, const char* rest, size_t rest_len);
  void upgrade(protocol::Handshake& hs, RoomState& room, const char* rest, size_t rest_len);
  void respond_and_close(std::string response);
  void refuse_over_limit(const http::HttpRequest& req);
  void on_written(int status);
  void complete_write(int status, uint64_t now);
  void close_slow();
  void on_idle_timer();
  void count_write(size_t written, uint64_t latency_ns);
  CloseReason reason_for_close_sent() const;
  void linger();
  // --tls-cert: ciphertext read from the socket, decrypted and handed to on_read().
  void on_tls_read(const char* data, size_t len);
  // The TLS engine failed: counted, its alert (or, for a plaintext HTTP request, a short
  // plaintext 400) sent, then closed.
  void tls_failed();
  // The TLS write path of pump(): what compose() gathered (`composed`), encrypted, and
  // whatever else the engine has to send, as one write.
  void write_tls(bool composed);
  bool encrypt(const std::vector<uv_buf_t>& bufs);

  // --auth (connection_auth.cpp). The handshake's token checked: on refusal `hs` holds
  // the 401 or 403 and false is returned; else `user_` is the token's user (or null:
  // anonymous, --auth off or optional).
  bool authenticate(protocol::Handshake& hs, bool head);
  // GET /auth?room=R with Authorization: Bearer: the answer the upgrade would get (200,
  // 401 or 403 with the reason), for pages, which cannot see a refused upgrade's status.
  void answer_auth_check(const http::HttpRequest& req);
  bool auth_on() const;
  // Whether this client may join `room` / send to it: any room under --auth off, the
  // token's rooms, or for an anonymous client under optional --anonymous-rooms.
  bool may_read(const std::string& room) const;
  bool may_publish(const std::string& room) const;
  void count_auth(metrics::AuthRefuseReason why);
  void handle_refresh(const std::string& token);

  void on_ws_text(std::string_view payload) override;
  void handle_msg(protocol::ClientCommand& cmd);
  void handle_name(const std::string& name);
  // The name is the client's now (claimed): its rooms hear of the rename, it gets `named`.
  void take_name(const std::string& name);
  // Joins `room`; `entered` when the Shard already let the client enter it (connect, or
  // a join that waited for the room).
  void join_room(const std::string& room, std::optional<uint64_t> since,
                 std::optional<uint64_t> epoch, bool notify, RoomState* entered = nullptr);
  // Cluster mode: whether the room cannot serve this client yet (not open here, or the
  // client resumes from before its oldest batch held); then the Shard is asked for it and
  // the connection waits (room_ready).
  bool wait_for_room(RoomState& room, std::optional<uint64_t> since, std::optional<uint64_t> epoch,
                     bool connect);
  // The connect's first notices (hello, a refused name) and its join.
  void start_stream(RoomState& room, std::optional<uint64_t> since, std::optional<uint64_t> epoch);
  void leave_room(size_t index, bool notify);
  Cursor* cursor_for(const std::string& room);
  void detach();

  bool compose();
  bool fell_off_log() const;  // some cursor's next batch was evicted
  bool add_frames(Cursor& c, size_t& bytes);
  // tidegate.v2.zstd: whether entry `e` is sent to cursor `c` (else skipped: the client
  // cannot decode it), resyncing the cursor at a keyframe with a gap for what it skipped.
  bool v2_sendable(Cursor& c, LogEntry& e);
  void v2_start(Cursor& c);

  Shard& shard_;
  uint64_t id_;
  State state_ = State::kHttp;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  uv_shutdown_t shutdown_req_{};
  int open_handles_ = 0;
  uint64_t opened_ms_ = 0;
  std::string peer_;
  AddrKey addr_{};            // what the per-address limit counts
  Admission::Ticket ticket_;  // what Admission counted for us; given back in abort()

  std::unique_ptr<http::HttpRequestParser> http_;  // freed once the request is parsed
  std::unique_ptr<ws::WsSession> ws_;
  std::unique_ptr<tls::TlsStream> tls_;  // --tls-cert: between the socket and the rest
  RateLimiter limiter_;
  protocol::Subprotocol proto_ = protocol::Subprotocol::kJson;
  // permessage-deflate: the server window bits agreed (batches go out deflated), 0: off.
  int deflate_bits_ = 0;
  std::string name_;
  // --auth: the user its token names (its name is name_, never claimed in the
  // NameRegistry: the issuer vouches for it and its tabs share it); null: anonymous.
  std::unique_ptr<auth::Claims> user_;
  std::vector<Cursor> cursors_;
  size_t current_ = 0;  // index in cursors_ of the room plain messages go to

  // Cluster mode: the connect or join waiting for its room (wait_for_room).
  struct Waiting {
    RoomState* room;
    std::optional<uint64_t> since;
    std::optional<uint64_t> epoch;
    bool connect;  // the connect's own room: hello is sent when it is ready
    uint64_t need = 0;
  };
  std::unique_ptr<Waiting> waiting_;
  std::string refused_name_;  // the connect's name, refused: said after hello
  const char* refused_code_ = "name_taken";
  // Cluster mode: a name being claimed in the cluster (held in the local registry
  // meanwhile); with `claim_on_connect_` the connect waits for it before hello.
  std::string claiming_;
  std::unique_ptr<Waiting> claim_on_connect_;
  void submit_name_request(batcher::InboundKind kind, const std::string& name);

  std::string ctrl_;                // notices and control frames waiting for the next write
  bool close_after_write_ = false;  // the last bytes are queued: then FIN and linger
  bool shutdown_pending_ = false;   // close 1001 once the cursors are caught up
  bool lingering_ = false;          // FIN sent; only reading until the peer's FIN
  uint64_t last_heard_ms_ = 0;      // loop time of the last bytes from the client
  bool idle_pinged_ = false;        // pinged for silence, no bytes since
  bool active_ = false;             // read or completed a write since the last sweep
  CloseReason close_reason_ = CloseReason::kClient;

  // The one write in flight and what it keeps alive until it completes; reused. Its
  // buffer list is the Shard's (uv_write copies it), only its size is kept.
  struct Outgoing {
    uv_write_t req{};
    std::string head;  // ctrl_ bytes and gap notices, written first
    std::string tail;  // a close frame, written last
    std::vector<EntryPin> pins;
    std::string cipher;  // --tls-cert: the ciphertext of head, frames and tail
    size_t bytes = 0;
    uint64_t msgs = 0;
    bool busy = false;
  } out_;
};

}  // namespace tg::gateway
