// TokenBucket: at most `rate` events per second on average, with bursts of
// at most `burst`, on an injected Clock (so tests run on fake time).
//
// Thread-safe: workers of one transport share a bucket.
#pragma once

#include <cstdint>
#include <mutex>

#include "base/clock.h"

namespace sealmail {

class TokenBucket {
 public:
  // rate > 0 events per second; burst >= 1. *clock must outlive the bucket.
  TokenBucket(double rate, double burst, const Clock* clock);

  // Takes one token if one is available now.
  bool TryTake();
  // Nanoseconds until a token will be available (0 when one is now).
  int64_t NanosUntilNext();

 private:
  void RefillLocked();

  const double rate_;
  const double burst_;
  const Clock* clock_;
  std::mutex mu_;
  double tokens_;
  int64_t last_ns_;
};

}  // namespace sealmail
