// rate_limiter.cpp -- the per-connection token bucket and flood detection.
#include "gateway/rate_limiter.hpp"

#include <algorithm>

namespace tg::gateway {

namespace {
constexpr uint64_t kStreakGapMs = 1000;  // a refusal-free second ends a flood streak
constexpr uint64_t kNoticeEveryMs = 1000;
}  // namespace

RateLimiter::RateLimiter(double rate, double burst, uint64_t close_after_ms)
    : rate_(rate), burst_(std::max(burst, 1.0)), close_after_ms_(close_after_ms), tokens_(burst_) {}

void RateLimiter::set_limit(double rate, double burst) {
  rate_ = rate;
  burst_ = std::max(burst, 1.0);
  tokens_ = std::min(tokens_, burst_);
}

RateLimiter::Verdict RateLimiter::on_frame(uint64_t now_ms) {
  if (rate_ <= 0) return Verdict::kAllow;
  if (started_ && now_ms > last_ms_)
    tokens_ = std::min(burst_, tokens_ + (now_ms - last_ms_) * rate_ / 1000.0);
  started_ = true;
  last_ms_ = std::max(last_ms_, now_ms);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return Verdict::kAllow;
  }
  if (last_refusal_ms_ == 0 || now_ms - last_refusal_ms_ > kStreakGapMs) streak_start_ms_ = now_ms;
  last_refusal_ms_ = now_ms;
  if (now_ms - streak_start_ms_ >= close_after_ms_) return Verdict::kClose;
  if (last_notice_ms_ == 0 || now_ms - last_notice_ms_ >= kNoticeEveryMs) {
    last_notice_ms_ = now_ms;
    return Verdict::kRefuseAndNotify;
  }
  return Verdict::kRefuse;
}

}  // namespace tg::gateway
