#include "scheduler/scheduler.h"

#include <algorithm>

namespace sealmail {

Scheduler::Scheduler(Store* store, const Clock& clock, SchedulePolicy policy, uint64_t seed)
    : store_(store),
      clock_(clock),
      policy_(policy),
      batch_size_(std::max<size_t>(policy.batch, 1)),
      rng_(seed) {}

Result<uint64_t> Scheduler::Recover() { return store_->RecoverLeases(); }

Result<std::vector<StoredRecipient>> Scheduler::NextBatch() {
  return store_->Lease(batch_size_, policy_.resend_uncertain);
}

Result<std::vector<StoredRecipient>> Scheduler::NextBatchRecording(
    const std::vector<Transition>& ts) {
  return store_->LeaseAndRecord(batch_size_, policy_.resend_uncertain, ts);
}

void Scheduler::Settle(const StoredRecipient& r, const Outcome& out, Transition* t) {
  const int64_t now = clock_.NowUnix();
  t->attempted = true;
  t->detail = out.detail;
  t->retry_at = 0;
  t->suppress = false;
  t->uncertain = false;
  switch (out.kind) {
    case Outcome::Kind::kDelivered:
      t->state = DeliveryState::kSent;
      return;
    case Outcome::Kind::kPermanent:
      // The server said this address will never work: never mail it again
      // from this state, in any campaign.
      t->state = DeliveryState::kFailed;
      t->suppress = true;
      return;
    case Outcome::Kind::kTransient:
    case Outcome::Kind::kUncertain:
      break;
  }
  t->state = DeliveryState::kDeferred;
  if (out.kind == Outcome::Kind::kUncertain) {
    t->uncertain = true;
    t->detail = "uncertain (the server may have taken it; resent with the same Message-ID): " +
                out.detail;
  }
  if (out.stop_run) {
    // Local trouble or configuration: not the recipient's fault; stays due.
    t->retry_at = now;
    return;
  }
  const int attempts = r.attempts + 1;  // including the one that just ended
  const int64_t first = r.first_attempt_at != 0 ? r.first_attempt_at : now;
  if (policy_.max_attempts > 0 && attempts >= policy_.max_attempts) {
    t->state = DeliveryState::kFailed;
    t->detail = "gave up after " + std::to_string(attempts) + " attempts (max_attempts): " +
                t->detail;
    return;
  }
  if (now - first >= policy_.retry.max_age_seconds) {
    t->state = DeliveryState::kFailed;
    t->detail = "gave up after max_age (" + DescribeWait(now - first).substr(3) +
                " since the first attempt): " + t->detail;
    return;
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  int64_t delay = RetryDelaySeconds(policy_.retry, attempts, unit(rng_));
  int64_t last_chance = first + policy_.retry.max_age_seconds;  // one attempt at max_age
  t->retry_at = delay < 0 ? last_chance : std::min(now + delay, last_chance);
}

Result<int64_t> Scheduler::NextDue() { return store_->NextRetryAt(); }

void Scheduler::Observe(const BatchCost& cost) {
  constexpr int64_t kQuickNanos = 50'000'000, kSlowNanos = 500'000'000;
  constexpr uint64_t kMaxBatchBytes = 16u << 20;
  // A short batch (the last of the due, or one with refused messages) tells
  // little about a full one.
  if (cost.messages == 0 || cost.messages < batch_size_) return;
  const size_t least = std::max<size_t>(policy_.batch, 1);
  const size_t most = std::max(policy_.max_batch, least);
  if (cost.transport_ns > kSlowNanos) {
    batch_size_ = std::max(batch_size_ / 2, least);
  } else if (cost.transport_ns < kQuickNanos && batch_size_ < most &&
             cost.bytes / cost.messages * 2 * batch_size_ <= kMaxBatchBytes) {
    batch_size_ = std::min(batch_size_ * 2, most);
  }
}

bool Scheduler::WaitUntil(int64_t due, const std::atomic<bool>* stop,
                          const std::function<void(int64_t nanos)>& sleep) {
  for (;;) {
    if (stop != nullptr && stop->load()) return false;
    int64_t left = due - clock_.NowUnix();
    if (left <= 0) return true;
    sleep(std::min<int64_t>(left * 1000000000, 200000000));
  }
}

std::string DescribeWait(int64_t seconds) {
  if (seconds <= 0) return "now";
  int64_t d = seconds / 86400, h = seconds % 86400 / 3600, m = seconds % 3600 / 60,
          s = seconds % 60;
  std::string out = "in";
  if (d > 0) out += " " + std::to_string(d) + "d";
  if (h > 0) out += " " + std::to_string(h) + "h";
  if (m > 0 && d == 0) out += " " + std::to_string(m) + "m";
  if (s > 0 && d == 0 && h == 0) out += " " + std::to_string(s) + "s";
  return out;
}

}  // namespace sealmail
