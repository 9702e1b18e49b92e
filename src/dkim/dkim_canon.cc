// Canonicalisation (RFC 6376 §3.4), header splitting and tag lists (§3.2).
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "dkim/dkim_internal.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sealmail {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }
bool IsFwsChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr char kCrlf[] = "\r\n";

// Receives canonical body bytes as pointers into the input wherever the
// canonical form equals the input (nearly everywhere), and merges adjacent
// pieces into spans, so the digest is fed large blocks straight from the
// message: no copy, one EVP_DigestUpdate per changed spot rather than per
// line. Honours l=.
class BodySink {
 public:
  BodySink(EVP_MD_CTX* ctx, std::string* copy, int64_t limit)
      : ctx_(ctx), copy_(copy), limit_(limit) {}
  void Put(const char* p, size_t n) {
    total_ += n;
    if (limit_ >= 0) {
      uint64_t room = static_cast<uint64_t>(limit_) > hashed_ ? limit_ - hashed_ : 0;
      if (n > room) n = static_cast<size_t>(room);
    }
    if (n == 0) return;
    hashed_ += n;
    if (copy_ != nullptr) {
      copy_->append(p, n);
      return;
    }
    // Adjacent in memory means the same bytes in order, wherever they live.
    if (span_ != nullptr && span_ + span_len_ == p) {
      span_len_ += n;
      return;
    }
    Flush();
    span_ = p;
    span_len_ = n;
  }
  void Crlfs(uint64_t n) {
    for (; n > 0; --n) Put(kCrlf, 2);
  }
  void Flush() {
    if (span_len_ > 0 && ctx_ != nullptr) ok_ &= EVP_DigestUpdate(ctx_, span_, span_len_) == 1;
    span_ = nullptr;
    span_len_ = 0;
  }
  uint64_t total() const { return total_; }
  bool ok() const { return ok_; }

 private:
  EVP_MD_CTX* ctx_;
  std::string* copy_;
  int64_t limit_;
  uint64_t total_ = 0, hashed_ = 0;
  const char* span_ = nullptr;
  size_t span_len_ = 0;
  bool ok_ = true;
};

// What relaxed canonicalisation must look at inside one line or header
// value: kCollapse when it has a TAB or two adjacent SPs (WSP runs to
// reduce), kBare when it has a CR or LF (a folded field; in a body line, a
// bare one). Most header fields have neither and are copied whole. Sixteen
// bytes at a time with SSE2 where available, like the body scan below: these
// run over every byte of every message, and a byte loop would cost about as
// much as the SHA-256 itself.
constexpr int kCollapse = 1, kBare = 2;
int ScanLine(const char* p, size_t n) {
  int flags = 0;
  bool prev_space = false;
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i sp = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
  const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
  for (; i + 16 <= n; i += 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    unsigned s = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, sp)));
    unsigned t = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, tab)));
    unsigned c = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, cr), _mm_cmpeq_epi8(x, lf))));
    if (t != 0 || (s & (s >> 1)) != 0 || (prev_space && (s & 1) != 0)) flags |= kCollapse;
    if (c != 0) flags |= kBare;
    if (flags == (kCollapse | kBare)) return flags;
    prev_space = (s & 0x8000) != 0;
  }
#endif
  for (; i < n; ++i) {
    char ch = p[i];
    if (ch == '\t' || (ch == ' ' && prev_space)) flags |= kCollapse;
    if (ch == '\r' || ch == '\n') flags |= kBare;
    prev_space = ch == ' ';
  }
  return flags;
}

// Byte masks of up to 16 bytes (bit k for byte k): SP, TAB, CR, LF.
struct Masks {
  unsigned sp = 0, tab = 0, cr = 0, lf = 0;
};
Masks Classify(const char* p, size_t n) {
  Masks m;
#if defined(__SSE2__)
  if (n == 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    auto eq = [&](char ch) {
      return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(ch))));
    };
    m.sp = eq(' ');
    m.tab = eq('\t');
    m.cr = eq('\r');
    m.lf = eq('\n');
    return m;
  }
#endif
  for (size_t k = 0; k < n; ++k) {
    unsigned bit = 1u << k;
    switch (p[k]) {
      case ' ':
        m.sp |= bit;
        break;
      case '\t':
        m.tab |= bit;
        break;
      case '\r':
        m.cr |= bit;
        break;
      case '\n':
        m.lf |= bit;
        break;
      default:
        break;
    }
  }
  return m;
}

