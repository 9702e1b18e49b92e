#include "base/clock.h"

#include <ctime>

namespace sealmail {

int64_t SystemClock::NowUnix() const { return static_cast<int64_t>(std::time(nullptr)); }

int64_t SystemClock::MonotonicNanos() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace sealmail
