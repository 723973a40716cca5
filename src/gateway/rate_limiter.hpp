// rate_limiter.hpp -- RateLimiter: the per-connection flood limit. A token bucket of
// `rate` frames per second with room for `burst`; a client refused without a pause for
// `close_after_ms` is flooding and should be closed. Pure: the caller passes the time.
#pragma once

#include <cstdint>

namespace tg::gateway {

class RateLimiter {
 public:
  enum class Verdict { kAllow, kRefuse, kRefuseAndNotify, kClose };

  // `rate` <= 0 disables the limit (every frame is allowed).
  RateLimiter(double rate, double burst, uint64_t close_after_ms);

  // Called for each frame at `now_ms` (a monotonic clock). kRefuseAndNotify is kRefuse
  // for the first refusal of each second, so the error notices cannot themselves flood.
  Verdict on_frame(uint64_t now_ms);

  // A new rate and burst (a reload); the bucket keeps what it holds, up to the new burst.
  void set_limit(double rate, double burst);

 private:
  double rate_;
  double burst_;
  uint64_t close_after_ms_;
  double tokens_;
  uint64_t last_ms_ = 0;
  uint64_t streak_start_ms_ = 0;  // first refusal of the current run of refusals
  uint64_t last_refusal_ms_ = 0;
  uint64_t last_notice_ms_ = 0;
  bool started_ = false;
};

}  // namespace tg::gateway
