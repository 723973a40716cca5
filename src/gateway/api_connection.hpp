// api_connection.hpp -- ApiConnection: one backend's connection to the publish API
// (api_server.hpp), on the API's loop: reads HTTP/1.1 requests with Content-Length
// bodies one after the other (persistent connections), hands each to the ApiServer and
// writes its answer before it reads the next.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "http/request.hpp"
#include "metrics/api_counters.hpp"

namespace tg::gateway {

class ApiServer;

class ApiConnection {
 public:
  ApiConnection(ApiServer& server, uint64_t id);
  ApiConnection(const ApiConnection&) = delete;
  ApiConnection& operator=(const ApiConnection&) = delete;

  // Accepts the pending connection of `listener` and starts reading; false (and closed)
  // when that failed.
  bool accept(uv_stream_t* listener);
  // Answers the request being served, once: a JSON body with `status`, then the next
  // request, or the close when the request asked for one (or `close_after`).
  void respond(int status, std::string_view json, std::string_view extra_headers = {},
               bool close_after = false);
  // The ApiServer's tick (loop time in ms): cuts a request that is late (408), an idle
  // keep-alive connection, a write the peer does not take.
  void tick(uint64_t now_ms);
  // Shutdown: closes now if no request is under way, else after its answer.
  void close_when_idle();
  void close();

  uint64_t id() const { return id_; }
  bool serving() const { return state_ == State::kServing; }
  // The route of the request being served, for the counters (set by the ApiServer).
  void set_route(metrics::ApiRoute route) { route_ = route; }

 private:
  enum class State : uint8_t { kHead, kBody, kServing, kWriting, kClosed };

  static void alloc_cb(uv_handle_t* h, size_t hint, uv_buf_t* buf);
  static void read_cb(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void close_cb(uv_handle_t* h);
  // Parses what was read: a request head, then its body; dispatches a complete request.
  void process();
  bool parse_head(size_t head_len);
  // A request that cannot be read on (bad head, refused body): answered, then closed.
  void refuse(int status, std::string_view code, std::string_view message);
  void next_request();

  ApiServer& server_;
  uint64_t id_;
  uv_tcp_t tcp_{};
  uv_write_t write_req_{};
  uv_write_t continue_req_{};  // a 100 Continue, before the body
  State state_ = State::kHead;
  bool keep_alive_ = true;
  bool close_after_write_ = false;
  metrics::ApiRoute route_ = metrics::ApiRoute::kOther;
  std::string in_;   // bytes read and not yet consumed
  std::string out_;  // the answer being written
  http::HttpRequest request_;
  size_t body_len_ = 0;
  uint64_t deadline_ms_ = 0;  // loop time: the request, the idle wait or the write ends by then
};

}  // namespace tg::gateway