// A CR not followed by LF, or an LF not preceded by CR; 16 bytes at a time.
bool HasBareCrOrLf(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  bool cr_before = false;  // the byte before this chunk is CR
  for (size_t i = 0; i < n; i += 16) {
    size_t len = std::min<size_t>(16, n - i);
    Masks m = Classify(p + i, len);
    unsigned lf_wanted = (m.cr << 1) | (cr_before ? 1u : 0u);  // an LF must follow each CR
    if (((lf_wanted & ((1u << len) - 1)) ^ m.lf) != 0) return true;
    cr_before = (m.cr >> (len - 1)) & 1u;
  }
  return cr_before;  // a CR at the very end
}

// Relaxed body canonicalisation (§3.4.4) for a body whose CRs and LFs are
// all CRLF pairs. One pass finds the only places where the canonical form
// differs from the input inside the content, whitespace runs that are not a
// single SP between two other characters (a TAB, two WSP, WSP before CR);
// everything between them goes to the digest as it is. Trailing empty and
// whitespace-only lines are cut off first.
void RelaxedWithoutBareLineEnds(std::string_view body, BodySink* out) {
  const char* b = body.data();
  size_t n = body.size();
  size_t last = n;  // the last byte that is not SP, TAB, CR or LF
  while (last > 0 && (IsWsp(b[last - 1]) || b[last - 1] == '\r' || b[last - 1] == '\n')) --last;
  if (last == 0) return;  // no content: the canonical body is empty
  size_t emit_from = 0;
  auto fix_run = [&](size_t q) {  // q is inside a WSP run that must change
    if (q < emit_from) return;
    size_t rs = q, re = q;
    while (rs > emit_from && IsWsp(b[rs - 1])) --rs;
    while (re < last && IsWsp(b[re])) ++re;
    // b[last - 1] is not WSP, so the run ends before last: at CR (the end
    // of a line: the run goes) or at content (the run becomes one SP, also
    // at the start of a line).
    out->Put(b + emit_from, rs - emit_from);
    if (b[re] != '\r') out->Put(" ", 1);
    emit_from = re;
  };
  bool sp_before = false;  // the byte before this chunk is SP
  for (size_t i = 0; i < last; i += 16) {
    size_t len = std::min<size_t>(16, last - i);
    Masks m = Classify(b + i, len);
    unsigned wsp = m.sp | m.tab;
    // TABs, a SP after a SP, and a WSP before CR (the end of a line).
    unsigned odd = m.tab | (m.sp & ((m.sp << 1) | (sp_before ? 1u : 0u))) | (wsp & (m.cr >> 1));
    // WSP as the chunk's last byte, followed by CR as the next chunk's first.
    if (((wsp >> (len - 1)) & 1u) != 0 && i + len < n && b[i + len] == '\r') {
      odd |= 1u << (len - 1);
    }
    for (; odd != 0; odd &= odd - 1) fix_run(i + static_cast<size_t>(std::countr_zero(odd)));
    sp_before = (m.sp >> (len - 1)) & 1u;
  }
  out->Put(b + emit_from, last - emit_from);
  out->Put(last + 1 < n && b[last] == '\r' ? b + last : kCrlf, 2);
}

