// admission.hpp -- Admission: the connection limits, shared by every Shard. Each accepted
// TCP connection is counted against --max-connections and, by source address, against
// --max-connections-per-ip, before it costs more than its socket. A connection over a
// limit is not admitted: it is answered with an HTTP status (503 or 429) while a small,
// fixed number of such refusals are under way, and dropped at once beyond that, so that
// refusing cannot itself exhaust file descriptors.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace tg::gateway {

// The part of a peer address a per-address limit counts: an IPv4 address whole, an
// IPv6 address by its /64 (one host, or one customer, usually holds a whole /64).
using AddrKey = std::array<uint8_t, 16>;
AddrKey addr_key(const sockaddr_storage& peer);

class Admission {
 public:
  enum class Verdict : uint8_t {
    kNone,         // not counted (yet): release() does nothing
    kAdmit,        // counted as open against both limits
    kServerFull,   // over --max-connections: refused with 503
    kAddressFull,  // over --max-connections-per-ip: refused with 429
  };
  struct Ticket {
    Verdict verdict = Verdict::kNone;
    // For a refusal: it holds a refusal slot and is to be answered with its status;
    // false: every slot is in use, close it at once.
    bool answer = false;
  };

  // 0 disables a limit. `refusal_slots` bounds connections being refused at once.
  Admission(size_t max_total, size_t max_per_addr, size_t refusal_slots);

  // Any thread. Whatever it counts is given back by release() with the same ticket.
  Ticket admit(const AddrKey& key);
  void release(const AddrKey& key, const Ticket& ticket);

  // Any thread: new limits (a reload). Connections already open count against them;
  // none is closed for being over a lowered limit.
  void set_limits(size_t max_total, size_t max_per_addr);

  size_t max_total() const { return max_total_.load(std::memory_order_relaxed); }
  size_t max_per_addr() const { return max_per_addr_.load(std::memory_order_relaxed); }
  size_t open() const;  // admitted connections now

 private:
  struct KeyHash {
    size_t operator()(const AddrKey& k) const;
  };

  std::atomic<size_t> max_total_;
  std::atomic<size_t> max_per_addr_;
  const size_t refusal_slots_;
  mutable std::mutex mu_;
  size_t open_ = 0;
  size_t refusing_ = 0;
  std::unordered_map<AddrKey, uint32_t, KeyHash> per_addr_;  // open connections by address
};

}  // namespace tg::gateway
