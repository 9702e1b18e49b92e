#include <algorithm>
#include <random>

#include "dns/dns.h"

namespace sealmail {

namespace {

Status LookupFailure(const Status& s, const std::string& what) {
  if (s.code() == Status::Code::kNotFound) {
    return Status::Permanent("550 5.1.2 " + what + ": no such domain (NXDOMAIN)");
  }
  return Status::Transient("DNS: " + what + ": " + s.message());
}

}  // namespace

Result<std::vector<MailHost>> ResolveMailHosts(Resolver& r, const std::string& domain,
                                               uint64_t shuffle_seed) {
  auto mx = r.LookupMx(domain);
  if (!mx.ok()) return LookupFailure(mx.status(), "MX lookup for " + domain);
  std::vector<MailHost> out;
  if (mx->empty()) {
    // RFC 5321 §5.1: no MX records: the domain itself is the implicit MX.
    auto a = r.LookupAddresses(domain);
    if (!a.ok()) return LookupFailure(a.status(), "address lookup for " + domain);
    if (a->empty()) {
      return Status::Permanent("550 5.1.2 " + domain + ": no MX and no A/AAAA records");
    }
    for (auto& addr : *a) out.push_back({domain, addr, 0});
    return out;
  }
  for (const auto& m : *mx) {
    if (m.host.empty() || m.host == ".") {
      // RFC 7505: the domain says it accepts no mail at all.
      return Status::Permanent("556 5.1.10 " + domain +
                               ": null MX (RFC 7505): the domain accepts no mail");
    }
  }
  std::vector<MxRecord> sorted = *mx;
  // Equal preferences in random order (§5.1: spread the load), then stable
  // by preference.
  std::mt19937_64 rng(shuffle_seed);
  std::shuffle(sorted.begin(), sorted.end(), rng);
  std::stable_sort(sorted.begin(), sorted.end(), [](const MxRecord& a, const MxRecord& b) {
    return a.preference < b.preference;
  });
  std::string trouble;
  for (const auto& m : sorted) {
    auto a = r.LookupAddresses(m.host);
    if (!a.ok()) {
      trouble = m.host + ": " + a.status().message();
      continue;
    }
    for (auto& addr : *a) out.push_back({m.host, addr, m.preference});
  }
  if (out.empty()) {
    // Usually a passing DNS problem or a misconfiguration the domain will
    // fix: try again later rather than fail the recipient.
    return Status::Transient("DNS: no address for any MX host of " + domain +
                             (trouble.empty() ? "" : " (" + trouble + ")"));
  }
  return out;
}

MailRouteCache::MailRouteCache(Resolver* r, const Clock* clock, int64_t ttl_seconds,
                               int64_t transient_ttl_seconds)
    : r_(r),
      clock_(clock),
      ttl_ns_(ttl_seconds * 1000000000LL),
      transient_ttl_ns_(transient_ttl_seconds * 1000000000LL) {}

std::optional<Result<std::vector<MailHost>>> MailRouteCache::Peek(const std::string& domain) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(domain);
  if (it == entries_.end() || it->second.expires_ns <= clock_->MonotonicNanos()) {
    return std::nullopt;
  }
  return it->second.route;
}

Result<std::vector<MailHost>> MailRouteCache::Get(const std::string& domain) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(domain);
    if (it != entries_.end() && it->second.expires_ns > clock_->MonotonicNanos()) {
      return it->second.route;
    }
  }
  // The lookup runs unlocked: one slow domain does not hold up the others.
  auto route = ResolveMailHosts(*r_, domain, std::hash<std::string>()(domain));
  bool transient = !route.ok() && route.status().code() == Status::Code::kTransient;
  std::lock_guard<std::mutex> lock(mu_);
  int64_t ttl = transient ? transient_ttl_ns_ : ttl_ns_;
  entries_.insert_or_assign(domain, Entry{route, clock_->MonotonicNanos() + ttl});
  return route;
}

}  // namespace sealmail
