#include "address/address.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "base/utf8.h"

// A hand-written scanner rather than a regex: the grammar is small, the
// messages must say exactly what is wrong, and audience files hold millions of
// addresses (std::regex is slow and gives no reason for a mismatch).
//
// Order of checks: first the things that make the text unsafe or not text at
// all (line breaks, controls, bad UTF-8), then the things that say "this is
// more than one address" (lists, groups, several '@' or '<...>'), and only
// then the details of one address, so an operator is told the real problem.

namespace sealmail {
namespace {

constexpr size_t kMaxInput = 998;    // RFC 5322 §2.1.1 line limit; bounds all work below
constexpr size_t kMaxAddress = 254;  // RFC 5321 §4.5.3.1.3 path (256) minus "<>"
constexpr size_t kMaxLocal = 64;     // RFC 5321 §4.5.3.1.1
constexpr size_t kMaxDomain = 255;   // RFC 5321 §4.5.3.1.2
constexpr size_t kMaxLabel = 63;     // RFC 1035 §2.3.4
constexpr int kIdnFlags = IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT;
// Not IDN2_USE_STD3_ASCII_RULES: libidn2 2.3 silently deletes characters such
// as ' ' and '_' under it ("a b.com" -> "ab.com"). We check LDH ourselves.

constexpr std::string_view kMore = ": looks like more than one address";
constexpr std::string_view kQuoteName =
    "; put the name in double quotes, e.g. \"Doe, Jane\" <jane@example.com>";

Status Invalid(std::string msg) { return Status::Invalid(std::move(msg)); }

// Quotes user text for a message, cut on a UTF-8 boundary so a pasted
// paragraph does not flood the report. Input has passed CheckText, so its
// only possible control is a tab (in ParseMailbox), shown as a space.
std::string Q(std::string_view s) {
  constexpr size_t kMaxShown = 60;
  std::string out = "\"";
  if (s.size() <= kMaxShown) {
    out.append(s);
  } else {
    size_t n = kMaxShown;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    out.append(s.substr(0, n));
    out.append("...");
  }
  out += '"';
  std::replace(out.begin(), out.end(), '\t', ' ');
  return out;
}

std::string Char(char c) { return std::string("'") + c + "'"; }

std::string CodePoint(char32_t c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

// Decodes the code point at s[i]; s must be valid UTF-8.
char32_t Decode(std::string_view s, size_t i, size_t* len) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  if ((c & 0xE0) == 0xC0) {
    *len = 2;
    return ((c & 0x1F) << 6) | (b(1) & 0x3F);
  }
  if ((c & 0xF0) == 0xE0) {
    *len = 3;
    return ((c & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  }
  *len = 4;
  return ((c & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// RFC 5322 atext (ASCII part); bytes >= 0x80 are atext too (RFC 6532 §3.2).
// A table: every character of a local part is looked up, and each message's
// recipient address is parsed about three times.
constexpr std::array<bool, 256> kAtext = [] {
  std::array<bool, 256> t{};
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-/=?^_`{|}~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool IsAtext(char c) { return kAtext[static_cast<unsigned char>(c)]; }

// Text that is not allowed anywhere: it would break a header (line breaks),
// is invisible (controls, direction overrides used to disguise a name, a
// byte-order mark left by a spreadsheet export), or is not text.
// allow_tab: RFC 5322 folding white space in a header may leave tabs around a
// display name; the callers that allow it refuse tabs inside the address.
Status CheckText(std::string_view t, bool allow_tab = false) {
  if (t.empty()) return Invalid("is empty");
  // Printable ASCII alone (nearly every address) breaks none of the rules
  // below but the length: one pass instead of a UTF-8 decode.
  const bool printable =
      std::all_of(t.begin(), t.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
  if (!printable) {
    if (t.find_first_of("\r\n") != std::string_view::npos) {
      return Invalid("contains a line break");
    }
    if (size_t bad = FirstInvalidUtf8(t); bad != t.size()) {
      return Invalid("is not valid UTF-8 (byte " + std::to_string(bad + 1) +
                     "); save the file with UTF-8 encoding");
    }
  }
  if (t.size() > kMaxInput) {
    return Invalid("is " + std::to_string(t.size()) + " octets long, far too long");
  }
  for (size_t i = 0, len = 0; !printable && i < t.size(); i += len) {
    char32_t c = Decode(t, i, &len);
    if (c == '\t') {
      if (allow_tab) continue;
      return Invalid("contains a tab");
    }
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02X", static_cast<unsigned>(c));
      return Invalid(std::string("contains a control character (") + buf + ")");
    }
    if (c >= 0x80 && c <= 0x9F)
      return Invalid("contains a control character (" + CodePoint(c) + ")");
    if (c == 0x2028 || c == 0x2029) return Invalid("contains a line break (" + CodePoint(c) + ")");
    if ((c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069)) {
      return Invalid("contains an invisible text-direction control (" + CodePoint(c) + ")");
    }
    if (c == 0xFEFF) return Invalid("contains an invisible byte-order mark (U+FEFF)");
  }
  return Status::Ok();
}

// Unicode spaces and zero-width characters are legal UTF-8 atext, but in an
// address they are always a copy-paste accident that makes it undeliverable.
Status CheckInvisible(std::string_view part, std::string_view what) {
  if (IsAscii(part)) return Status::Ok();  // (all of them are non-ASCII)
  for (size_t i = 0, len = 0; i < part.size(); i += len) {
    char32_t c = Decode(part, i, &len);
    if (c < 0x80) continue;
    if (c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F ||
        c == 0x3000) {
      return Invalid(std::string(what) + " " + Q(part) + " contains a special space (" +
                     CodePoint(c) + ")");
    }
    if ((c >= 0x200B && c <= 0x200F) || (c >= 0x2060 && c <= 0x2064)) {
      return Invalid(std::string(what) + " " + Q(part) + " contains an invisible character (" +
                     CodePoint(c) + ")");
    }
  }
  return Status::Ok();
}

// Where the characters that separate or wrap addresses occur outside
// quoted-strings (and, for ':', outside "[...]", since IPv6 literals hold it).
struct Specials {
  static constexpr size_t npos = std::string_view::npos;
  size_t at = npos, comma = npos, semicolon = npos, colon = npos, lt = npos, gt = npos,
         paren = npos;
  int ats = 0, lts = 0, gts = 0;
  bool unclosed_quote = false;
};

Specials Scan(std::string_view t) {
  Specials s;
  bool quoted = false, bracket = false;
  auto first = [](size_t& pos, size_t i) {
    if (pos == Specials::npos) pos = i;
  };
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        if (!bracket) quoted = true;
        break;
      case '[':
        bracket = true;
        break;
      case ']':
        bracket = false;
        break;
      case '@':
        ++s.ats;
        first(s.at, i);
        break;
      case ',':
        first(s.comma, i);
        break;
      case ';':
        first(s.semicolon, i);
        break;
      case ':':
        if (!bracket) first(s.colon, i);
        break;
      case '<':
        ++s.lts;
        first(s.lt, i);
        break;
      case '>':
        ++s.gts;
        first(s.gt, i);
        break;
      case '(':
      case ')':
        first(s.paren, i);
        break;
      default:
        break;
    }
  }
  s.unclosed_quote = quoted;
  return s;
}

// Refusals shared by ParseAddress and ParseMailbox, before any '<...>' is
// looked at.
Status CheckPrefixAndGroup(std::string_view t, const Specials& s) {
  if (s.unclosed_quote) return Invalid("has an opening '\"' without a closing one");
  if (t.size() >= 7) {
    char head[7];
    for (size_t i = 0; i < 7; ++i) head[i] = Lower(t[i]);
    if (std::string_view(head, 7) == "mailto:") {
      return Invalid("starts with \"mailto:\"; give just the address");
    }
  }
  // RFC 5322 §3.4 group: display-name ":" [group-list] ";". A ':' before the
  // first '@' and '<' is a group (or some other prefix), never one address.
  if (s.colon != Specials::npos && s.colon < s.at && s.colon < s.lt) {
    return Invalid(
        "contains ':' before the address: looks like a group of addresses "
        "(\"team: a@example.com, b@example.com;\"); give one address");
  }
  return Status::Ok();
}

Status ListError(const Specials& s) {
  if (s.comma != Specials::npos && (s.semicolon == Specials::npos || s.comma < s.semicolon)) {
    return Invalid(std::string("contains ','") + std::string(kMore));
  }
  return Invalid(std::string("contains ';'") + std::string(kMore));
}

Status TooManyAts(int n) {
  return Invalid("contains " + std::to_string(n) + " '@' signs" + std::string(kMore));
}

Status CheckQuotedLocal(std::string_view local) {
  // RFC 5321 §4.1.2 Quoted-string with RFC 6531 §3.3 UTF-8 qtext. The closing
  // quote is the last octet (the caller split there).
  std::string_view body = local.substr(1, local.size() - 2);
  if (body.empty()) return Invalid("local part (before '@') is empty (\"\")");
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') continue;
    // quoted-pairSMTP = "\" %d32-126: RFC 6531 does not extend it to UTF-8.
    unsigned char next = static_cast<unsigned char>(body[i + 1]);  // a '\' never ends body
    if (next >= 0x80) {
      return Invalid("local part " + Q(local) +
                     " has '\\' before a non-ASCII character, which is not allowed");
    }
    ++i;
  }
  return CheckInvisible(local, "local part");
}

Status CheckDotString(std::string_view local) {
  // RFC 5321 §4.1.2 Dot-string = Atom *("." Atom), RFC 6531 §3.3 UTF-8 atext.
  if (local.front() == '.') return Invalid("local part " + Q(local) + " starts with a dot");
  if (local.back() == '.') return Invalid("local part " + Q(local) + " ends with a dot");
  if (local.find("..") != std::string_view::npos) {
    return Invalid("local part " + Q(local) + " contains two dots in a row");
  }
  for (char c : local) {
    if (c == '.' || IsAtext(c)) continue;
    if (c == ' ') return Invalid("local part " + Q(local) + " contains a space");
    if (c == '"') {
      return Invalid("local part " + Q(local) +
                     " has quotes in the middle; quotes must surround the whole local part");
    }
    return Invalid("local part " + Q(local) + " contains " + Char(c) +
                   ", which is only allowed inside double quotes");
  }
  return CheckInvisible(local, "local part");
}

Status CheckLocal(std::string_view local) {
  if (local.empty()) return Invalid("local part (before '@') is empty");
  SM_RETURN_IF_ERROR(local.front() == '"' ? CheckQuotedLocal(local) : CheckDotString(local));
  if (local.size() > kMaxLocal) {
    return Invalid("local part " + Q(local) + " is " + std::to_string(local.size()) +
                   " octets long; the limit is " + std::to_string(kMaxLocal));
  }
  return Status::Ok();
}

// RFC 5321 §4.1.3 address literal: "[" IPv4 "]" or "[IPv6:" IPv6 "]".
// General-address-literal tags are refused: nothing delivers to them.
Result<std::string> ParseLiteral(std::string_view d) {
  if (d.back() != ']') return Invalid("address literal " + Q(d) + " must end with ']'");
  std::string inner(d.substr(1, d.size() - 2));
  char buf[INET6_ADDRSTRLEN];
  unsigned char bin[16];
  std::string tag;
  for (char c : inner.substr(0, 5)) tag += Lower(c);
  if (tag == "ipv6:") {
    std::string ip = inner.substr(5);
    if (inet_pton(AF_INET6, ip.c_str(), bin) == 1 && inet_ntop(AF_INET6, bin, buf, sizeof buf)) {
      return "[IPv6:" + std::string(buf) + "]";  // canonical form, so Key() de-duplicates
    }
    return Invalid("address literal " + Q(d) + " is not a valid IPv6 address");
  }
  if (inet_pton(AF_INET, inner.c_str(), bin) == 1 && inet_ntop(AF_INET, bin, buf, sizeof buf)) {
    return "[" + std::string(buf) + "]";
  }
  return Invalid("address literal " + Q(d) +
                 " is not an IPv4 address or \"IPv6:\" followed by an IPv6 address");
}

std::string IdnError(int rc) { return idn2_strerror(rc); }

// An "xn--" label is only accepted when it decodes and encodes back to itself,
// so the U-label shown to people is the one mail is delivered to.
bool ALabelRoundTrips(const std::string& label) {
  char* u = nullptr;
  if (idn2_to_unicode_8z8z(label.c_str(), &u, 0) != IDN2_OK) return false;
  uint8_t* a = nullptr;
  int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(u), &a, kIdnFlags);
  bool same = rc == IDN2_OK && label == reinterpret_cast<const char*>(a);
  idn2_free(a);
  idn2_free(u);
  return same;
}

// One non-ASCII label (UTS #46 may turn it into several, e.g. at U+3002).
Result<std::string> LabelToAscii(std::string_view domain, const std::string& label) {
  uint8_t* out = nullptr;
  int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(label.c_str()), &out, kIdnFlags);
  std::string a = rc == IDN2_OK ? reinterpret_cast<const char*>(out) : "";
  idn2_free(out);
  if (rc != IDN2_OK) {
    return Invalid("domain " + Q(domain) + " has a part " + Q(label) +
                   " that is not a valid internationalised name (" + IdnError(rc) + ")");
  }
  if (a.empty()) {
    return Invalid("domain " + Q(domain) + " has a part " + Q(label) +
                   " with no visible characters");
  }
  // UTS #46 maps some symbols to ASCII punctuation (U+2100 to "a/c"); say so,
  // since the person never typed that character.
  for (char c : a) {
    if (c != '.' && c != '-' && !IsAlpha(c) && !IsDigit(c)) {
      return Invalid("domain " + Q(domain) + " has a part " + Q(label) +
                     " that is not a valid internationalised name (a character in it means " +
                     Char(c) + ")");
    }
  }
  return a;
}

// Checks the A-label form: what is sent over SMTP and looked up in DNS.
Status CheckAsciiDomain(std::string_view shown, const std::string& d) {
  if (d.size() > kMaxDomain) {
    return Invalid("domain " + Q(shown) + " is " + std::to_string(d.size()) +
                   " octets long; the limit is " + std::to_string(kMaxDomain));
  }
  if (d.front() == '.') return Invalid("domain " + Q(shown) + " starts with a dot");
  if (d.back() == '.') return Invalid("domain " + Q(shown) + " ends with a dot");
  size_t start = 0;
  bool all_digits = false;  // of the last label, once the loop ends
  while (start <= d.size()) {
    size_t end = d.find('.', start);
    if (end == std::string::npos) end = d.size();
    const std::string_view label = std::string_view(d).substr(start, end - start);
    if (label.empty()) return Invalid("domain " + Q(shown) + " contains two dots in a row");
    if (label.size() > kMaxLabel) {
      return Invalid("domain " + Q(shown) + " has a part of " + std::to_string(label.size()) +
                     " octets between dots; the limit is " + std::to_string(kMaxLabel));
    }
    all_digits = true;
    for (char c : label) {
      if (!IsDigit(c)) all_digits = false;
      if (IsAlpha(c) || IsDigit(c) || c == '-') continue;
      if (c == ' ') return Invalid("domain " + Q(shown) + " contains a space");
      return Invalid("domain " + Q(shown) + " contains " + Char(c) +
                     ", which is not allowed in a domain name");
    }
    if (label.front() == '-' || label.back() == '-') {
      return Invalid("domain " + Q(shown) + " has a part that starts or ends with '-'");
    }
    if (label.starts_with("xn--") && !ALabelRoundTrips(std::string(label))) {
      return Invalid("domain " + Q(shown) + " has a part " + Q(label) +
                     " that is not a valid internationalised name");
    }
    start = end + 1;
  }
  // RFC 3696 §2: top-level domains are never all-numeric; this is an IP
  // address written without the brackets RFC 5321 requires.
  if (all_digits) {
    in_addr a;
    if (inet_pton(AF_INET, d.c_str(), &a) == 1) {
      return Invalid("domain " + Q(shown) + " is an IP address; write it as [" + d + "]");
    }
    return Invalid("domain " + Q(shown) + " ends in a number, which is not a valid domain");
  }
  return Status::Ok();
}

std::string ToUnicode(const std::string& ascii) {
  if (ascii.front() == '[' ||
      (!ascii.starts_with("xn--") && ascii.find(".xn--") == std::string::npos)) {
    return ascii;
  }
  char* u = nullptr;
  std::string out = ascii;  // validated labels always decode; keep ASCII if not
  if (idn2_to_unicode_8z8z(ascii.c_str(), &u, 0) == IDN2_OK) out = u;
  idn2_free(u);
  return out;
}

Result<Address> ParseAddrSpecParts(std::string_view local, std::string_view domain) {
  if (!local.empty() && local.back() == ' ') return Invalid("has a space before '@'");
  if (!domain.empty() && domain.front() == ' ') return Invalid("has a space after '@'");
  SM_RETURN_IF_ERROR(CheckLocal(local));
  if (domain.empty()) return Invalid("domain (after '@') is empty");
  Address a;
  a.local = std::string(local);
  if (domain.front() == '[') {
    SM_ASSIGN_OR_RETURN(a.domain, ParseLiteral(domain));
  } else {
    SM_ASSIGN_OR_RETURN(a.domain, DomainToAscii(domain));
    if (a.domain.find('.') == std::string::npos) {
      return Invalid("domain " + Q(domain) +
                     " has no dot; bulk mail only goes to full domain names such as example.com");
    }
  }
  a.domain_unicode = ToUnicode(a.domain);
  size_t total = a.local.size() + 1 + a.domain.size();
  if (total > kMaxAddress) {
    return Invalid("is " + std::to_string(total) + " octets long; the limit is " +
                   std::to_string(kMaxAddress));
  }
  return a;
}

// addr-spec with the list/group/angle specials already refused.
Result<Address> ParseAddrSpec(std::string_view t) {
  std::string_view local, domain;
  if (t.front() == '"') {
    size_t i = 1;
    while (i < t.size() && t[i] != '"') i += (t[i] == '\\') ? 2 : 1;
    if (i >= t.size()) return Invalid("has an opening '\"' without a closing one");
    local = t.substr(0, i + 1);
    std::string_view rest = t.substr(i + 1);
    if (rest.empty()) return Invalid("has no '@'; an address looks like name@example.com");
    if (rest.front() != '@') {
      return Invalid(
          "has text between the closing '\"' and '@'; quotes must surround the whole "
          "local part");
    }
    domain = rest.substr(1);
  } else {
    size_t at = t.find('@');
    if (at == std::string_view::npos) {
      return Invalid("has no '@'; an address looks like name@example.com");
    }
    local = t.substr(0, at);
    domain = t.substr(at + 1);
  }
  if (domain.find('@') != std::string_view::npos) {
    int ats = 1;
    for (char c : domain) ats += c == '@';
    return TooManyAts(ats);
  }
  return ParseAddrSpecParts(local, domain);
}

// A bare address: everything after the angle-bracket handling.
Result<Address> ParseBare(std::string_view t, const Specials& s) {
  if (s.comma != Specials::npos || s.semicolon != Specials::npos) return ListError(s);
  if (s.ats > 1) return TooManyAts(s.ats);
  if (s.paren != Specials::npos) {
    return Invalid("contains '(': comments such as \"(work)\" are not accepted; remove them");
  }
  if (s.ats == 0) return Invalid("has no '@'; an address looks like name@example.com");
  return ParseAddrSpec(t);
}

// RFC 5322 §3.2.5 phrase (with obs-phrase's '.', as in "John Q. Public"),
// decoded: quotes and quoted-pairs removed, runs of spaces become one, tabs
// become spaces (the name goes back into a header).
Result<std::string> ParsePhrase(std::string_view p) {
  std::string out;
  bool space = false;
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == ' ' || c == '\t') {
      space = true;
      ++i;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    if (c == '"') {
      ++i;
      while (i < p.size() && p[i] != '"') {
        if (p[i] == '\\' && i + 1 < p.size()) ++i;
        out += p[i] == '\t' ? ' ' : p[i];
        ++i;
      }
      if (i >= p.size()) return Invalid("display name has an opening '\"' without a closing one");
      ++i;
      continue;
    }
    if (c != '.' && !IsAtext(c)) {
      return Invalid("display name " + Q(p) + " contains " + Char(c) + std::string(kQuoteName));
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace

std::string Address::Key() const {
  std::string k;
  k.reserve(local.size() + 1 + domain.size());
  for (char c : local) k += Lower(c);
  k += '@';
  k += domain;
  return k;
}

bool Address::NeedsSmtpUtf8() const { return !IsAscii(local); }

Result<std::string> DomainToAscii(std::string_view domain) {
  // Controls first: the reasons below quote the domain.
  if (Status s = CheckText(domain); !s.ok()) return Invalid("domain " + s.message());
  std::string d(domain.size(), '\0');
  bool all_ascii = true;
  for (size_t i = 0; i < domain.size(); ++i) {
    const char c = domain[i];
    unsigned char u = static_cast<unsigned char>(c);
    // Report ASCII mistakes on what the person typed, before IDNA mapping
    // can rewrite them.
    if (c == ' ') return Invalid("domain " + Q(domain) + " contains a space");
    if (u < 0x80 && c != '.' && c != '-' && !IsAlpha(c) && !IsDigit(c)) {
      return Invalid("domain " + Q(domain) + " contains " + Char(c) +
                     ", which is not allowed in a domain name");
    }
    all_ascii &= u < 0x80;
    d[i] = Lower(c);
  }
  if (!all_ascii) {
    SM_RETURN_IF_ERROR(CheckInvisible(domain, "domain"));
    // Report structure on the input: IDNA would map or drop empty labels.
    if (d.front() == '.') return Invalid("domain " + Q(domain) + " starts with a dot");
    if (d.back() == '.') return Invalid("domain " + Q(domain) + " ends with a dot");
    if (d.find("..") != std::string::npos) {
      return Invalid("domain " + Q(domain) + " contains two dots in a row");
    }
    // Label by label, so an ASCII label is judged the same whether or not a
    // neighbour is internationalised (libidn2 would refuse "ab--cd" next to
    // "bücher" but we accept it alone), and the shown U-label form converts
    // back to the same A-labels.
    std::string ascii;
    for (size_t start = 0; start <= d.size();) {
      size_t end = std::min(d.find('.', start), d.size());
      std::string label = d.substr(start, end - start);
      if (!ascii.empty()) ascii += '.';
      start = end + 1;
      if (IsAscii(label)) {
        ascii += label;
        continue;
      }
      SM_ASSIGN_OR_RETURN(std::string a, LabelToAscii(domain, label));
      ascii += a;
    }
    d = std::move(ascii);
  }
  SM_RETURN_IF_ERROR(CheckAsciiDomain(domain, d));
  return d;
}

Result<Address> ParseAddress(std::string_view text) {
  std::string_view t = Trim(text);
  SM_RETURN_IF_ERROR(CheckText(t));
  Specials s = Scan(t);
  SM_RETURN_IF_ERROR(CheckPrefixAndGroup(t, s));
  if (s.lts > 0 || s.gts > 0) {
    if (s.ats > 1) {
      if (s.comma != Specials::npos || s.semicolon != Specials::npos) return ListError(s);
      return TooManyAts(s.ats);
    }
    return Invalid(
        "contains a name or angle brackets (\"Name <a@example.com>\"); put the name in its own "
        "column and only the address here");
  }
  return ParseBare(t, s);
}

Result<Mailbox> ParseMailbox(std::string_view text) {
  std::string_view t = Trim(text);
  SM_RETURN_IF_ERROR(CheckText(t, /*allow_tab=*/true));
  Specials s = Scan(t);
  SM_RETURN_IF_ERROR(CheckPrefixAndGroup(t, s));
  Mailbox m;
  if (s.lts == 0 && s.gts == 0) {
    if (t.find('\t') != std::string_view::npos) return Invalid("contains a tab");
    SM_ASSIGN_OR_RETURN(m.address, ParseBare(t, s));
    return m;
  }
  // name-addr: [display-name] "<" addr-spec ">".
  if (s.lts > 1 || s.gts > 1) {
    if (s.comma != Specials::npos || s.semicolon != Specials::npos) return ListError(s);
    return Invalid("contains more than one \"<...>\"" + std::string(kMore));
  }
  if (s.lts == 0) return Invalid("has '>' without a matching '<' before it");
  if (s.gts == 0 || s.gt < s.lt) return Invalid("has '<' without a matching '>' after it");
  std::string_view name = Trim(t.substr(0, s.lt));
  std::string_view inner = Trim(t.substr(s.lt + 1, s.gt - s.lt - 1));
  std::string_view after = Trim(t.substr(s.gt + 1));
  if (!after.empty()) {
    if (after.find('@') != std::string_view::npos) {
      return Invalid("has another address after '>'" + std::string(kMore));
    }
    return Invalid("has text after '>'; write \"Name <address>\"");
  }
  // Specials in the name: an unquoted ',' or '@' there is a second address
  // when there is also one elsewhere, otherwise a name that needs quotes.
  bool name_at = s.at < s.lt;
  bool list = s.comma != Specials::npos || s.semicolon != Specials::npos;
  if (name_at && list) return ListError(s);
  if (name_at) {
    return Invalid("display name " + Q(name) + " contains '@'" + std::string(kQuoteName));
  }
  if (s.paren != Specials::npos) {
    return Invalid("contains '(': comments such as \"(work)\" are not accepted; remove them");
  }
  for (size_t pos : {s.comma, s.semicolon}) {
    if (pos < s.lt) {
      return Invalid("display name " + Q(name) + " contains " + Char(t[pos]) +
                     std::string(kQuoteName));
    }
  }
  if (inner.empty()) return Invalid("has nothing between '<' and '>'");
  if (inner.front() == '@') {
    return Invalid(
        "uses an obsolete source route (\"<@host:a@example.com>\"); give just the address");
  }
  if (s.colon != Specials::npos) {
    return Invalid("contains ':' inside \"<...>\", which is not allowed in an address");
  }
  if (inner.find('\t') != std::string_view::npos) return Invalid("contains a tab");
  SM_ASSIGN_OR_RETURN(m.address, ParseBare(inner, Scan(inner)));
  SM_ASSIGN_OR_RETURN(m.display_name, ParsePhrase(name));
  return m;
}

}  // namespace sealmail
