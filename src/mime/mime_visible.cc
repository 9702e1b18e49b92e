#include "mime/mime_visible.h"

#include <cctype>
#include <cstdint>
#include <cstring>
#include <vector>

#include "address/address.h"

namespace sealmail {
namespace {

constexpr std::string_view kEntitiesSuffix = " (HTML entities decoded)";
constexpr std::string_view kPercentSuffix = " (URL-decoded)";

bool NonAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Reports t, then, for an internationalised domain, the same token with the
// domain's A-label (so a set keyed on either spelling recognises it).
template <typename Report>
void ReportWithALabel(const AddressToken& t, const Report& report) {
  report(t);
  if (!NonAscii(t.domain)) return;
  auto ascii = DomainToAscii(t.domain);
  if (!ascii.ok()) return;
  AddressToken alabel = t;
  alabel.domain = *ascii;
  report(alabel);
}

// Whether decoding HTML references or %XX escapes could change what the
// finder sees. Only references that can spell part of an address count:
// "&amp;" in every HTML link is not worth a second pass.
void NeedsDecoding(std::string_view text, bool* amp, bool* pct) {
  *amp = false;
  *pct = false;
  const char* p = text.data();
  const size_t n = text.size();
  if (n == 0) return;  // memchr must not see a null pointer
  auto starts = [&](size_t i, std::string_view word) {
    return n - i >= word.size() && std::memcmp(p + i, word.data(), word.size()) == 0;
  };
  for (const void* hit = std::memchr(p, '&', n); hit != nullptr;) {
    size_t i = static_cast<size_t>(static_cast<const char*>(hit) - p) + 1;
    if (i < n) {
      switch (p[i]) {
        case '#': *amp = true; break;
        case 'c': *amp = starts(i, "commat"); break;
        case 'p': *amp = starts(i, "period"); break;
        case 'h': *amp = starts(i, "hyphen"); break;
        case 'd': *amp = starts(i, "dash"); break;
        case 'l': *amp = starts(i, "lowbar"); break;
        default: break;
      }
    }
    if (*amp || i >= n) break;
    hit = std::memchr(p + i, '&', n - i);
  }
  for (size_t i = text.find('%'); i != std::string_view::npos && !*pct;
       i = text.find('%', i + 1)) {
    *pct = i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
           std::isxdigit(static_cast<unsigned char>(text[i + 2]));
  }
}

// Multiply-xorshift over 8-byte words: tokens are short, and this runs for
// every '@' of a message (FNV-1a would spend a multiply per byte).
uint64_t TokenHash(std::string_view s) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  uint64_t h = 0xbf58476d1ce4e5b9ull ^ s.size();
  const char* p = s.data();
  size_t n = s.size();
  if (n < 8) {
    uint64_t w = 0;
    for (size_t i = 0; i < n; ++i) w = w << 8 | static_cast<unsigned char>(p[i]);
    h = (h ^ w) * kMul;
  } else {
    // Whole words, then the last 8 bytes (overlapping the previous word).
    const char* last = p + n - 8;
    for (; p < last; p += 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      h = (h ^ w) * kMul;
      h ^= h >> 29;
    }
    uint64_t w;
    std::memcpy(&w, last, 8);
    h = (h ^ w) * kMul;
  }
  h ^= h >> 32;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 29;
  return h == 0 ? 1 : h;
}

// The distinct token spellings of one walk. Exact bytes are kept and
// compared, so a hash collision can never hide a token.
class SeenTokens {
 public:
  SeenTokens() : slots_(64) {}

  // True the first time spelling is offered.
  bool Insert(std::string_view spelling) {
    uint64_t h = TokenHash(spelling);
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.hash == 0) break;
      if (s.hash == h && s.len == spelling.size() &&
          std::memcmp(bytes_.data() + s.off, spelling.data(), s.len) == 0)
        return false;
    }
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    Place({h, bytes_.size(), spelling.size()});
    bytes_.append(spelling);
    ++count_;
    return true;
  }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0 = empty
    size_t off = 0, len = 0;
  };
  void Place(const Slot& s) {
    size_t mask = slots_.size() - 1;
    size_t i = s.hash & mask;
    while (slots_[i].hash != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    for (const Slot& s : old) {
      if (s.hash != 0) Place(s);
    }
  }
  std::vector<Slot> slots_;
  std::string bytes_;
  size_t count_ = 0;
};

class Walker {
 public:
  explicit Walker(VisibleAddressFn fn) : fn_(fn) {}

