// DMARC relaxed alignment (RFC 7489 §3.1.1): same organisational domain,
// which RFC 7489 §3.2 defines through a public suffix list. libpsl reads the
// system's list (Debian's publicsuffix package) and falls back to the copy
// built into the library.
#include <libpsl.h>

#include "dkim/dkim.h"

namespace sealmail {
namespace {

const psl_ctx_t* Psl() {
  // Loaded once, immutable afterwards; libpsl lookups are thread-safe.
  static const psl_ctx_t* psl = [] {
    const psl_ctx_t* p = psl_latest(nullptr);
    return p != nullptr ? p : psl_builtin();
  }();
  return psl;
}

std::string Normalise(std::string_view d) {
  std::string out(d);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

std::string OrganizationalDomain(std::string_view domain) {
  std::string d = Normalise(domain);
  if (d.empty() || d.front() == '[') return d;  // an address literal has no organisation
  const psl_ctx_t* psl = Psl();
  if (psl == nullptr) return d;
  const char* reg = psl_registrable_domain(psl, d.c_str());
  return reg != nullptr ? std::string(reg) : d;
}

bool DkimAligned(std::string_view from_domain, std::string_view signing_domain) {
  std::string a = OrganizationalDomain(from_domain);
  return !a.empty() && a == OrganizationalDomain(signing_domain);
}

}  // namespace sealmail
