#include "engine/compose_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "base/hash.h"

namespace sealmail {

ComposePool::ComposePool(const Campaign& campaign, const TemplateRenderer& renderer,
                         const Guard& guard, const Clock& clock, const DkimSigner* signer,
                         size_t threads, bool hash_for_audit)
    : hash_for_audit_(hash_for_audit) {
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
    composers_.push_back(
        std::make_unique<Composer>(campaign, TemplateRenderer(renderer), guard, clock, signer));
  }
}

ComposeStats ComposePool::stats() const {
  ComposeStats s;
  for (const auto& c : composers_) s.Add(c->stats());
  return s;
}

size_t ComposePool::DefaultThreads() {
  return std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 16);
}

ComposePool::~ComposePool() { Wait(); }

void ComposePool::Work(Composer* c) {
  const auto& rs = *recipients_;
  for (size_t i; (i = next_.fetch_add(1)) < rs.size();) {
    Item& it = (*items_)[i];
    it.msg.emplace(c->Compose(*rs[i], &it.violations));
    // Hashed here, on every core, rather than on the thread that records.
    if (hash_for_audit_ && it.msg->ok()) it.sha256 = Sha256Hex((*it.msg)->bytes());
  }
}

void ComposePool::Start(const std::vector<const Recipient*>* recipients,
                        std::vector<Item>* items) {
  Wait();
  recipients_ = recipients;
  items_ = items;
  items->clear();
  items->resize(recipients->size());
  next_ = 0;
  // Small batches are not worth a thread each.
  size_t n = std::clamp<size_t>((recipients->size() + 7) / 8, 1, composers_.size());
  for (size_t t = 0; t < n; ++t) threads_.emplace_back(&ComposePool::Work, this, composers_[t].get());
}

void ComposePool::Wait() {
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ComposePool::ComposeAll(const std::vector<const Recipient*>& recipients,
                             std::vector<Item>* items) {
  Start(&recipients, items);
  Wait();
}

}  // namespace sealmail