  void Part(const MimePart& part, const VisibleWhere::Frame* path) {
    for (const HeaderField& h : part.headers) {
      auto where = [&](std::string_view suffix) {
        return VisibleWhere(VisibleWhere::Kind::kHeader, path, &part, h.name, suffix);
      };
      if (h.value.find("=?") != std::string::npos)
        Text(DecodeHeaderText(h.value), where);
      else
        Text(h.value, where);
    }
    if (!part.children.empty()) {
      int i = 0;
      const bool message = part.content_type == "message/rfc822";
      for (const MimePart& c : part.children) {
        VisibleWhere::Frame frame{path, &part, &c, message ? 0 : ++i};
        Part(c, &frame);
      }
      return;
    }
    auto where = [&](std::string_view suffix) {
      return VisibleWhere(VisibleWhere::Kind::kBody, path, &part, {}, suffix);
    };
    std::string_view charset;
    for (const auto& [k, v] : part.params) {
      if (k == "charset") {
        charset = v;
        break;
      }
    }
    if (!charset.empty() && charset != "utf-8" && charset != "us-ascii") {
      Text(ToUtf8(charset, part.body), where);
    } else {
      Text(part.body, where);
    }
  }

  // One view and its entity/percent-decoded twins. where(suffix) names them.
  template <typename Where>
  void Text(std::string_view text, const Where& where) {
    Scan(text, where(""));
    bool amp, pct;
    NeedsDecoding(text, &amp, &pct);
    if (amp) {
      std::string e = DecodeHtmlEntities(text);
      Scan(e, where(kEntitiesSuffix));
      if (e.find('%') != std::string::npos) Scan(DecodePercent(e), where(kPercentSuffix));
    }
    if (pct) Scan(DecodePercent(text), where(kPercentSuffix));
  }

  // Every new token in text, and its A-label twin when the domain is not
  // ASCII: a non-ASCII domain may be written in any case or normalisation
  // form, and its A-label (UTS #46 mapping, NFC) is the one spelling to
  // compare.
  void Scan(std::string_view text, const VisibleWhere& where) {
    AddressTokenCursor cursor(text);
    AddressToken t;
    // The last token met (in any view) is skipped cheaply by the cursor:
    // text that repeats one address costs a compare per '@'.
    while (cursor.NextSkippingToken(&t, last_)) {
      // local, '@' and domain are adjacent in text.
      std::string_view spelling(t.local.data(), t.local.size() + 1 + t.domain.size());
      last_.assign(spelling);
      if (!seen_.Insert(spelling)) continue;
      ReportWithALabel(t, [&](const AddressToken& a) { fn_(a, where); });
    }
  }

 private:
  VisibleAddressFn fn_;
  SeenTokens seen_;
  std::string last_;
};

}  // namespace

std::string VisibleWhere::ToString() const {
  if (kind_ == Kind::kRaw) return "message bytes";
  std::vector<const Frame*> frames;
  for (const Frame* f = path_; f != nullptr; f = f->outer) frames.push_back(f);
  std::string path;
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    const Frame& f = **it;
    if (f.parent->content_type == "message/rfc822") {
      path += "attached message, ";
    } else {
      path += "part " + std::to_string(f.index) + " (" + f.part->content_type + "), ";
    }
  }
  std::string where;
  if (kind_ == Kind::kHeader) {
    where = path + "header ";
    where += header_;
  } else {
    where = path.empty() ? "body (" + part_->content_type + ")" : path + "body";
    std::string name = part_->Param("name");
    if (!name.empty()) where += " \"" + name + "\"";
  }
  where += suffix_;
  return where;
}

void VisitAddressesInText(std::string_view text, const std::string& where,
                          const std::function<void(const AddressToken&, const std::string&)>& fn) {
  auto scan = [&](std::string_view view, const std::string& name) {
    FindAddressTokens(view, [&](const AddressToken& t) {
      ReportWithALabel(t, [&](const AddressToken& a) { fn(a, name); });
    });
  };
  scan(text, where);
  bool amp, pct;
  NeedsDecoding(text, &amp, &pct);
  if (amp) {
    std::string e = DecodeHtmlEntities(text);
    scan(e, where + std::string(kEntitiesSuffix));
    if (e.find('%') != std::string::npos) scan(DecodePercent(e), where + std::string(kPercentSuffix));
  }
  if (pct) scan(DecodePercent(text), where + std::string(kPercentSuffix));
}

void VisitVisibleAddresses(const MimePart& root, std::string_view raw, VisibleAddressFn fn) {
  Walker w(fn);
  w.Part(root, nullptr);
  if (!raw.empty()) w.Scan(raw, VisibleWhere(VisibleWhere::Kind::kRaw, nullptr, nullptr, {}, {}));
}

std::string CanonicalDomainSpelling(std::string_view spelling) {
  size_t at = spelling.rfind('@');
  if (at == std::string_view::npos) return std::string(spelling);
  std::string_view domain = spelling.substr(at + 1);
  if (!NonAscii(domain)) return std::string(spelling);
  auto ascii = DomainToAscii(domain);
  if (!ascii.ok()) return std::string(spelling);
  return std::string(spelling.substr(0, at + 1)) + *ascii;
}

}  // namespace sealmail
