// Content-Transfer-Encoding decoders (RFC 2045 §6). All are single pass and
// never fail: a receiving client shows what it can, and so must the guard.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "mime/mime_decode.h"
#include "mime/mime_decode_internal.h"

namespace sealmail {
namespace mime_internal {

// String helpers shared by the decoder files.

std::string AsciiLowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::string_view TrimWsp(std::string_view s) {
  while (!s.empty() && IsWsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWsp(s.back())) s.remove_suffix(1);
  return s;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string DecodeQEncoding(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

namespace {

// Next line of `in` from *pos: its content without the terminator, and the
// terminator ("\r\n", "\n" or "" at the end).
void NextLine(std::string_view in, size_t* pos, std::string_view* content, std::string_view* eol) {
  size_t start = *pos;
  size_t nl = in.find('\n', start);
  if (nl == std::string_view::npos) {
    *content = in.substr(start);
    *eol = {};
    *pos = in.size();
    return;
  }
  size_t end = nl;
  if (end > start && in[end - 1] == '\r') --end;
  *content = in.substr(start, end - start);
  *eol = in.substr(end, nl + 1 - end);
  *pos = nl + 1;
}

// uuencode maps 6-bit values to ' '..'_' (and '`' for 0).
int UuValue(char c) { return (static_cast<unsigned char>(c) - 0x20) & 0x3f; }

}  // namespace

std::string DecodeUuencode(std::string_view in) {
  size_t pos = 0;
  std::string_view line, eol;
  bool begun = false;
  while (pos < in.size()) {
    NextLine(in, &pos, &line, &eol);
    if (line.substr(0, 6) == "begin ") {
      begun = true;
      break;
    }
  }
  if (!begun) return std::string(in);
  std::string out;
  while (pos < in.size()) {
    NextLine(in, &pos, &line, &eol);
    if (line == "end") break;
    if (line.empty()) continue;
    size_t n = UuValue(line[0]);
    if (n == 0) continue;  // the "`" line before "end"
    size_t produced = 0;
    for (size_t i = 1; i + 1 < line.size() && produced < n; i += 4) {
      int v[4] = {0, 0, 0, 0};
      size_t chars = 0;  // a short group of k characters carries k-1 octets
      for (; chars < 4 && i + chars < line.size(); ++chars) v[chars] = UuValue(line[i + chars]);
      uint8_t b[3] = {static_cast<uint8_t>(v[0] << 2 | v[1] >> 4),
                      static_cast<uint8_t>((v[1] & 0xf) << 4 | v[2] >> 2),
                      static_cast<uint8_t>((v[2] & 0x3) << 6 | v[3])};
      for (size_t k = 0; k + 1 < chars && produced < n; ++k, ++produced) {
        out.push_back(static_cast<char>(b[k]));
      }
    }
  }
  return out;
}

std::string TransferDecode(std::string_view cte, std::string_view raw, bool* known) {
  *known = true;
  if (cte == "quoted-printable") return DecodeQuotedPrintable(raw);
  if (cte == "base64") return DecodeBase64(raw);
  if (cte == "x-uuencode" || cte == "uuencode" || cte == "x-uue" || cte == "uue") {
    return DecodeUuencode(raw);
  }
  if (cte != "7bit" && cte != "8bit" && cte != "binary") *known = false;
  return std::string(raw);
}

}  // namespace mime_internal

using mime_internal::HexValue;
using mime_internal::IsWsp;

std::string DecodeQuotedPrintable(std::string_view in) {
  // Written through a pointer into a buffer of the input's size (decoding
  // never lengthens: an escape shrinks, a line keeps its own line break):
  // appending byte runs and line ends to a string was most of the guard's
  // MIME decoding. Line by line, as the RFC reads.
  std::string out(in.size(), '\0');
  char* o = out.data();
  const char* p = in.data();
  const char* const end = p + in.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    const char* eol = nl == nullptr ? end : (nl > p && nl[-1] == '\r' ? nl - 1 : nl);
    const char* next = nl == nullptr ? end : nl + 1;
    // RFC 2045 §6.7 (3): trailing white space was added in transport; delete it.
    const char* e = eol;
    while (e > p && IsWsp(e[-1])) --e;
    bool soft_break = false;
    while (p < e) {
      // Copy the literal run up to the next '=' in one go (most of a line).
      const char* eq = static_cast<const char*>(std::memchr(p, '=', static_cast<size_t>(e - p)));
      const char* run_end = eq == nullptr ? e : eq;
      std::memcpy(o, p, static_cast<size_t>(run_end - p));
      o += run_end - p;
      p = run_end;
      if (p == e) break;
      if (p + 1 == e) {
        soft_break = true;  // "=" at the end of a line: soft line break
        break;
      }
      int hi = HexValue(p[1]);
      int lo = p + 2 < e ? HexValue(p[2]) : -1;
      if (hi >= 0 && lo >= 0) {
        *o++ = static_cast<char>(hi * 16 + lo);  // lower-case hex tolerated
        p += 3;
      } else {
        *o++ = '=';  // invalid escape: keep literally (§6.7 note 1)
        ++p;
      }
    }
    if (!soft_break) {
      std::memcpy(o, eol, static_cast<size_t>(next - eol));
      o += next - eol;
    }
    p = next;
  }
  out.resize(static_cast<size_t>(o - out.data()));
  return out;
}

std::string DecodeBase64(std::string_view in) {
  static constexpr auto kTable = [] {
    std::array<int8_t, 256> t{};
    for (auto& v : t) v = -1;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  // Written through a pointer, not push_back (the hot loop of `scope` and
  // the guard). Every quantum of k sextets (k = 2..4) yields k - 1 <= 3k/4
  // octets, so the output never exceeds in.size() / 4 * 3 + 2.
  std::string out(in.size() / 4 * 3 + 3, '\0');
  char* o = out.data();
  uint32_t acc = 0;
  int n = 0;  // sextets in acc
  auto flush = [&] {
    // 2 sextets carry 1 octet, 3 carry 2; a lone sextet carries nothing.
    if (n >= 2) *o++ = static_cast<char>(acc >> (6 * n - 8));
    if (n == 3) *o++ = static_cast<char>(acc >> 2);
    acc = 0;
    n = 0;
  };
  const size_t size = in.size();
  for (size_t i = 0; i < size; ++i) {
    // Fast path: four valid characters at a quantum boundary (nearly all of
    // a line); int8 -1 marks invalid, so one OR tells.
    while (n == 0 && i + 4 <= size) {
      int a = kTable[static_cast<uint8_t>(in[i])], b = kTable[static_cast<uint8_t>(in[i + 1])],
          c = kTable[static_cast<uint8_t>(in[i + 2])], d = kTable[static_cast<uint8_t>(in[i + 3])];
      if ((a | b | c | d) < 0) break;
      uint32_t q = static_cast<uint32_t>(a) << 18 | static_cast<uint32_t>(b) << 12 |
                   static_cast<uint32_t>(c) << 6 | static_cast<uint32_t>(d);
      o[0] = static_cast<char>(q >> 16);
      o[1] = static_cast<char>(q >> 8);
      o[2] = static_cast<char>(q);
      o += 3;
      i += 4;
    }
    if (i >= size) break;
    char c = in[i];
    int v = kTable[static_cast<uint8_t>(c)];
    if (v < 0) {
      // Padding ends a quantum; data after it (concatenated encodings) is
      // decoded too, so nothing can hide behind an early "=".
      if (c == '=' && n >= 2) flush();
      continue;  // white space and invalid characters are ignored (§6.8)
    }
    acc = acc << 6 | static_cast<uint32_t>(v);
    if (++n == 4) {
      o[0] = static_cast<char>(acc >> 16);
      o[1] = static_cast<char>(acc >> 8);
      o[2] = static_cast<char>(acc);
      o += 3;
      acc = 0;
      n = 0;
    }
  }
  flush();
  out.resize(static_cast<size_t>(o - out.data()));
  return out;
}

}  // namespace sealmail
