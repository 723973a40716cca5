// bot_loop.cpp -- the thread, timers and phase changes of one swarm loop.
#include "bots/bot_loop.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace tg::bots {
namespace {

constexpr uint64_t kTickMs = 5;        // connect pacing and slow-reader resumption
constexpr uint64_t kPingTickMs = 100;  // each tick pings a tenth of the bots
constexpr uint64_t kPublishMs = 250;
constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr size_t kCacheEntries = 4096;

std::string make_filler_pool(std::mt19937_64& rng, size_t size) {
  // Lowercase "words" of 2..9 letters: compresses roughly like chat text, unlike a
  // run of one letter (which zstd would make look unrealistically cheap).
  std::string pool;
  pool.reserve(size);
  std::uniform_int_distribution<int> letter('a', 'z'), word(2, 9);
  while (pool.size() < size) {
    for (int n = word(rng); n > 0 && pool.size() < size; --n) {
      pool += static_cast<char>(letter(rng));
    }
    if (pool.size() < size) pool += ' ';
  }
  return pool;
}

}  // namespace

BotLoop::BotLoop(const SwarmConfig& config, const std::vector<WsUrl>& urls, std::string run,
                 const std::vector<std::string>& rooms, uint64_t seed)
    : config_(config),
      urls_(urls),
      run_(std::move(run)),
      rooms_(rooms),
      // permessage-deflate: a batch that would not shrink comes as plain JSON text.
      json_mode_(config.subprotocol == "json" || config.subprotocol == "deflate"),
      room_sent_(rooms.size(), 0),
      room_refused_(rooms.size(), 0),
      room_in_doubt_(rooms.size(), 0),
      room_members_(rooms.size(), 0),
      room_received_(rooms.size(), 0),
      room_batches_(rooms.size()),
      cache_(kCacheEntries),
      decoder_(run_),
      read_buffer_(kReadBufferBytes),
      rng_(seed),
      filler_pool_(make_filler_pool(rng_, std::max<size_t>(65536, 2 * config.size))) {
  if (uv_loop_init(&loop_) != 0) throw std::runtime_error("uv_loop_init failed");
  decoder_.set_v2(config.subprotocol == "v2");
  decoder_.set_deflate(config.subprotocol == "deflate");
  uv_async_init(&loop_, &async_, &BotLoop::async_cb);
  uv_timer_init(&loop_, &tick_timer_);
  uv_timer_init(&loop_, &ping_timer_);
  uv_timer_init(&loop_, &publish_timer_);
  async_.data = tick_timer_.data = ping_timer_.data = publish_timer_.data = this;
}

BotLoop::~BotLoop() {
  if (thread_.joinable()) thread_.join();
}

void BotLoop::add_bot(const BotSpec& spec) {
  bots_.push_back(std::make_unique<Bot>(*this, spec));
}

void BotLoop::start() {
  std::sort(bots_.begin(), bots_.end(), [](const auto& a, const auto& b) {
    return a->spec().connect_at_us < b->spec().connect_at_us;
  });
  counters_.pending = bots_.size();
  published_.counters = counters_;
  publish_rooms();
  thread_ = std::thread([this] { run_thread(); });
}

void BotLoop::run_thread() {
  start_us_ = now_us();
  uv_timer_start(&tick_timer_, &BotLoop::tick_cb, 0, kTickMs);
  uv_timer_start(&publish_timer_, &BotLoop::publish_cb, kPublishMs, kPublishMs);
  if (config_.ping) uv_timer_start(&ping_timer_, &BotLoop::ping_cb, kPingTickMs, kPingTickMs);
  apply_phases();
  uv_run(&loop_, UV_RUN_DEFAULT);                // returns after close_all_handles()
  if (uv_loop_close(&loop_) != 0) std::abort();  // a handle leaked: a bug here
}

void BotLoop::set_phase(Phase phase) {
  int current = requested_phase_.load();
  while (current < static_cast<int>(phase) &&
         !requested_phase_.compare_exchange_weak(current, static_cast<int>(phase))) {
  }
  // Before start() the thread picks the phase up when it starts; after join() the
  // async handle is closed and must not be touched.
  if (thread_.joinable()) uv_async_send(&async_);
}

void BotLoop::join() {
  if (thread_.joinable()) thread_.join();
}

void BotLoop::async_cb(uv_async_t* handle) {
  static_cast<BotLoop*>(handle->data)->apply_phases();
}

void BotLoop::apply_phases() {
  const auto target = static_cast<Phase>(requested_phase_.load());
  while (phase_ < target) {
    phase_ = static_cast<Phase>(static_cast<int>(phase_) + 1);
    enter(phase_);
  }
}

void BotLoop::enter(Phase phase) {
  const int64_t now = now_us();
  switch (phase) {
    case Phase::kConnect:
      return;
    case Phase::kSend:
      for (auto& bot : bots_) bot->count_from_now();
      for (auto& bot : bots_) bot->start_sending(now);
      return;
    case Phase::kDrain:
      for (auto& bot : bots_) bot->stop_sending();
      return;
    case Phase::kClose:
      uv_timer_stop(&ping_timer_);
      for (auto& bot : bots_) bot->close_gracefully();
      return;
    case Phase::kStop:
      publish();
      return close_all_handles();
  }
}