// The body algorithms of §3.4.3 (simple) and §3.4.4 (relaxed). Lines end at
// CRLF; a bare CR or LF is ordinary content (and reported, since a signer
// must not produce it). At the end one CRLF closes the last non-empty line
// (added when the body did not end with one).
bool CanonBody(DkimCanon c, std::string_view body, BodySink* out) {
  const char* p = body.data();
  const char* end = p + body.size();
  if (c == DkimCanon::kSimple) {
    // Everything up to the trailing empty lines, unchanged, then CRLF.
    const char* e = end;
    while (e - p >= 2 && e[-2] == '\r' && e[-1] == '\n') e -= 2;
    if (e > p) out->Put(p, e - p);
    out->Put(e < end ? e : kCrlf, 2);
    return HasBareCrOrLf(body);
  }
  if (!HasBareCrOrLf(body)) {
    RelaxedWithoutBareLineEnds(body, out);
    return false;
  }
  // A body with bare CR or LF (never one sealmail signs): line by line.
  // Relaxed, line by line: runs of WSP become one SP, WSP at the end of a
  // line goes. Line ends after content are held back as a count (pending)
  // and written only when more content follows, which drops trailing empty
  // lines without looking ahead; while they are exactly the input's CRLFs
  // (no whitespace-only line among them) they are written from the input.
  bool bare = false;
  uint64_t pending = 0;
  const char* pending_at = nullptr;
  bool pending_in_input = true;
  bool any = false;
  while (p < end) {
    const char* eol = end;  // the CR of the CRLF that ends this line, or end
    for (const char* q = p; (q = static_cast<const char*>(std::memchr(q, '\n', end - q))); ++q) {
      if (q > p && q[-1] == '\r') {
        eol = q - 1;
        break;
      }
    }
    const char* le = eol;
    while (le > p && IsWsp(le[-1])) --le;
    if (le > p) {
      if (pending > 0) {
        if (pending_in_input) {
          out->Put(pending_at, 2 * pending);
        } else {
          out->Crlfs(pending);
        }
        pending = 0;
      }
      any = true;
      int flags = ScanLine(p, static_cast<size_t>(eol - p));
      if (flags & kBare) bare = true;
      const char* run = p;
      for (const char* q = p; (flags & kCollapse) && q < le;) {
        if (!IsWsp(*q)) {
          ++q;
          continue;
        }
        const char* w = q;
        while (q < le && IsWsp(*q)) ++q;
        if (q - w == 1 && *w == ' ') continue;  // already canonical
        out->Put(run, w - run);
        out->Put(" ", 1);
        run = q;
      }
      out->Put(run, le - run);
    }
    if (eol == end) break;
    if (pending == 0) {
      pending_at = eol;
      pending_in_input = true;
    } else {
      pending_in_input &= eol == pending_at + 2 * pending;
    }
    ++pending;
    p = eol + 2;
  }
  if (any) out->Put(pending > 0 && pending_in_input ? pending_at : kCrlf, 2);
  return bare;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

Result<DkimBodyHash> HashDkimBody(DkimCanon c, std::string_view body, const EVP_MD* md,
                                  int64_t limit, EVP_MD_CTX* use) {
  EvpMdCtxPtr owned(use == nullptr ? EVP_MD_CTX_new() : nullptr);
  EVP_MD_CTX* ctx = use != nullptr ? use : owned.get();
  if (ctx == nullptr || EVP_DigestInit_ex(ctx, md, nullptr) != 1) {
    return Status::Internal("body hash: EVP_DigestInit failed");
  }
  BodySink sink(ctx, nullptr, limit);
  DkimBodyHash r;
  r.bare_cr_or_lf = CanonBody(c, body, &sink);
  sink.Flush();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!sink.ok() || EVP_DigestFinal_ex(ctx, digest, &len) != 1) {
    return Status::Internal("body hash: digest failed");
  }
  r.digest.assign(reinterpret_cast<char*>(digest), len);
  r.canonical_length = sink.total();
  return r;
}

std::string CanonicalizeBody(DkimCanon c, std::string_view body) {
  std::string out;
  BodySink sink(nullptr, &out, -1);
  CanonBody(c, body, &sink);
  return out;
}

void CanonicalizeHeader(DkimCanon c, std::string_view raw, size_t colon, std::string* out) {
  if (c == DkimCanon::kSimple) {
    out->append(raw);
    return;
  }
  // Relaxed (§3.4.2): lower-case name, no WSP around the colon, unfold,
  // WSP runs to one SP, no WSP at the end of the value. Runs of ordinary
  // characters are appended whole.
  size_t name_end = colon;
  while (name_end > 0 && IsWsp(raw[name_end - 1])) --name_end;
  size_t at = out->size();
  out->append(raw.data(), name_end);
  for (size_t i = at; i < out->size(); ++i) (*out)[i] = Lower((*out)[i]);
  out->push_back(':');
  std::string_view v = raw.substr(colon + 1);
  if (v.size() >= 2 && v.substr(v.size() - 2) == "\r\n") v.remove_suffix(2);
  if ((ScanLine(v.data(), v.size()) & (kCollapse | kBare)) == 0) {
    // One line, no TAB, no double SP (most fields): only the ends change.
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    out->append(v);
    out->append("\r\n");
    return;
  }
  bool pending_space = false, started = false;
  size_t i = 0;
  while (i < v.size()) {
    char ch = v[i];
    if (ch == '\r' && i + 1 < v.size() && v[i + 1] == '\n') {  // unfold
      i += 2;
      continue;
    }
    if (IsWsp(ch)) {
      pending_space = started;
      ++i;
      continue;
    }
    if (pending_space) out->push_back(' ');
    pending_space = false;
    started = true;
    size_t j = i + 1;
    while (j < v.size() && !IsWsp(v[j]) && v[j] != '\r') ++j;
    out->append(v.data() + i, j - i);
    i = j;
  }
  out->append("\r\n");
}

void AppendSignedFields(const DkimMessageParts& parts, std::span<const std::string_view> names,
                        DkimCanon c, size_t self, std::string* out) {
  // Small: a dozen names over a few dozen fields; a bit per field marks use.
  std::vector<bool> used(parts.fields.size(), false);
  if (self < used.size()) used[self] = true;
  for (std::string_view name : names) {
    for (size_t i = parts.fields.size(); i-- > 0;) {
      if (!used[i] && EqualsIgnoreCase(parts.fields[i].name, name)) {
        used[i] = true;
        CanonicalizeHeader(c, parts.fields[i].raw, parts.fields[i].colon, out);
        break;
      }
    }
  }
}

