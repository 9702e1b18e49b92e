// Canonicalisation (RFC 6376 §3.4), header splitting and tag lists (§3.2).
#include <cstdio>
#include <cstring>

#include "dkim/dkim_internal.h"

namespace sealmail {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }
bool IsFwsChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Collects canonical body bytes and feeds them to a digest in large blocks
// (one EVP_DigestUpdate per 8 KiB rather than per line), honouring l=.
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
    hashed_ += n;
    if (copy_ != nullptr) {
      copy_->append(p, n);
      return;
    }
    if (used_ + n > sizeof buf_) {
      Flush();
      if (n > sizeof buf_ / 2) {
        ok_ &= EVP_DigestUpdate(ctx_, p, n) == 1;
        return;
      }
    }
    std::memcpy(buf_ + used_, p, n);
    used_ += n;
  }
  void Crlfs(uint64_t n) {
    for (; n > 0; --n) Put("\r\n", 2);
  }
  void Flush() {
    if (used_ > 0 && ctx_ != nullptr) ok_ &= EVP_DigestUpdate(ctx_, buf_, used_) == 1;
    used_ = 0;
  }
  uint64_t total() const { return total_; }
  bool ok() const { return ok_; }

 private:
  EVP_MD_CTX* ctx_;
  std::string* copy_;
  int64_t limit_;
  uint64_t total_ = 0, hashed_ = 0;
  size_t used_ = 0;
  bool ok_ = true;
  char buf_[8192];
};

// The body algorithm of §3.4.3 (simple) and §3.4.4 (relaxed), line by line.
// Lines end at CRLF; a bare CR or LF is ordinary content (and reported, since
// a signer must not produce it). Empty lines are held back as a count and
// written only when more content follows, which drops trailing empty lines
// without looking ahead; at the end one CRLF closes the last non-empty line
// (added when the body did not end with one).
bool CanonBody(DkimCanon c, std::string_view body, BodySink* out) {
  const char* p = body.data();
  const char* end = p + body.size();
  uint64_t pending_crlf = 0;
  bool any = false, bare = false;
  while (p < end) {
    // Find the end of this line: the next CRLF.
    const char* eol = p;
    const char* next = end;
    for (;;) {
      const char* lf = static_cast<const char*>(std::memchr(eol, '\n', end - eol));
      if (lf == nullptr) {
        eol = end;
        next = end;
        break;
      }
      if (lf > p && lf[-1] == '\r') {
        eol = lf - 1;
        next = lf + 1;
        break;
      }
      bare = true;
      eol = lf + 1;
    }
    if (!bare && std::memchr(p, '\r', eol - p) != nullptr) bare = true;
    bool terminated = next != end || (eol != end);
    if (c == DkimCanon::kSimple) {
      if (eol > p) {
        out->Crlfs(pending_crlf);
        out->Put(p, eol - p);
        any = true;
        pending_crlf = 0;
      }
    } else {
      // Relaxed: runs of WSP become one SP; WSP at the end of a line goes.
      const char* q = p;
      const char* line_end = eol;
      while (line_end > q && IsWsp(line_end[-1])) --line_end;
      if (line_end > q) {
        out->Crlfs(pending_crlf);
        pending_crlf = 0;
        any = true;
        const char* run = q;
        while (q < line_end) {
          if (!IsWsp(*q)) {
            ++q;
            continue;
          }
          const char* w = q;
          while (q < line_end && IsWsp(*q)) ++q;
          if (q - w == 1 && *w == ' ') continue;  // already canonical
          out->Put(run, w - run);
          out->Put(" ", 1);
          run = q;
        }
        out->Put(run, line_end - run);
      }
    }
    if (terminated) ++pending_crlf;
    p = next;
    if (next == end && eol == end) break;
  }
  if (any) out->Put("\r\n", 2);
  else if (c == DkimCanon::kSimple) out->Put("\r\n", 2);
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
                                  int64_t limit) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    return Status::Internal("body hash: EVP_DigestInit failed");
  }
  BodySink sink(ctx.get(), nullptr, limit);
  DkimBodyHash r;
  r.bare_cr_or_lf = CanonBody(c, body, &sink);
  sink.Flush();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!sink.ok() || EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
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
  // WSP runs to one SP, no WSP at the end of the value.
  size_t name_end = colon;
  while (name_end > 0 && IsWsp(raw[name_end - 1])) --name_end;
  for (size_t i = 0; i < name_end; ++i) out->push_back(Lower(raw[i]));
  out->push_back(':');
  std::string_view v = raw.substr(colon + 1);
  if (v.size() >= 2 && v.substr(v.size() - 2) == "\r\n") v.remove_suffix(2);
  bool pending_space = false, started = false;
  for (size_t i = 0; i < v.size(); ++i) {
    char ch = v[i];
    if (ch == '\r' && i + 1 < v.size() && v[i + 1] == '\n') {  // unfold
      ++i;
      continue;
    }
    if (IsWsp(ch)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out->push_back(' ');
    pending_space = false;
    started = true;
    out->push_back(ch);
  }
  out->append("\r\n");
}

void AppendSignedFields(const DkimMessageParts& parts, const std::vector<std::string>& names,
                        DkimCanon c, size_t self, std::string* out) {
  // Small: a dozen names over a few dozen fields; a bit per field marks use.
  std::vector<bool> used(parts.fields.size(), false);
  if (self < used.size()) used[self] = true;
  for (const std::string& name : names) {
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
  size_t pos = 0;
  size_t field_start = std::string_view::npos;
  auto close_field = [&](size_t end) {
    if (field_start == std::string_view::npos) return;
    std::string_view raw = m.substr(field_start, end - field_start);
    size_t colon = raw.find(':');
    // A colon on the first line only: "Name:" (obs: "Name :").
    size_t first_eol = raw.find('\n');
    if (colon != std::string_view::npos && (first_eol == std::string_view::npos ||
                                            colon < first_eol)) {
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
        std::snprintf(buf, sizeof buf, "%s: invalid character 0x%02X in the value",
                      name.c_str(), u);
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
    bool ok = IsAlpha(c) || IsDigit(c) || (c == '-' && label > 0) ||
              (c == '_' && allow_underscore);
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && d.back() != '-';
}

}  // namespace sealmail
