// DestinationShaper: decides when the next message to a destination domain may
// start, from a global token bucket and in-flight limit (`rate`,
// `concurrency` of [transport]) and, for each domain listed in
// [transport.domains], that domain's own bucket and in-flight limit. A message
// to a listed domain needs a token from both buckets and a free slot in both
// limits; every other domain shares the global limits only.
//
// Time comes from the injected Clock, so the shaping runs on fake time in
// tests. The shaper never sleeps: it says how long the caller has to wait.
//
// Thread-compatible: the caller (the SMTP transport) serialises all calls
// with its own lock. *clock must outlive the shaper.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "ratelimit/ratelimit.h"

namespace sealmail {

struct DomainLimit {
  std::string domain;   // lower-case A-label, matched exactly
  double rate = 0;      // messages per second, 0 = no limit of its own
  int concurrency = 0;  // in-flight messages, 0 = no limit of its own
};

class DestinationShaper {
 public:
  // TryStart's answer when only a Finish() can make room.
  static constexpr int64_t kUntilFinish = std::numeric_limits<int64_t>::max();

  // global_rate 0 = no global rate; global_concurrency 0 = no global limit.
  // Buckets allow bursts of one second's worth (at least one message).
  DestinationShaper(double global_rate, int global_concurrency, std::vector<DomainLimit> domains,
                    const Clock* clock);

  // Number of limit classes: 0 is "every domain not listed", 1.. the listed
  // domains in the order given.
  int classes() const { return static_cast<int>(domains_.size()) + 1; }
  // The class of a (lower-case) recipient domain.
  int ClassOf(std::string_view domain) const;

  // Starts one message of class c when the limits allow it now (takes the
  // tokens and an in-flight slot) and returns 0. Otherwise takes nothing and
  // returns the nanoseconds until a token may be available, or kUntilFinish
  // when a concurrency limit is full.
  int64_t TryStart(int c);
  // The message started with TryStart(c) is done.
  void Finish(int c);
  // TryStart(c) as if the message of class `finishing` were done: when it
  // starts, `finishing` is finished (its slot passes to the new message);
  // otherwise nothing changes. For a connection that starts its next
  // message while the current one waits for its last reply.
  int64_t TryHandOver(int finishing, int c);

  // Messages of listed class c in flight; in_flight(0) counts all of them.
  int in_flight(int c) const;
  int in_flight_total() const { return global_.in_flight; }

 private:
  struct Limit {
    std::unique_ptr<TokenBucket> bucket;  // null: no rate limit
    int concurrency = 0;                  // 0: none
    int in_flight = 0;
  };
  static Limit MakeLimit(double rate, int concurrency, const Clock* clock);

  Limit global_;
  std::vector<Limit> domains_;
  std::unordered_map<std::string, int> class_of_;
};

}  // namespace sealmail
