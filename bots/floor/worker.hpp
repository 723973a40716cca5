// worker.hpp -- one tidegate-floor worker: a thread, a libuv loop, a listening socket, its clients.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bots/floor/floor_config.hpp"
#include "bots/floor/window_schedule.hpp"

namespace tg::fanout {

// What a worker counted; read after join().
struct WorkerTotals {
  // Per group: frames written, whole or queued after a partial write.
  std::vector<uint64_t> frames;
  uint64_t writes = 0;        // write calls: one per member each time its room's windows fall due
  uint64_t skipped = 0;       // frames not written: the member's previous write was in flight
  uint64_t late_windows = 0;  // windows dropped because the loop fell behind (WindowSchedule)
  uint64_t upgrades = 0;      // clients upgraded and made members
  uint64_t refused = 0;       // requests answered with an HTTP error
  uint64_t write_errors = 0;  // clients closed on a failed write (mostly: they had left)
  uint64_t bytes_read = 0;    // from upgraded clients, read and dropped

  void add(const WorkerTotals& o);
};

// Everything the workers share, read-only once they run: the rooms, their names and
// one pre-built frame per room.
struct FloorRooms {
  std::vector<RoomSpec> rooms;
  std::vector<std::string> frames;  // frames[r]: what room r's members get each window
  std::unordered_map<std::string, uint32_t> index;  // room name -> r
};

// Accepts on its own SO_REUSEPORT socket; reads an HTTP request head per connection
// (tg_http), answers it (tg_ws: 101 with the first sub-protocol offered, or an HTTP
// error; 404 for a room it does not serve) and makes the client a member of the
// requested room. From then on it reads and drops whatever the client sends, and when
// the room's windows fall due (WindowSchedule) writes the room's frame, once per window,
// to each member in one write: uv_try_write, the rest with uv_write; a member whose
// write is still in flight skips those windows (counted in `skipped`).
class Worker {
 public:
  Worker(int index, const FloorConfig& config, const FloorRooms& rooms, int listen_fd);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  // Any thread: closes every client and the listener; the thread then ends.
  void stop();
  void join();
  // After join().
  const WorkerTotals& totals() const { return totals_; }

 private:
  struct Client;
  struct Room {
    std::vector<Client*> members;
  };

  void run();
  void on_connection();
  void on_read(Client& c, ssize_t nread, const uv_buf_t* buf);
  void on_request(Client& c);
  void answer(Client& c, std::string response, bool then_close);
  void join_room(Client& c);
  void on_timer();
  void write_windows(uint32_t room, uint32_t windows);
  void send_frames(Client& c, size_t frame_bytes, uint32_t group);
  void close_client(Client& c);
  void close_everything();

  static void connection_cb(uv_stream_t* server, int status);
  static void alloc_cb(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void read_cb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void write_cb(uv_write_t* req, int status);
  static void client_closed_cb(uv_handle_t* handle);
  static void timer_cb(uv_timer_t* timer);
  static void async_cb(uv_async_t* async);
  static void walk_cb(uv_handle_t* handle, void* self);

  const int index_;
  const FloorConfig& config_;
  const FloorRooms& shared_;
  uv_loop_t loop_{};
  uv_tcp_t listener_{};
  uv_timer_t timer_{};
  uv_async_t stop_async_{};
  std::thread thread_;
  std::vector<Room> rooms_;
  WindowSchedule schedule_;
  std::vector<char> read_buffer_;
  std::vector<uv_buf_t> bufs_;  // the window's frame, once per window being written
  WorkerTotals totals_;
};

}  // namespace tg::fanout
