// token_bucket.cpp -- refill and spending of the slow-reader byte budget.
#include "bots/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace tg::bots {

TokenBucket::TokenBucket(double rate_bps, double burst_bytes, int64_t now_us)
    : rate_(std::max(rate_bps, 1.0)),
      burst_(std::max(burst_bytes, 1.0)),
      tokens_(burst_),
      last_us_(now_us) {}

void TokenBucket::refill(int64_t now_us) {
  if (now_us > last_us_) {
    tokens_ = std::min(burst_, tokens_ + rate_ * static_cast<double>(now_us - last_us_) / 1e6);
    last_us_ = now_us;
  }
}

uint64_t TokenBucket::available(int64_t now_us) {
  refill(now_us);
  return tokens_ <= 0 ? 0 : static_cast<uint64_t>(tokens_);
}

void TokenBucket::consume(uint64_t bytes) {
  tokens_ -= static_cast<double>(bytes);
}

int64_t TokenBucket::wait_us(uint64_t bytes, int64_t now_us) {
  refill(now_us);
  const double missing = static_cast<double>(bytes) - tokens_;
  return missing <= 0 ? 0 : static_cast<int64_t>(std::ceil(missing / rate_ * 1e6));
}

}  // namespace tg::bots
