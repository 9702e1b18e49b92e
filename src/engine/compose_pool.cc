#include "engine/compose_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "base/hash.h"

namespace sealmail {

ComposePool::ComposePool(const Campaign& campaign, const TemplateRenderer& renderer,
                         const Guard& guard, const Clock& clock, const DkimSigner* signer,
                         size_t threads) {
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

void ComposePool::ComposeAll(const std::vector<const Recipient*>& recipients,
                             std::vector<Item>* items) {
  items->clear();
  items->resize(recipients.size());
  std::atomic<size_t> next{0};
  auto work = [&](Composer* c) {
    for (size_t i; (i = next.fetch_add(1)) < recipients.size();) {
      Item& it = (*items)[i];
      it.msg.emplace(c->Compose(*recipients[i], &it.violations));
      // Hashed here, on every core, rather than on the thread that records.
      if (it.msg->ok()) it.sha256 = Sha256Hex((*it.msg)->bytes());
    }
  };
  // Small batches are not worth a thread.
  size_t n = std::min(composers_.size(), (recipients.size() + 7) / 8);
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < n; ++t) helpers.emplace_back(work, composers_[t].get());
  work(composers_[0].get());
  for (auto& h : helpers) h.join();
}

}  // namespace sealmail