DkimMessageParts SplitDkimMessage(std::string_view m) {
  DkimMessageParts parts;
  parts.fields.reserve(24);
  size_t pos = 0;
  size_t field_start = std::string_view::npos;
  auto close_field = [&](size_t end) {
    if (field_start == std::string_view::npos) return;
    std::string_view raw = m.substr(field_start, end - field_start);
    size_t colon = raw.find(':');
    // A colon on the first line only: "Name:" (obs: "Name :").
    size_t first_eol = raw.find('\n');
    if (colon != std::string_view::npos &&
        (first_eol == std::string_view::npos || colon < first_eol)) {
      size_t name_end = colon;
      while (name_end > 0 && IsWsp(raw[name_end - 1])) --name_end;
      if (name_end > 0) parts.fields.push_back({raw, raw.substr(0, name_end), colon});
    }
    field_start = std::string_view::npos;
  };
  while (pos < m.size()) {
    size_t lf = m.find('\n', pos);
    size_t next = lf == std::string_view::npos ? m.size() : lf + 1;
    if (lf != std::string_view::npos && (lf == pos || m[lf - 1] != '\r')) {
      parts.bare_cr_or_lf = true;
    }
    std::string_view line = m.substr(pos, next - pos);
    if (line == "\r\n" || line == "\n") {  // the blank line: body follows
      close_field(pos);
      parts.body = m.substr(next);
      return parts;
    }
    if (IsWsp(line[0]) && field_start != std::string_view::npos) {
      // continuation of the current field
    } else {
      close_field(pos);
      field_start = pos;
    }
    pos = next;
  }
  close_field(m.size());
  return parts;
}

// ---- tag lists ----

Result<std::vector<DkimTag>> ParseDkimTagList(std::string_view s) {
  std::vector<DkimTag> tags;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < s.size() && IsFwsChar(s[i])) ++i;
  };
  auto err = [&](const std::string& what) {
    return Status::Invalid("tag " + std::to_string(tags.size() + 1) + ": " + what);
  };
  for (;;) {
    skip_ws();
    if (i == s.size()) {
      if (!tags.empty() || s.empty()) return tags;
      return err("empty tag list");
    }
    size_t name_begin = i;
    if (!IsAlpha(s[i])) {
      if (s[i] == ';') return err("empty tag (\";;\")");
      char buf[64];
      std::snprintf(buf, sizeof buf, "a tag name must start with a letter, got 0x%02X",
                    static_cast<unsigned char>(s[i]));
      return err(buf);
    }
    while (i < s.size() && (IsAlpha(s[i]) || IsDigit(s[i]) || s[i] == '_')) ++i;
    std::string name(s.substr(name_begin, i - name_begin));
    skip_ws();
    if (i == s.size() || s[i] != '=') return err(name + ": expected '=' after the tag name");
    ++i;
    size_t value_begin = i;
    size_t semi = s.find(';', i);
    size_t spec_end = semi == std::string_view::npos ? s.size() : semi;
    std::string_view v = s.substr(i, spec_end - i);
    for (char ch : v) {
      unsigned char u = static_cast<unsigned char>(ch);
      bool valchar = u >= 0x21 && u <= 0x7E;  // ';' cannot occur here
      if (!valchar && !IsFwsChar(ch)) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "%s: invalid character 0x%02X in the value", name.c_str(),
                      u);
        return err(buf);
      }
    }
    while (!v.empty() && IsFwsChar(v.front())) v.remove_prefix(1);
    while (!v.empty() && IsFwsChar(v.back())) v.remove_suffix(1);
    for (const auto& t : tags) {
      if (t.name == name) return err(name + "= appears twice");
    }
    tags.push_back({name, std::string(v), value_begin, spec_end});
    if (semi == std::string_view::npos) return tags;
    i = semi + 1;
  }
}

const DkimTag* FindTag(const std::vector<DkimTag>& tags, std::string_view name) {
  for (const auto& t : tags) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool ValidDkimDomain(std::string_view d, bool allow_underscore) {
  if (d.empty() || d.size() > 253) return false;
  size_t label = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    char c = d[i];
    if (c == '.') {
      if (label == 0 || d[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    bool ok = IsAlpha(c) || IsDigit(c) || (c == '-' && label > 0) || (c == '_' && allow_underscore);
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && d.back() != '-';
}

}  // namespace sealmail
