#include "address/address_find.h"

#include <cstdint>
#include <cstring>

namespace sealmail {
namespace {

constexpr size_t kMaxLocal = 64;
constexpr size_t kMaxDomain = 255;

// Byte classes of the finder, one table load per byte (the left and right
// scans run for every '@' of every message).
constexpr uint8_t kAtextOrDot = 1;  // atext, '.', or UTF-8 (RFC 6531 local parts)
constexpr uint8_t kDomain = 2;      // letters, digits, '-', '.', or UTF-8

constexpr struct ByteClasses {
  uint8_t v[256] = {};
  constexpr ByteClasses() {
    for (int c = 0; c < 256; ++c) {
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      bool atext_special = false;
      for (char s : std::string_view("!#$%&'*+-/=?^_`{|}~.")) atext_special |= c == s;
      if (alnum || atext_special || c >= 0x80) v[c] |= kAtextOrDot;
      if (alnum || c == '-' || c == '.' || c >= 0x80) v[c] |= kDomain;
    }
  }
} kClasses;

bool IsAtextOrDot(unsigned char c) { return kClasses.v[c] & kAtextOrDot; }
bool IsDomainChar(unsigned char c) { return kClasses.v[c] & kDomain; }

bool IsAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

bool AddressTokenCursor::Next(AddressToken* out, std::string_view skip) {
  // skip = local "@" domain as a token would have it (never empty parts).
  const size_t skip_at = skip.find('@');
  bool can_skip = skip_at != std::string_view::npos && skip_at > 0 && skip_at <= kMaxLocal &&
                  skip_at + 1 < skip.size() && skip.size() - skip_at - 1 <= kMaxDomain &&
                  skip[0] != '.' && skip.back() != '.' && skip.back() != '-';
  for (size_t i = 0; can_skip && i < skip.size(); ++i) {
    const auto c = static_cast<unsigned char>(skip[i]);
    can_skip = i == skip_at || (i < skip_at ? IsAtextOrDot(c) : IsDomainChar(c));
  }
  return Scan(out, skip, can_skip ? skip_at : std::string_view::npos);
}

bool AddressTokenCursor::NextSkippingToken(AddressToken* out, std::string_view token) {
  // A token's local part has no '@' and passes every test in Next.
  return Scan(out, token, token.find('@'));
}

bool AddressTokenCursor::Scan(AddressToken* out, std::string_view skip, size_t skip_at) {
  const auto* p = reinterpret_cast<const unsigned char*>(text_.data());
  const size_t n = text_.size();
  const bool can_skip = skip_at != std::string_view::npos;
  while (next_ < n) {
    const void* hit = std::memchr(p + next_, '@', n - next_);
    if (hit == nullptr) break;
    const size_t at = static_cast<size_t>(static_cast<const unsigned char*>(hit) - p);
    next_ = at + 1;
    // Left: at most kMaxLocal bytes, never across the previous '@'. Right:
    // at most kMaxDomain bytes.
    const size_t l_min = at - prev_at_end_ > kMaxLocal ? at - kMaxLocal : prev_at_end_;
    if (can_skip && at >= skip_at && at - skip_at >= l_min && n - at >= skip.size() - skip_at &&
        std::memcmp(p + at - skip_at, skip.data(), skip.size()) == 0) {
      // The bytes spell `skip`. It is the token exactly when both scans
      // would stop at its ends, give or take what the trimming below removes
      // again (leading dots, trailing dots and hyphens): after those, a byte
      // outside the class or a bound on each side. skip's own ends survive
      // the trimming (checked above).
      const size_t start = at - skip_at, end = start + skip.size();
      const size_t r_max = n - (at + 1) > kMaxDomain ? at + 1 + kMaxDomain : n;
      size_t a = start;
      while (a > l_min && p[a - 1] == '.') --a;
      size_t b = end;
      while (b < r_max && (p[b] == '.' || p[b] == '-')) ++b;
      if ((a == l_min || !IsAtextOrDot(p[a - 1])) && end <= r_max &&
          (b == r_max || !IsDomainChar(p[b]))) {
        prev_at_end_ = at + 1;
        continue;
      }
    }
    size_t l = at;
    while (l > l_min && IsAtextOrDot(p[l - 1])) --l;
    const size_t r_max = n - (at + 1) > kMaxDomain ? at + 1 + kMaxDomain : n;
    size_t r = at + 1;
    while (r < r_max && IsDomainChar(p[r])) ++r;
    prev_at_end_ = at + 1;
    // Trim dots and hyphens that end a sentence or start nothing.
    size_t ls = l;
    while (ls < at && p[ls] == '.') ++ls;
    size_t re = r;
    while (re > at + 1 && (p[re - 1] == '.' || p[re - 1] == '-')) --re;
    if (ls == at || re == at + 1) continue;
    if (can_skip && at - ls == skip_at && re - ls == skip.size() &&
        std::memcmp(p + ls, skip.data(), skip.size()) == 0)
      continue;
    out->local = text_.substr(ls, at - ls);
    out->domain = text_.substr(at + 1, re - at - 1);
    out->offset = at;
    return true;
  }
  next_ = n;
  return false;
}

void AddressCandidates(const AddressToken& t, const std::function<void(std::string_view)>& fn) {
  // Tokens are bounded (64 + 1 + 255 octets): lower-case into a stack buffer.
  char buf[64 + 1 + 255 + 1];
  size_t len = 0;
  for (char c : t.local.substr(0, 64))
    buf[len++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  const size_t at = len;
  buf[len++] = '@';
  for (char c : t.domain.substr(0, 255))
    buf[len++] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  std::string_view lower(buf, len);
  // Domain ends: the whole domain, and every dot boundary that keeps a dot.
  size_t ends[16];
  size_t n_ends = 0;
  ends[n_ends++] = lower.size();
  for (size_t i = lower.size(); i > at + 1 && n_ends < 16; --i) {
    if (lower[i - 1] != '.') continue;
    size_t end = i - 1;
    if (lower.find('.', at + 1) < end) ends[n_ends++] = end;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(lower.data());
  size_t starts_seen = 0;
  for (size_t s = 0; s < at && starts_seen < 16; ++s) {
    bool boundary = (s == 0) || (!IsAlnum(p[s - 1]) && IsAlnum(p[s]));
    if (!boundary) continue;
    ++starts_seen;
    for (size_t e = 0; e < n_ends; ++e) fn(lower.substr(s, ends[e] - s));
  }
}

std::string DecodeHtmlEntities(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '&') {
      out += c;
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (j < text.size() && text[j] == '#') {
      ++j;
      bool hex = j < text.size() && (text[j] == 'x' || text[j] == 'X');
      if (hex) ++j;
      uint32_t cp = 0;
      size_t digits = 0;
      while (j < text.size() && digits < 8) {
        int v = hex ? HexValue(text[j]) : (text[j] >= '0' && text[j] <= '9' ? text[j] - '0' : -1);
        if (v < 0) break;
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        ++j;
        ++digits;
      }
      if (digits == 0) {
        out += c;
        ++i;
        continue;
      }
      if (j < text.size() && text[j] == ';') ++j;
      AppendUtf8(&out, cp);
      i = j;
      continue;
    }
    static const struct {
      std::string_view name;
      std::string_view value;
    } kNamed[] = {{"commat;", "@"}, {"period;", "."}, {"amp;", "&"},  {"lt;", "<"},
                  {"gt;", ">"},     {"quot;", "\""},  {"apos;", "'"}, {"nbsp;", " "},
                  {"colon;", ":"},  {"hyphen;", "-"}, {"dash;", "-"}, {"lowbar;", "_"}};
    bool matched = false;
    for (const auto& e : kNamed) {
      if (text.substr(i + 1, e.name.size()) == e.name) {
        out += e.value;
        i += 1 + e.name.size();
        matched = true;
        break;
      }
    }
    if (!matched) {
      out += c;
      ++i;
    }
  }
  return out;
}

std::string DecodePercent(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() + 0 && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace sealmail
