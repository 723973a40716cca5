// swarm.cpp -- loop construction, phase driving and per-second reporting of a swarm run.
#include "bots/swarm.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <thread>

#include "bots/fd_limit.hpp"

namespace tg::bots {
namespace {

constexpr uint32_t kPortsPerSourceIp = 20000;  // well inside the default 28,232-port range
constexpr auto kPoll = std::chrono::milliseconds(100);

std::string make_run_id() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
  return buf;
}

std::vector<WsUrl> parse_urls_or_throw(const std::vector<std::string>& urls) {
  if (urls.empty()) throw std::runtime_error("need at least one --url");
  std::vector<WsUrl> out;
  for (const std::string& url : urls) {
    auto parsed = parse_ws_url(url);
    if (!parsed) throw std::runtime_error("bad --url (want ws:// or wss://IPv4:port/path): " + url);
    out.push_back(std::move(*parsed));
  }
  return out;
}

}  // namespace

struct Swarm::Sample {
  Counters counters;
  uint64_t expected = 0;  // Σ rooms deliverable × counted members
  uint64_t received = 0;  // by counted members
};

Swarm::Swarm(SwarmConfig config)
    : config_(std::move(config)),
      urls_(parse_urls_or_throw(config_.urls)),
      run_(make_run_id()),
      progress_(config_.csv_path, config_.ping) {
  if (config_.clients == 0 || config_.rooms == 0)
    throw std::runtime_error("need clients and rooms");
  if (config_.subprotocol != "zstd" && config_.subprotocol != "json" &&
      config_.subprotocol != "v2" && config_.subprotocol != "deflate") {
    throw std::runtime_error("--subprotocol must be zstd, json, v2 or deflate");
  }
  if (config_.threads == 0) config_.threads = std::max(1u, std::thread::hardware_concurrency());
  const uint64_t wanted = config_.clients + 256;
  const uint64_t got = raise_fd_limit(wanted);
  if (got < wanted) {
    std::fprintf(stderr, "warning: RLIMIT_NOFILE is %llu, below the %llu this run needs\n",
                 (unsigned long long)got, (unsigned long long)wanted);
  }
  for (uint32_t r = 0; r < config_.rooms; ++r) {
    rooms_.push_back(config_.room_prefix + std::to_string(r));
  }
  if (std::any_of(urls_.begin(), urls_.end(), [](const WsUrl& u) { return u.tls; })) {
    std::string error;
    tls_ = tls::TlsContext::client(config_.tls_ca, config_.tls_insecure, error);
    if (!tls_) throw std::runtime_error("--tls-ca: " + error);
  }
  if (!config_.corpus_path.empty()) {
    corpus_ = std::make_shared<const Corpus>(Corpus::load(config_.corpus_path, config_.size));
  }
  build_loops();
}

Swarm::~Swarm() {
  for (auto& loop : loops_) loop->set_phase(Phase::kStop);
  for (auto& loop : loops_) loop->join();
}

void Swarm::build_loops() {
  uint32_t source_ips = config_.source_ips;
  if (source_ips == 0) source_ips = (config_.clients + kPortsPerSourceIp - 1) / kPortsPerSourceIp;
  const bool loopback =
      std::all_of(urls_.begin(), urls_.end(), [](const WsUrl& u) { return u.loopback(); });
  if (source_ips > 1 && !loopback) {
    throw std::runtime_error("several source addresses only work towards 127.0.0.0/8");
  }
  std::random_device rd;
  for (uint32_t t = 0; t < config_.threads; ++t) {
    loops_.push_back(
        std::make_unique<BotLoop>(config_, urls_, run_, rooms_, (uint64_t{rd()} << 32) ^ rd()));
    loops_.back()->set_tls(tls_);
    loops_.back()->set_corpus(corpus_);
  }
  const uint32_t senders = config_.sender_count();
  const uint32_t slow_from = config_.clients - std::min(config_.slow_count(), config_.clients);
  for (uint32_t i = 0; i < config_.clients; ++i) {
    BotSpec spec;
    spec.id = i;
    spec.room = i % config_.rooms;
    spec.sender = i < senders;
    spec.slow = i >= slow_from;
    spec.connect_at_us = static_cast<int64_t>(config_.ramp * 1e6 * i / config_.clients);
    spec.source_ip = source_ips > 1 ? 1 + i % source_ips : 0;
    loops_[i % loops_.size()]->add_bot(spec);
  }
}

