// Mailbox addresses: parse, validate and normalise (RFC 5321 Mailbox, RFC 5322
// addr-spec / name-addr, RFC 6531/6532 internationalised addresses, IDN
// domains via libidn2).
//
// Normalisation: the local part is kept exactly as written (RFC 5321 §2.4:
// it is the receiving host's to interpret); the domain is lower-cased and
// converted to A-labels (IDNA2008 via libidn2), so "Jürgen@Bücher.Example"
// becomes "Jürgen@xn--bcher-kva.example".
//
// Anything that is not exactly one address is refused with a reason a person
// can act on: lists (',' ';'), several angle-bracketed addresses, group syntax
// ("team: a@x, b@y;"), CR/LF or other control characters, invalid UTF-8,
// over-long parts, malformed domains.
//
// Decisions callers can rely on:
//  - Comments ("a@example.com (work)") are refused, not skipped.
//  - obs- forms of RFC 5322 are refused (obs-local-part `john."doe"`, CFWS
//    around dots, source routes "<@host:a@b>"), except obs-phrase's '.' in a
//    display name: "John Q. Public <jqp@example.com>" is accepted.
//  - A dotless domain ("a@localhost") is refused by ParseAddress/ParseMailbox,
//    as is an unbracketed IP ("a@192.0.2.1") or an all-numeric last label;
//    address literals "[192.0.2.1]" and "[IPv6:...]" (canonical inet_ntop
//    form) are accepted.
//  - Limits: local part 64 octets, domain 255, label 63, and the whole
//    "local@domain" (A-label form) 254 (RFC 5321 §4.5.3.1).
//  - Refused everywhere: CR, LF, U+2028/U+2029, other C0/C1 controls, DEL,
//    bidi overrides (U+202A-E, U+2066-9), a byte-order mark, invalid UTF-8.
//    Refused in the address (not the display name): Unicode spaces such as
//    U+00A0 and zero-width characters, which are always paste accidents.
//  - Tabs: refused by ParseAddress; ParseMailbox treats them as spaces in and
//    around the display name (header unfolding leaves them) but refuses them
//    in the address.
//  - IDN: each non-ASCII label goes through libidn2 (UTS #46 non-transitional,
//    NFC), so U+3002 and full-width dots and letters are mapped; ASCII labels
//    are checked as LDH without IDNA2008's extra rules ("ab--cd" is fine), and
//    an "xn--" label must round-trip. domain_unicode converts back to domain.
//  - Reasons never contain CR/LF or controls and quote at most ~60 octets of
//    the input; they have no subject ("contains ','..."): prefix the field.
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace sealmail {

struct Address {
  std::string local;           // exact local part as written (quoted-string kept quoted)
  std::string domain;          // lower-case A-label form, or an address literal "[192.0.2.1]"
  std::string domain_unicode;  // lower-case U-label form (equals domain when all-ASCII)

  // "local@domain" with the A-label domain: what goes into headers and RCPT TO.
  std::string ToString() const { return local + "@" + domain; }
  // Identity for de-duplication and lookups: ASCII letters of the local part
  // lower-cased, then "@", then the A-label domain. Two addresses that differ
  // only in the case of the local part reach the same person at every
  // mainstream provider; a bulk sender must not mail them twice.
  std::string Key() const;
  // True when the local part holds non-ASCII (needs SMTPUTF8 / RFC 6532).
  bool NeedsSmtpUtf8() const;
};

// An RFC 5322 mailbox: optional display name plus an address.
struct Mailbox {
  std::string display_name;  // decoded UTF-8 (quotes and quoted-pairs removed); may be empty
  Address address;
};

// Parses a bare address (addr-spec / RFC 5321 Mailbox), e.g. from an audience
// CSV cell. Leading/trailing spaces and tabs are ignored. A display name or
// angle brackets are refused ("put the name in its own column").
Result<Address> ParseAddress(std::string_view text);

// Parses one RFC 5322 mailbox: "Name <local@domain>", "<local@domain>" or a
// bare addr-spec, e.g. the From and Reply-To of a campaign. The display name
// may be a quoted-string or a phrase of atoms (UTF-8 allowed, RFC 6532).
Result<Mailbox> ParseMailbox(std::string_view text);

// Converts a domain (U-labels or A-labels, any case) to lower-case A-labels,
// with the same checks as an address's domain except the dot rule: a dotless
// name such as "localhost" is accepted here.
Result<std::string> DomainToAscii(std::string_view domain);

}  // namespace sealmail