void BotLoop::close_all_handles() {
  for (auto& bot : bots_) bot->close_handles();
  for (uv_handle_t* h :
       {reinterpret_cast<uv_handle_t*>(&async_), reinterpret_cast<uv_handle_t*>(&tick_timer_),
        reinterpret_cast<uv_handle_t*>(&ping_timer_),
        reinterpret_cast<uv_handle_t*>(&publish_timer_)}) {
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  }
}

void BotLoop::tick_cb(uv_timer_t* timer) {
  static_cast<BotLoop*>(timer->data)->on_tick();
}

void BotLoop::on_tick() {
  const int64_t now = now_us();
  while (phase_ <= Phase::kSend && next_connect_ < bots_.size() &&
         connecting_ < config_.max_connecting &&
         bots_[next_connect_]->spec().connect_at_us <= now - start_us_) {
    ++connecting_;
    bots_[next_connect_++]->connect();
  }
  std::erase_if(throttled_, [now](Bot* bot) { return bot->try_resume_reading(now); });
}

void BotLoop::connect_resolved() {
  if (connecting_ > 0) --connecting_;
}

void BotLoop::ping_cb(uv_timer_t* timer) {
  static_cast<BotLoop*>(timer->data)->on_ping_tick();
}

void BotLoop::on_ping_tick() {
  const int64_t now = now_us();
  const size_t slot = ping_tick_++ % 10;
  for (size_t i = slot; i < bots_.size(); i += 10) bots_[i]->send_ping(now);
}

void BotLoop::publish_cb(uv_timer_t* timer) {
  static_cast<BotLoop*>(timer->data)->publish();
}

void BotLoop::publish() {
  const int64_t now = now_us();
  const auto timeout_us = static_cast<int64_t>(config_.connect_timeout * 1e6);
  for (auto& bot : bots_) bot->check_connect_timeout(now, timeout_us);
  counters_.pending = (bots_.size() - next_connect_) + connecting_;
  std::lock_guard lock(mutex_);
  published_.counters = counters_;
  published_.latency_us.merge(latency_interval_);
  published_.ping_us.merge(ping_interval_);
  publish_rooms();
  latency_interval_.reset();
  ping_interval_.reset();
}

void BotLoop::publish_rooms() {
  published_.room_sent = room_sent_;
  published_.room_unsent.resize(room_sent_.size());
  for (size_t r = 0; r < room_sent_.size(); ++r) {
    published_.room_unsent[r] = room_refused_[r] + room_in_doubt_[r];
  }
  published_.room_members = room_members_;
  published_.room_received = room_received_;
}

LoopSnapshot BotLoop::take() {
  std::lock_guard lock(mutex_);
  LoopSnapshot out = published_;
  published_.latency_us.reset();
  published_.ping_us.reset();
  return out;
}

int64_t BotLoop::now_us() {
  return static_cast<int64_t>(uv_hrtime() / 1000);
}

std::string_view BotLoop::filler() {
  const size_t size = config_.size;
  std::uniform_int_distribution<size_t> at(0, filler_pool_.size() - size);
  return std::string_view(filler_pool_).substr(at(rng_), size);
}

void BotLoop::record_latency(int64_t us) {
  const auto v = static_cast<uint64_t>(std::max<int64_t>(us, 0));
  latency_total_.record(v);
  latency_interval_.record(v);
}

void BotLoop::record_delivery(int64_t us) {
  delivery_total_.record(static_cast<uint64_t>(std::max<int64_t>(us, 0)));
}

void BotLoop::record_ping(int64_t us) {
  const auto v = static_cast<uint64_t>(std::max<int64_t>(us, 0));
  ping_total_.record(v);
  ping_interval_.record(v);
}

void BotLoop::count_member(uint32_t room, int64_t delta, uint64_t received) {
  room_members_[room] = static_cast<uint64_t>(static_cast<int64_t>(room_members_[room]) + delta);
  if (delta < 0) room_received_[room] -= std::min(received, room_received_[room]);
}

void BotLoop::add_sent_to(RunTotals& totals) const {
  for (uint32_t r = 0; r < room_sent_.size(); ++r) {
    totals.add_sent(r, room_sent_[r]);
    totals.add_unsent(r, room_refused_[r], room_in_doubt_[r]);
    totals.rooms[r].batches.merge(room_batches_[r]);
  }
}

void BotLoop::add_clients_to(RunTotals& totals) const {
  for (const auto& bot : bots_) totals.add_client(bot->tally());
  totals.counters.add(counters_);
  totals.latency_us.merge(latency_total_);
  totals.ping_us.merge(ping_total_);
  totals.delivery_us.merge(delivery_total_);
}

}  // namespace tg::bots
