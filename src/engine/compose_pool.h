// ComposePool: composes (render, MIME, DKIM, guard) a batch of recipients on
// several threads, one Composer each (a Composer is not thread-safe; the
// Guard, the DkimSigner and the AudienceSet are shared read-only). The
// engine's send loop and preflight use it so that every core works when
// DKIM signing dominates.
//
// Thread-compatible: one batch (Start ... Wait) at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "delivery/delivery.h"

namespace sealmail {

class ComposePool {
 public:
  struct Item {
    std::optional<Result<GuardedMessage>> msg;  // set once the batch is composed
    std::vector<GuardViolation> violations;     // when msg is kBlocked
    std::string sha256;  // of the message's bytes, for the audit trail (kSendLoop)
  };

  // What the pool composes for. kSendLoop also hashes each message for the
  // audit trail (Item::sha256), and a composer that is not the loop's
  // bottleneck gives its core up every kYieldEvery of composing: the send
  // loop's other threads (the store's step, the transport, the engine's)
  // wake up while the composers hold every core, and without a yield each
  // waited out the scheduler's time slice, 1-1.5 ms on a 2-core machine, on
  // the loop's critical path (issue #9). In preflight the composers are the
  // bottleneck, and yielding there only cost (0.335 -> 0.383 s at 50,000).
  enum class Use { kPreflight, kSendLoop };
  static constexpr std::chrono::microseconds kYieldEvery{50};

  // threads >= 1 composers, each with its own copy of renderer. campaign,
  // guard, clock and signer must outlive the pool. remember / reuse: the
  // guard's proofs (Composer::set_proofs), may be null.
  ComposePool(const Campaign& campaign, const TemplateRenderer& renderer, const Guard& guard,
              const Clock& clock, const DkimSigner* signer, size_t threads, Use use,
              GuardProofs* remember = nullptr, const GuardProofs* reuse = nullptr);

  ~ComposePool();

  // (*items)[i] receives the composition of *recipients[i]; items is
  // resized. Returns at once: the caller may do other work (record the
  // previous batch, read the next chunk) and must call Wait() before reading
  // *items or touching recipients/items. One batch at a time.
  void Start(const std::vector<const Recipient*>* recipients, std::vector<Item>* items);
  void Wait();

  size_t threads() const { return composers_.size(); }

  // Stage times summed over every thread (CPU-ish: each thread's wall time).
  ComposeStats stats() const;

  // The number of threads worth using on this machine.
  static size_t DefaultThreads();

 private:
  void Loop(size_t index);  // thread `index`: one batch per generation
  void Work(Composer* c, bool yield);  // yield: every kYieldEvery (kSendLoop)

  std::vector<std::unique_ptr<Composer>> composers_;
  const std::vector<const Recipient*>* recipients_ = nullptr;  // of the batch being composed
  std::vector<Item>* items_ = nullptr;
  std::atomic<size_t> next_{0};
  const Use use_;
  // The threads live as long as the pool (and with them their scratch
  // buffers); Start wakes the first workers_ of them.
  std::mutex mu_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;  // guarded by mu_: one per batch
  size_t workers_ = 0;       // guarded by mu_: threads working on this batch
  size_t busy_ = 0;          // guarded by mu_: of those, still working
  bool quit_ = false;        // guarded by mu_
  std::vector<std::thread> threads_;
};

// Waits for the pool's batch when it goes out of scope: declared after what
// the batch reads, so that no compose thread outlives it on an early return.
struct ComposeWait {
  ComposePool* pool;
  ~ComposeWait() { pool->Wait(); }
};

}  // namespace sealmail
