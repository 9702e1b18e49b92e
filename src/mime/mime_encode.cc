#include "mime/mime_encode.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <ctime>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sealmail {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr size_t kMaxEncodedWord = 75;  // RFC 2047 §2
constexpr size_t kFoldAt = 78;          // RFC 5322 §2.1.1 "SHOULD"

bool IsAtext(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '/': case '=': case '?': case '^': case '_': case '`': case '{': case '|': case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

// Length of the UTF-8 sequence that starts with byte c (1 for invalid bytes,
// so that splitting never loops).
size_t Utf8Len(unsigned char c) {
  if (c >= 0xF0 && c < 0xF8) return 4;
  if (c >= 0xE0) return 3;
  if (c >= 0xC0) return 2;
  return 1;
}

// Splits text into UTF-8 encoded-words, never inside a character. `q` chooses
// the Q encoding (RFC 2047 §4.2, restricted to the phrase-safe set of §5(3)),
// otherwise B. Returns the words separated by "\r\n ".
std::string EncodedWords(std::string_view text, bool q, size_t first_line_used) {
  const std::string prefix = q ? "=?UTF-8?Q?" : "=?UTF-8?B?";
  const std::string suffix = "?=";
  std::string out;
  size_t i = 0;
  bool first = true;
  while (i < text.size() || first) {
    size_t budget = kMaxEncodedWord - prefix.size() - suffix.size();
    if (first && first_line_used + kMaxEncodedWord > kFoldAt && first_line_used < kFoldAt) {
      // Keep the first line within 78 octets when the header name is short.
      size_t room = kFoldAt - first_line_used;
      if (room > prefix.size() + suffix.size() + 8) budget = room - prefix.size() - suffix.size();
    }
    std::string chunk;
    size_t j = i;
    if (q) {
      while (j < text.size()) {
        size_t len = Utf8Len(static_cast<unsigned char>(text[j]));
        if (j + len > text.size()) len = text.size() - j;
        std::string enc;
        for (size_t k = 0; k < len; ++k) {
          unsigned char c = static_cast<unsigned char>(text[j + k]);
          if (c == ' ') {
            enc += '_';
          } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '!' || c == '*' || c == '+' || c == '-' || c == '/') {
            enc += static_cast<char>(c);
          } else {
            enc += '=';
            enc += kHex[c >> 4];
            enc += kHex[c & 15];
          }
        }
        if (chunk.size() + enc.size() > budget && !chunk.empty()) break;
        chunk += enc;
        j += len;
      }
    } else {
      size_t max_bytes = budget / 4 * 3;
      while (j < text.size()) {
        size_t len = Utf8Len(static_cast<unsigned char>(text[j]));
        if (j + len > text.size()) len = text.size() - j;
        if (j + len - i > max_bytes && j > i) break;
        j += len;
      }
      chunk = EncodeBase64(text.substr(i, j - i));
    }
    if (!first) out += "\r\n ";
    out += prefix + chunk + suffix;
    first = false;
    i = j;
  }
  return out;
}

bool UseQ(std::string_view text) {
  size_t special = 0;
  for (unsigned char c : text) {
    if (c >= 0x80 || c < 0x20) ++special;
  }
  return special * 3 < text.size();
}

}  // namespace

void AppendQuotedPrintable(std::string* out, std::string_view text) {
  // Worst case per input byte: "=XX" (3), plus a soft break ("=\r\n") per
  // 73 output columns; a lone CR or LF becomes 2. 4n + 16 covers all three.
  // Encoded into a per-thread scratch buffer that only grows (resizing *out
  // to the worst case would zero-fill it and often reallocate the message).
  thread_local std::string scratch;
  if (scratch.size() < text.size() * 4 + 16) scratch.resize(text.size() * 4 + 16);
  char* const first = scratch.data();
  char* o = first;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  size_t col = 0;
  while (p < end) {
    // The common case first: inside a line, copy the bytes that go out as
    // they are (printable ASCII but '=', and blanks not at the end of a
    // line) up to column 75. Whatever stops the run goes through the
    // general path below, one byte.
    if (col > 0 && col < 75) {
      const unsigned char* stop = p + std::min<size_t>(75 - col, static_cast<size_t>(end - p));
      const unsigned char* q = p;
      // Eight bytes at a time while all are printable ASCII other than '='
      // (spaces included: each is followed by a printable byte of the same
      // word, or, for the word's last, the next byte says). Bit tricks: a
      // byte below 0x20, a set high bit, or a byte equal to 0x7f or '='
      // stops the word; a byte that stops it but goes out as it is (a tab,
      // say) is taken alone and the words go on.
      constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
      auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
      auto ends_line = [end](const unsigned char* x) {
        return x == end || *x == '\r' || *x == '\n';
      };
      for (;;) {
#if defined(__SSE2__)
        // Sixteen at a time first (the loop below does eight): the text and
        // HTML parts of every message pass here twice per recipient. A
        // signed compare below 0x20 also catches the high bytes.
        while (q + 16 <= stop) {
          const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
          const __m128i stops = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                             _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)),
                                                          _mm_cmpeq_epi8(x, _mm_set1_epi8('='))));
          const unsigned m = static_cast<unsigned>(_mm_movemask_epi8(stops));
          if (m != 0) {
            // Take the bytes before the first stop, but leave a space right
            // before it to the byte path (a stop may be the line's end).
            size_t n = static_cast<size_t>(__builtin_ctz(m));
            if (n > 0 && q[n - 1] == ' ') --n;
            q += n;
            break;
          }
          if (q[15] == ' ' && ends_line(q + 16)) break;  // trailing: encoded below
          q += 16;
        }
