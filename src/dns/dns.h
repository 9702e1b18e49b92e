// dns: where mail for a domain goes (RFC 5321 §5.1), behind a Resolver
// interface (STYLE.md §7) so tests can point domains at loopback ports.
//
//  - Resolver: the raw lookups, MX records and host addresses. Backends:
//    AresResolver (c-ares, the system's or given DNS servers; production)
//    and TableResolver (a file of fixed answers; a TEST TOOL, see below).
//  - ResolveMailHosts: MX records in preference order (equal preferences
//    shuffled), each host's addresses; no MX records → the domain itself
//    (its A/AAAA, the "implicit MX"); a null MX (RFC 7505: one MX, ".")
//    or a domain that does not exist → a permanent failure; server trouble
//    → a transient one.
//  - MailRouteCache: ResolveMailHosts once per domain, answers kept for a
//    while (transient failures for less), thread-safe.
//
// Thread-safety: Resolver implementations are thread-safe (AresResolver
// serialises its queries); ResolveMailHosts is a pure function of its
// resolver's answers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace sealmail {

struct MxRecord {
  int preference = 0;
  std::string host;  // lower-case, no trailing dot; "" for the null MX "."
};

struct HostAddress {
  std::string ip;  // numeric IPv4 or IPv6
  int port = 25;   // 25 from DNS; TableResolver may say otherwise
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // The MX records of `domain` (an A-label). An empty vector: the domain
  // exists and has no MX records. Status kNotFound: the domain does not
  // exist (NXDOMAIN); kTransient: timeout or server failure.
  virtual Result<std::vector<MxRecord>> LookupMx(const std::string& domain) = 0;
  // A then AAAA addresses of `host`; empty when it has none. Same failures.
  virtual Result<std::vector<HostAddress>> LookupAddresses(const std::string& host) = 0;
  // Where answers come from, for reports ("" for ordinary DNS).
  virtual std::string Describe() const { return ""; }
};

// One place to try, in the order to try it.
struct MailHost {
  std::string name;  // the MX host name (or the domain, for an implicit MX)
  HostAddress address;
  int preference = 0;
};

// RFC 5321 §5.1 for `domain`. Errors: kPermanent (null MX, no such domain,
// no address at all) or kTransient (lookup trouble), with a message that
// names the domain. `shuffle_seed` orders MX hosts of equal preference.
Result<std::vector<MailHost>> ResolveMailHosts(Resolver& r, const std::string& domain,
                                               uint64_t shuffle_seed = 0);

// Caches ResolveMailHosts per domain: answers for `ttl_seconds`, transient
// failures for `transient_ttl_seconds` (so 10,000 recipients of a domain
// whose DNS is down cost one lookup, not 10,000). *r and *clock must
// outlive the cache. Thread-safe; two threads may resolve the same domain
// at once (both answers are the same).
class MailRouteCache {
 public:
  MailRouteCache(Resolver* r, const Clock* clock, int64_t ttl_seconds = 300,
                 int64_t transient_ttl_seconds = 30);
  Result<std::vector<MailHost>> Get(const std::string& domain);
  // The cached answer, if there is a fresh one; never looks anything up.
  std::optional<Result<std::vector<MailHost>>> Peek(const std::string& domain);

 private:
  struct Entry {
    Result<std::vector<MailHost>> route;
    int64_t expires_ns;
  };
  Resolver* r_;
  const Clock* clock_;
  int64_t ttl_ns_, transient_ttl_ns_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

// c-ares. `servers` empty: the system's resolvers (/etc/resolv.conf);
// otherwise a c-ares server list such as "127.0.0.1:5353" (tests). Each
// query is bounded by `timeout_ms` per try (c-ares retries a few times).
class AresResolver final : public Resolver {
 public:
  static Result<std::unique_ptr<AresResolver>> Create(const std::string& servers = "",
                                                      int timeout_ms = 5000);
  ~AresResolver() override;
  Result<std::vector<MxRecord>> LookupMx(const std::string& domain) override;
  Result<std::vector<HostAddress>> LookupAddresses(const std::string& host) override;

 private:
  struct Impl;
  explicit AresResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// TEST TOOL: fixed answers from a file, so tests can deliver "to the MX" of
// made-up domains on loopback ports. It is only ever used when the
// environment variable SEALMAIL_TEST_RESOLVER_TABLE names the file (see
// engine), and it refuses any address that is not loopback (127.0.0.0/8,
// ::1), so it cannot send real mail anywhere even when set by mistake.
// Format, one record a line, '#' comments:
//   DOMAIN mx PREFERENCE HOST       an MX record ("." as HOST: null MX)
//   HOST   a  IP[:PORT]             an address (IPv6 as [::1]:PORT)
//   DOMAIN nxdomain                 the domain does not exist
//   DOMAIN servfail                 lookups fail transiently
// A name with no line at all does not exist.
class TableResolver final : public Resolver {
 public:
  static constexpr const char* kEnvVar = "SEALMAIL_TEST_RESOLVER_TABLE";
  // Errors name the file and line.
  static Result<std::unique_ptr<TableResolver>> Load(const std::string& path);
  Result<std::vector<MxRecord>> LookupMx(const std::string& domain) override;
  Result<std::vector<HostAddress>> LookupAddresses(const std::string& host) override;
  std::string Describe() const override { return "TEST resolver table " + path_; }

 private:
  struct Name {
    bool nxdomain = false, servfail = false;
    std::vector<MxRecord> mx;
    std::vector<HostAddress> addresses;
  };
  Result<const Name*> Find(const std::string& name) const;
  std::string path_;
  std::map<std::string, Name> names_;  // immutable after Load
};

}  // namespace sealmail
