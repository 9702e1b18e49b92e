// Scheduler: which recipients go out now, and what an outcome means for the
// next attempt (DESIGN.md). It leases due recipients from the store in
// batches (uncertain first, then due retries, then pending), and turns each
// transport Outcome into the Transition the engine records: sent; failed and
// suppressed on a permanent refusal; deferred with exponential backoff and
// jitter (bounce/RetryDelaySeconds) bounded by max_attempts and max_age
// (counted from the recipient's first attempt); failed once those are spent.
//
// Rate and per-destination concurrency are the transport's (ratelimit/):
// they act where connections are.
//
// Thread-compatible: one Scheduler per send run. NextBatch and NextDue use
// only the store, Settle only the clock and the jitter's generator, so one
// thread may lease while another settles (the send loop does).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "bounce/bounce.h"
#include "store/store.h"
#include "transport/transport.h"

namespace sealmail {

struct SchedulePolicy {
  RetryPolicy retry;             // retry_interval, max_age
  int max_attempts = 0;          // 0: only max_age bounds the retries
  bool resend_uncertain = true;  // lease uncertain recipients again (same Message-ID)
  // Recipients per lease (and per group commit): `batch` at first, doubled
  // while batches are quick and small, up to `max_batch` (Scheduler::Observe).
  size_t batch = 256;
  size_t max_batch = 1024;
};

// What one full batch cost at the transport (Scheduler::Observe).
struct BatchCost {
  size_t messages = 0;       // handed to the transport
  uint64_t bytes = 0;        // their size
  int64_t transport_ns = 0;  // wall time of the transport's SendBatch
};

class Scheduler {
 public:
  // *store and clock must outlive the scheduler. seed drives the jitter.
  Scheduler(Store* store, const Clock& clock, SchedulePolicy policy, uint64_t seed);

  // Turns the leases of a dead process into uncertain; returns how many.
  Result<uint64_t> Recover();

  // The next batch of due recipients (batch_size() at most), leased durably.
  // Empty: nothing is due now (NextDue says when something will be).
  Result<std::vector<StoredRecipient>> NextBatch();
  // NextBatch, and the transitions of an earlier batch recorded in the same
  // transaction (Store::LeaseAndRecord).
  Result<std::vector<StoredRecipient>> NextBatchRecording(const std::vector<Transition>& ts);

  // The transition for recipient r whose message met `out` at the transport.
  // Fills state, detail, retry_at, suppress, uncertain and attempted; leaves id,
  // message_id and the audit record to the caller.
  void Settle(const StoredRecipient& r, const Outcome& out, Transition* t);

  // Unix time the earliest deferred recipient falls due; 0 when none is deferred.
  Result<int64_t> NextDue();

  // Sizes the next leases from what a batch of batch_size() cost: a lease is
  // one fsynced transaction, so fewer, larger ones let the store keep up
  // (issue #9). The size doubles, up to max_batch, while a batch leaves the
  // transport within 50 ms and the doubled one's messages would stay within
  // 16 MiB (three batches of messages are out at a time); one that took
  // more than 500 ms (a rate limit, a slow server) halves it, down to
  // `batch`, so that a stop (which finishes the batch at the transport) and
  // the leases a crash turns uncertain stay bounded. Not thread-safe against
  // NextBatch: call it while no lease runs.
  void Observe(const BatchCost& cost);
  size_t batch_size() const { return batch_size_; }

  // Sleeps (in slices of at most 200 ms, through `sleep`) until the clock
  // reaches unix time `due`. Returns false when *stop was set meanwhile.
  bool WaitUntil(int64_t due, const std::atomic<bool>* stop,
                 const std::function<void(int64_t nanos)>& sleep);

  const SchedulePolicy& policy() const { return policy_; }

 private:
  Store* store_;
  const Clock& clock_;
  SchedulePolicy policy_;
  size_t batch_size_;
  std::mt19937_64 rng_;
};

// "in 2h 5m", "in 40s", "now": for messages about the next retry.
std::string DescribeWait(int64_t seconds);

}  // namespace sealmail