#endif
        while (q + 8 <= stop) {
          uint64_t w;
          std::memcpy(&w, q, 8);
          if (((w - kOnes * 0x20) & ~w & kHigh) | (w & kHigh) | has_zero(w ^ (kOnes * 0x7f)) |
              has_zero(w ^ (kOnes * '='))) {
            break;
          }
          if (q[7] == ' ' && ends_line(q + 8)) break;  // trailing: encoded below
          q += 8;
        }
        if (q == stop) break;
        unsigned char k = *q;
        if ((k >= 33 && k <= 126 && k != '=') || ((k == ' ' || k == '\t') && !ends_line(q + 1))) {
          ++q;
          continue;
        }
        break;
      }
      std::memcpy(o, p, static_cast<size_t>(q - p));
      o += q - p;
      col += static_cast<size_t>(q - p);
      p = q;
      if (p == end) break;
    }
    unsigned char c = *p;
    if (c == '\r' || c == '\n') {
      *o++ = '\r';
      *o++ = '\n';
      col = 0;
      p += (c == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
      continue;
    }
    bool literal;
    if (c >= 33 && c <= 126) {
      literal = c != '=';
    } else if (c == ' ' || c == '\t') {
      literal = p + 1 < end && p[1] != '\r' && p[1] != '\n';  // not trailing whitespace
    } else {
      literal = false;
    }
    // Soft break when this character would pass column 75 (76 with the '=').
    if (col + (literal ? 1 : 3) > 75) {
      *o++ = '=';
      *o++ = '\r';
      *o++ = '\n';
      col = 0;
    }
    // "From " at the start of a line is mangled by mbox tools; a leading '.'
    // by careless SMTP code. Encode both, also after a soft break, so the
    // bytes survive any path.
    if (col == 0 && literal &&
        (c == '.' || (c == 'F' && end - p >= 5 && std::memcmp(p, "From ", 5) == 0))) {
      literal = false;
    }
    if (literal) {
      *o++ = static_cast<char>(c);
      ++col;
    } else {
      *o++ = '=';
      *o++ = kHex[c >> 4];
      *o++ = kHex[c & 15];
      col += 3;
    }
    ++p;
  }
  out->append(first, static_cast<size_t>(o - first));
  if (scratch.size() > (16u << 20)) std::string().swap(scratch);  // a rare huge body: let it go
}

std::string EncodeQuotedPrintable(std::string_view text) {
  std::string out;
  AppendQuotedPrintable(&out, text);
  return out;
}

std::string EncodeBase64(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = p[i] << 16;
    if (rest == 2) v |= p[i + 1] << 8;
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += rest == 2 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string EncodeBase64Lines(std::string_view data) {
  std::string flat = EncodeBase64(data);
  std::string out;
  out.reserve(flat.size() + flat.size() / 76 * 2 + 2);
  for (size_t i = 0; i < flat.size(); i += 76) {
    out.append(flat, i, 76);
    out += "\r\n";
  }
  return out;
}

std::string EncodeUnstructuredHeader(std::string_view name, std::string_view text) {
  std::string out(name);
  out += ": ";
  bool plain = true;
  size_t word = 0;
  for (unsigned char c : text) {
    if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f) plain = false;
    word = (c == ' ' || c == '\t') ? 0 : word + 1;
    if (word > 900) plain = false;  // cannot fold within 998 octets
  }
  // "=?" in plain text would be read back as an encoded-word: encode it.
  if (text.find("=?") != std::string_view::npos) plain = false;
  if (!plain) {
    out += EncodedWords(text, UseQ(text), out.size());
    out += "\r\n";
    return out;
  }
  // Fold at spaces: a fold inserts CRLF before existing whitespace.
  size_t line_len = out.size();
  size_t i = 0;
  while (i < text.size()) {
    size_t j = text.find(' ', i + 1);
    if (j == std::string_view::npos) j = text.size();
    std::string_view piece = text.substr(i, j - i);  // starts with ' ' except the first
    if (line_len + piece.size() > kFoldAt && i > 0) {
      out += "\r\n";
      line_len = 0;
    }
    out.append(piece);
    line_len += piece.size();
    i = j;
  }
  out += "\r\n";
  return out;
}

std::string EncodePhrase(std::string_view name) {
  bool ascii = true, atoms = true;
  for (unsigned char c : name) {
    if (c >= 0x80 || c < 0x20 || c == 0x7f) ascii = false;
    if (!IsAtext(c) && c != ' ') atoms = false;
  }
  if (name.empty()) return std::string();
  if (!ascii || name.find("=?") != std::string_view::npos) {
    return EncodedWords(name, UseQ(name), kFoldAt);
  }
  if (atoms && name.front() != ' ' && name.back() != ' ' &&
      name.find("  ") == std::string_view::npos) {
    return std::string(name);
  }
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

bool NeedsTransferEncoding(std::string_view text) {
  size_t line = 0;
  for (unsigned char c : text) {
    if (c == '\n') {
      line = 0;
      continue;
    }
    if (c >= 0x80 || (c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return true;
    if (++line > 78) return true;
  }
  return false;
}

std::string FormatRfc5322Date(int64_t unix_seconds) {
  // Every message of a second carries the same Date: each thread keeps the
  // last one (gmtime_r and snprintf were 2 % of composing).
  thread_local int64_t last_seconds = INT64_MIN;
  thread_local std::string last;
  if (unix_seconds == last_seconds) return last;
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  last = buf;
  last_seconds = unix_seconds;
  return last;
}

}  // namespace sealmail
