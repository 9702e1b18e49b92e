#include "ratelimit/ratelimit_shaper.h"

#include <algorithm>

namespace sealmail {

DestinationShaper::Limit DestinationShaper::MakeLimit(double rate, int concurrency,
                                                      const Clock* clock) {
  Limit l;
  if (rate > 0) l.bucket = std::make_unique<TokenBucket>(rate, std::max(1.0, rate), clock);
  l.concurrency = std::max(0, concurrency);
  return l;
}

DestinationShaper::DestinationShaper(double global_rate, int global_concurrency,
                                     std::vector<DomainLimit> domains, const Clock* clock)
    : global_(MakeLimit(global_rate, global_concurrency, clock)) {
  for (auto& d : domains) {
    if (class_of_.count(d.domain) != 0) continue;  // config rejects duplicates; first wins
    class_of_[d.domain] = static_cast<int>(domains_.size()) + 1;
    domains_.push_back(MakeLimit(d.rate, d.concurrency, clock));
  }
}

int DestinationShaper::ClassOf(std::string_view domain) const {
  auto it = class_of_.find(std::string(domain));
  return it == class_of_.end() ? 0 : it->second;
}

int64_t DestinationShaper::TryStart(int c) {
  Limit* own = c > 0 && c <= static_cast<int>(domains_.size()) ? &domains_[c - 1] : nullptr;
  if (global_.concurrency > 0 && global_.in_flight >= global_.concurrency) return kUntilFinish;
  if (own != nullptr && own->concurrency > 0 && own->in_flight >= own->concurrency) {
    return kUntilFinish;
  }
  // Both buckets must have a token before either is taken, so a message
  // that cannot go does not spend the other bucket's token.
  int64_t wait = 0;
  if (global_.bucket) wait = std::max(wait, global_.bucket->NanosUntilNext());
  if (own != nullptr && own->bucket) wait = std::max(wait, own->bucket->NanosUntilNext());
  if (wait > 0) return wait;
  if (global_.bucket && !global_.bucket->TryTake()) return 1;  // not expected: single caller
  if (own != nullptr && own->bucket && !own->bucket->TryTake()) return 1;
  ++global_.in_flight;
  if (own != nullptr) ++own->in_flight;
  return 0;
}

void DestinationShaper::Finish(int c) {
  --global_.in_flight;
  if (c > 0 && c <= static_cast<int>(domains_.size())) --domains_[c - 1].in_flight;
}

int64_t DestinationShaper::TryHandOver(int finishing, int c) {
  Finish(finishing);
  int64_t ns = TryStart(c);
  if (ns != 0) {  // undo the Finish: `finishing` keeps its slot
    ++global_.in_flight;
    if (finishing > 0 && finishing <= static_cast<int>(domains_.size())) {
      ++domains_[finishing - 1].in_flight;
    }
  }
  return ns;
}

int DestinationShaper::in_flight(int c) const {
  if (c == 0) return global_.in_flight;
  return domains_[c - 1].in_flight;
}

}  // namespace sealmail
