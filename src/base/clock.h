// Clock: the one way code reads the time (STYLE.md §7), so that tests, rate
// limits and backoff can run on fake time.
//
// SystemClock is thread-safe. FakeClock is thread-compatible.
#pragma once

#include <cstdint>
#include <string>

namespace sealmail {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch (wall time; used in Date headers and state).
  virtual int64_t NowUnix() const = 0;
  // Monotonic nanoseconds (intervals, rates).
  virtual int64_t MonotonicNanos() const = 0;
};

// "2026-11-25 12:00:00 UTC" for a Unix time (what reports and lists print).
std::string FormatUtc(int64_t unix_seconds);

class SystemClock final : public Clock {
 public:
  int64_t NowUnix() const override;
  int64_t MonotonicNanos() const override;
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t unix_seconds) : unix_(unix_seconds) {}
  int64_t NowUnix() const override { return unix_; }
  int64_t MonotonicNanos() const override { return mono_; }
  void AdvanceSeconds(int64_t s) {
    unix_ += s;
    mono_ += s * 1000000000;
  }

 private:
  int64_t unix_;
  int64_t mono_ = 0;
};

}  // namespace sealmail
