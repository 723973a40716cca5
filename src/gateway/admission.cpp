// admission.cpp -- counting under one mutex: taken once per accept and once per close,
// never on the message path.
#include "gateway/admission.hpp"

#include <netinet/in.h>

#include <cstring>

namespace tg::gateway {

AddrKey addr_key(const sockaddr_storage& peer) {
  AddrKey k{};
  if (peer.ss_family == AF_INET) {
    // As an IPv4-mapped IPv6 address, so that both families share one key space.
    k[10] = k[11] = 0xFF;
    std::memcpy(&k[12], &reinterpret_cast<const sockaddr_in&>(peer).sin_addr, 4);
  } else if (peer.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      std::memcpy(k.data(), &a, 16);  // a v4 client of a dual-stack socket: whole
    } else {
      std::memcpy(k.data(), &a, 8);  // the /64
    }
  }
  return k;
}

size_t Admission::KeyHash::operator()(const AddrKey& k) const {
  uint64_t a, b;
  std::memcpy(&a, k.data(), 8);
  std::memcpy(&b, k.data() + 8, 8);
  return std::hash<uint64_t>{}(a * 0x9E3779B97F4A7C15ull ^ b);
}

Admission::Admission(size_t max_total, size_t max_per_addr, size_t refusal_slots)
    : max_total_(max_total), max_per_addr_(max_per_addr), refusal_slots_(refusal_slots) {}

Admission::Ticket Admission::admit(const AddrKey& key) {
  std::lock_guard lock(mu_);
  Ticket t{Verdict::kAdmit, false};
  const size_t max_total = max_total_.load(std::memory_order_relaxed);
  const size_t max_per_addr = max_per_addr_.load(std::memory_order_relaxed);
  if (max_total > 0 && open_ >= max_total) {
    t.verdict = Verdict::kServerFull;
  } else if (max_per_addr > 0) {
    auto it = per_addr_.find(key);
    if (it != per_addr_.end() && it->second >= max_per_addr) t.verdict = Verdict::kAddressFull;
  }
  if (t.verdict == Verdict::kAdmit) {
    ++open_;
    // Counted by address even with no per-address limit, so that a reload that sets
    // one counts the connections already open.
    ++per_addr_[key];
  } else if (refusing_ < refusal_slots_) {
    ++refusing_;
    t.answer = true;
  }
  return t;
}

void Admission::release(const AddrKey& key, const Ticket& ticket) {
  std::lock_guard lock(mu_);
  if (ticket.verdict == Verdict::kAdmit) {
    --open_;
    auto it = per_addr_.find(key);
    if (it != per_addr_.end() && --it->second == 0) per_addr_.erase(it);
  } else if (ticket.answer) {
    --refusing_;
  }
}

void Admission::set_limits(size_t max_total, size_t max_per_addr) {
  std::lock_guard lock(mu_);
  max_total_.store(max_total, std::memory_order_relaxed);
  max_per_addr_.store(max_per_addr, std::memory_order_relaxed);
}

size_t Admission::open() const {
  std::lock_guard lock(mu_);
  return open_;
}

}  // namespace tg::gateway
