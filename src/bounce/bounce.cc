#include "bounce/bounce.h"

#include <algorithm>
#include <cmath>

namespace sealmail {

BounceVerdict Classify(const BounceInput& in) {
  using K = BounceVerdict::Kind;
  using S = BounceVerdict::Scope;
  BounceVerdict v;
  v.detail = in.detail;
  if (in.stage == BounceInput::Stage::kDone && in.code >= 200 && in.code < 300) {
    v.kind = K::kDelivered;
    return v;
  }
  if (in.stage == BounceInput::Stage::kSession) {
    v.scope = S::kSession;
    v.close_connection = true;
    if (in.one_of_many_hosts) {
      v.kind = K::kTransient;
      v.scope = S::kDestination;
      v.pause_destination = true;
      v.try_next_host = true;
      return v;
    }
    if (in.policy || in.code >= 500) {
      // TLS policy, certificate, AUTH refused, 5xx greeting/EHLO: the same
      // answer would come for every recipient. Nothing was sent.
      v.kind = K::kTransient;
      v.scope = S::kCampaign;
      v.stop_run = true;
      return v;
    }
    v.kind = K::kTransient;
    v.scope = S::kDestination;
    v.pause_destination = true;  // refused, unreachable, hung, 4xx greeting
    return v;
  }
  if (in.code == 421) {
    v.kind = K::kTransient;
    v.scope = S::kDestination;
    v.close_connection = true;
    v.pause_destination = true;
    return v;
  }
  if (in.code == 0 || in.connection_lost) {
    v.close_connection = true;
    // After the final "." was written and before its reply: the server may
    // have taken the message.
    v.kind = in.stage == BounceInput::Stage::kDataEnd ? K::kUncertain : K::kTransient;
    v.scope = S::kSession;
    if (in.code >= 500 && in.stage != BounceInput::Stage::kDataEnd) v.kind = K::kPermanent;
    return v;
  }
  if (in.code >= 500) {
    v.kind = K::kPermanent;
    return v;
  }
  if (in.code >= 400) {
    v.kind = K::kTransient;
    return v;
  }
  // A positive code where a transaction did not finish (e.g. 250 to DATA):
  // a confused server; try again later on a new connection.
  v.kind = K::kTransient;
  v.close_connection = true;
  v.scope = S::kSession;
  return v;
}

int64_t RetryDelaySeconds(const RetryPolicy& p, int attempts, double unit_random) {
  int64_t base = std::max<int64_t>(1, p.retry_interval_seconds);
  int n = std::max(1, attempts);
  // Sum of the waits so far: base * (2^(n-1) - 1) (attempt 1 waited nothing).
  double waited = static_cast<double>(base) * (std::pow(2.0, n - 1) - 1.0);
  if (waited >= static_cast<double>(p.max_age_seconds)) return -1;
  double next = static_cast<double>(base) * std::pow(2.0, n - 1);
  next = std::min(next, std::max<double>(static_cast<double>(base),
                                         static_cast<double>(p.max_age_seconds) / 2));
  double jitter = 0.75 + 0.5 * std::clamp(unit_random, 0.0, 1.0);
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(next * jitter)));
}

}  // namespace sealmail
