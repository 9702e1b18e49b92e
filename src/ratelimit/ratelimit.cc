#include "ratelimit/ratelimit.h"

#include <algorithm>
#include <cmath>

namespace sealmail {

TokenBucket::TokenBucket(double rate, double burst, const Clock* clock)
    : rate_(rate), burst_(std::max(1.0, burst)), clock_(clock), tokens_(std::max(1.0, burst)),
      last_ns_(clock->MonotonicNanos()) {}

void TokenBucket::RefillLocked() {
  int64_t now = clock_->MonotonicNanos();
  if (now > last_ns_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_ns_) * 1e-9 * rate_);
    last_ns_ = now;
  }
}

bool TokenBucket::TryTake() {
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

int64_t TokenBucket::NanosUntilNext() {
  std::lock_guard<std::mutex> lock(mu_);
  RefillLocked();
  if (tokens_ >= 1.0) return 0;
  return static_cast<int64_t>(std::ceil((1.0 - tokens_) / rate_ * 1e9));
}

}  // namespace sealmail
