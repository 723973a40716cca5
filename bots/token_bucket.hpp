// token_bucket.hpp -- the read budget of a slow client, in bytes per second.
#pragma once

#include <cstdint>

namespace tg::bots {

// A token bucket: `rate` bytes per second accrue up to `burst` bytes. Pure arithmetic
// over a caller-supplied clock (microseconds), so tests drive it with a fake one.
class TokenBucket {
 public:
  TokenBucket(double rate_bps, double burst_bytes, int64_t now_us);

  // Bytes that may be read now (whole bytes, >= 0).
  uint64_t available(int64_t now_us);
  // Spends `bytes` (may overdraw; the debt is paid back by later refills).
  void consume(uint64_t bytes);
  // Microseconds until at least `bytes` are available (0 if they already are).
  int64_t wait_us(uint64_t bytes, int64_t now_us);

 private:
  void refill(int64_t now_us);

  double rate_;
  double burst_;
  double tokens_;
  int64_t last_us_;
};

}  // namespace tg::bots
