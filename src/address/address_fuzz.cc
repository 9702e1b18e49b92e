// libFuzzer target for the address parsers. Beyond "does not crash", it checks
// the properties callers rely on: an accepted address is exactly one address,
// is safe to put in a header or an SMTP command, and is a fixed point of the
// parser (ToString() parses back to the same Address).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "address/address.h"
#include "base/check.h"
#include "base/utf8.h"

namespace sealmail {
namespace {

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

bool Same(const Address& a, const Address& b) {
  return a.local == b.local && a.domain == b.domain && a.domain_unicode == b.domain_unicode;
}

void CheckReason(const Status& s) {
  SM_CHECK(s.code() == Status::Code::kInvalid);
  SM_CHECK(!s.message().empty());
  SM_CHECK(!HasControl(s.message()));  // printed to terminals and logs
  SM_CHECK(IsValidUtf8(s.message()));
}

void CheckAddress(const Address& a) {
  const std::string s = a.ToString();
  SM_CHECK(IsValidUtf8(s));
  SM_CHECK(!HasControl(s));
  SM_CHECK(s.size() <= 254);
  SM_CHECK(!a.local.empty() && a.local.size() <= 64);
  SM_CHECK(!a.domain.empty() && a.domain.size() <= 255);

  // Separators may appear only inside a quoted local part.
  const bool quoted = a.local.front() == '"';
  if (quoted) {
    SM_CHECK(a.local.size() >= 2 && a.local.back() == '"');
  } else {
    SM_CHECK(a.local.find_first_of(",;:<>()[]\\\" @") == std::string::npos);
  }
  SM_CHECK(a.domain.find_first_of(",;<>()\\\" @") == std::string::npos);
  SM_CHECK(IsAscii(a.domain));
  for (char c : a.domain) SM_CHECK(!(c >= 'A' && c <= 'Z') || a.domain.front() == '[');

  SM_CHECK(IsValidUtf8(a.domain_unicode) && !HasControl(a.domain_unicode));
  SM_CHECK(a.NeedsSmtpUtf8() == !IsAscii(a.local));
  SM_CHECK(a.Key().size() == s.size());

  // Fixed point: what we write is what we read.
  Result<Address> again = ParseAddress(s);
  SM_CHECK(again.ok());
  SM_CHECK(Same(*again, a));
  Result<Mailbox> as_mailbox = ParseMailbox(s);
  SM_CHECK(as_mailbox.ok() && as_mailbox->display_name.empty());
  SM_CHECK(Same(as_mailbox->address, a));
  Result<Mailbox> bracketed = ParseMailbox("<" + s + ">");
  SM_CHECK(bracketed.ok() && Same(bracketed->address, a));

  if (a.domain.front() != '[') {
    Result<std::string> d = DomainToAscii(a.domain);
    SM_CHECK(d.ok() && *d == a.domain);
    Result<std::string> u = DomainToAscii(a.domain_unicode);  // the shown form maps back
    SM_CHECK(u.ok() && *u == a.domain);
  } else {
    SM_CHECK(a.domain == a.domain_unicode && a.domain.back() == ']');
  }
}

}  // namespace
}  // namespace sealmail

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sealmail;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  Result<Address> a = ParseAddress(in);
  if (a.ok()) {
    CheckAddress(*a);
    // A bare address means the same to both parsers.
    Result<Mailbox> m = ParseMailbox(in);
    SM_CHECK(m.ok() && m->display_name.empty() && Same(m->address, *a));
  } else {
    CheckReason(a.status());
  }

  Result<Mailbox> m = ParseMailbox(in);
  if (m.ok()) {
    CheckAddress(m->address);
    SM_CHECK(IsValidUtf8(m->display_name));
    SM_CHECK(!HasControl(m->display_name));  // it goes into a From header
    // Without angle brackets a mailbox is a bare address, and the two parsers agree.
    if (in.find_first_of("<>") == std::string_view::npos) {
      SM_CHECK(a.ok() && m->display_name.empty() && Same(m->address, *a));
    }
  } else {
    CheckReason(m.status());
  }

  Result<std::string> d = DomainToAscii(in);
  if (d.ok()) {
    SM_CHECK(IsAscii(*d) && !d->empty() && d->size() <= 255);
    SM_CHECK(d->find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") == std::string::npos);
    Result<std::string> again = DomainToAscii(*d);
    SM_CHECK(again.ok() && *again == *d);
  } else {
    CheckReason(d.status());
  }
  return 0;
}
