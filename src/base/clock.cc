#include "base/clock.h"

#include <ctime>

namespace sealmail {

std::string FormatUtc(int64_t unix_seconds) {
  time_t tt = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

int64_t SystemClock::NowUnix() const { return static_cast<int64_t>(std::time(nullptr)); }

int64_t SystemClock::MonotonicNanos() const {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace sealmail