double Swarm::seconds_since_start() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

Swarm::Sample Swarm::sample() {
  Sample s;
  // Deliverable messages per room: sent, less those refused or still in doubt.
  std::vector<uint64_t> sent(rooms_.size(), 0), unsent(rooms_.size(), 0), members(rooms_.size(), 0);
  for (auto& loop : loops_) {
    LoopSnapshot snap = loop->take();
    s.counters.add(snap.counters);
    second_latency_.merge(snap.latency_us);
    second_ping_.merge(snap.ping_us);
    for (size_t r = 0; r < rooms_.size(); ++r) {
      sent[r] += snap.room_sent[r];
      unsent[r] += snap.room_unsent[r];
      members[r] += snap.room_members[r];
      s.received += snap.room_received[r];
    }
  }
  for (size_t r = 0; r < rooms_.size(); ++r) {
    s.expected += (sent[r] - std::min(sent[r], unsent[r])) * members[r];
  }
  return s;
}

void Swarm::enter(Phase phase, const char* name) {
  for (auto& loop : loops_) loop->set_phase(phase);
  phase_start_ = Clock::now();
  std::printf("phase %s at %.3fs\n", name, seconds_since_start());
  std::fflush(stdout);
}

void Swarm::wait_phase(const char* name, double max_seconds, const volatile int& stop_flag,
                       bool (Swarm::*done)(const Sample&) const) {
  const auto deadline = phase_start_ + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(max_seconds));
  while (true) {
    std::this_thread::sleep_for(kPoll);
    const Sample s = sample();
    const auto now = Clock::now();
    if (now >= next_tick_) {
      progress_.tick(seconds_since_start(), name, s.counters, second_latency_, second_ping_,
                     config_.quiet);
      second_latency_.reset();
      second_ping_.reset();
      next_tick_ += std::chrono::seconds(1);
    }
    if ((this->*done)(s) || now >= deadline || stop_flag != 0) return;
  }
}

bool Swarm::connected_all(const Sample& s) const {
  return s.counters.pending == 0;
}

bool Swarm::delivered_all(const Sample& s) const {
  // Loops publish every 250 ms: wait for a publication made after sending stopped. A bot
  // still reconnecting may bring back messages in doubt, or be short: wait for it too.
  return Clock::now() - phase_start_ > std::chrono::milliseconds(400) && s.received >= s.expected &&
         s.counters.reconnecting == 0;
}

bool Swarm::closed_all(const Sample& s) const {
  return s.counters.connected == 0;
}

RunTotals Swarm::run(const volatile int& stop_flag) {
  static const volatile int kNever = 0;
  start_ = phase_start_ = Clock::now();
  next_tick_ = start_ + std::chrono::seconds(1);
  for (auto& loop : loops_) loop->start();
  std::printf("phase connect at 0.000s\n");
  wait_phase("connect", config_.ramp + config_.connect_timeout + 2.0, stop_flag,
             &Swarm::connected_all);
  enter(Phase::kSend, "send");
  send_started_s_ = seconds_since_start();
  wait_phase("send", config_.duration, stop_flag, &Swarm::never);
  enter(Phase::kDrain, "drain");
  send_ended_s_ = seconds_since_start();
  wait_phase("drain", config_.drain, kNever, &Swarm::delivered_all);
  enter(Phase::kClose, "close");
  wait_phase("close", 2.0, kNever, &Swarm::closed_all);
  enter(Phase::kStop, "stop");
  for (auto& loop : loops_) loop->join();

  RunTotals totals(rooms_);
  for (auto& loop : loops_) loop->add_sent_to(totals);
  for (auto& loop : loops_) loop->add_clients_to(totals);
  totals.send_seconds = send_ended_s_ - send_started_s_;
  totals.elapsed_seconds = seconds_since_start();
  return totals;
}

}  // namespace tg::bots
