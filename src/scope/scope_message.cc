#include "scope/scope_message.h"

#include <cstring>
#include <unordered_set>

#include "base/ascii.h"
#include "address/address.h"
#include "address/address_find.h"
#include "mime/mime_decode.h"
#include "mime/mime_visible.h"

namespace sealmail {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Removes (comments) outside quoted strings; keeps quoted strings as written.
std::string StripComments(std::string_view s) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size() && (quoted || depth > 0)) {
      if (depth == 0) {
        out += c;
        out += s[i + 1];
      }
      ++i;
      continue;
    }
    if (depth > 0) {
      if (c == '(') ++depth;
      if (c == ')') --depth;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == '(' && !quoted) {
      depth = 1;
      out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

// One element of an address list -> its Key(), or empty.
std::string ElementKey(std::string_view element) {
  auto mb = ParseMailbox(element);
  if (mb.ok()) return mb->address.Key();
  std::string plain = StripComments(element);
  std::string_view v = Trim(plain);
  size_t lt = v.rfind('<');
  if (lt != std::string_view::npos) {
    size_t gt = v.find('>', lt);
    v = Trim(v.substr(lt + 1, gt == std::string_view::npos ? std::string_view::npos : gt - lt - 1));
    // Obsolete source route "<@relay:user@host>".
    if (!v.empty() && v[0] == '@') {
      size_t colon = v.find(':');
      if (colon != std::string_view::npos) v = v.substr(colon + 1);
    }
  }
  auto a = ParseAddress(v);
  if (a.ok()) return a->Key();
  return "";
}

bool IsReceiverHeader(std::string_view name) {
  static constexpr const char* kNames[] = {"to",        "cc",        "bcc",
                                           "resent-to", "resent-cc", "resent-bcc",
                                           "delivered-to", "x-original-to"};
  for (const char* n : kNames) {
    if (EqualsCI(name, n)) return true;
  }
  return false;
}

bool IsIdHeader(std::string_view name) {
  static constexpr const char* kNames[] = {"message-id", "in-reply-to", "references",
                                           "content-id", "resent-message-id", "original-message-id",
                                           "x-message-id"};
  for (const char* n : kNames) {
    if (EqualsCI(name, n)) return true;
  }
  return false;
}

// A header block starts with "Name:" (printable ASCII, no space) or is a
// From_ line some tools leave in single-message files.
bool LooksLikeMail(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size() && bytes[i] != ':' && bytes[i] != '\n') {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c <= 32 || c >= 127) return false;
    ++i;
  }
  return i > 0 && i < bytes.size() && bytes[i] == ':';
}

}  // namespace

std::string BadMessage::ToString() const {
  return file + ": offset " + std::to_string(offset) + ": " + reason;
}

std::vector<std::string> ParseAddressList(std::string_view value, int* unparsed) {
  std::vector<std::string> out;
  auto flush = [&](std::string_view element) {
    element = Trim(element);
    if (element.empty()) return;
    std::string key = ElementKey(element);
    if (key.empty()) {
      if (unparsed != nullptr) ++*unparsed;
      return;
    }
    out.push_back(std::move(key));
  };
  bool quoted = false;
  int comment = 0, angle = 0;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && (quoted || comment > 0)) {
      ++i;
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      continue;
    }
    if (comment > 0) {
      if (c == '(') ++comment;
      if (c == ')') --comment;
      continue;
    }
    switch (c) {
      case '"': quoted = true; break;
      case '(': comment = 1; break;
      case '<': ++angle; break;
      case '>': if (angle > 0) --angle; break;
      case ',':
        if (angle == 0) {
          flush(value.substr(start, i - start));
          start = i + 1;
        }
        break;
      case ':':
        // "group name: a@x, b@y;" -- the display name of a group is no address.
        if (angle == 0) start = i + 1;
        break;
      case ';':
        if (angle == 0) {
          flush(value.substr(start, i - start));
          start = i + 1;
        }
        break;
      default: break;
    }
  }
  flush(value.substr(start));
  return out;
}

int64_t ParseMailDate(std::string_view v) {
  std::string s = StripComments(v);
  std::vector<std::string_view> tok;
  std::string_view rest = s;
  while (!rest.empty()) {
    size_t b = rest.find_first_not_of(" \t\r\n,");
    if (b == std::string_view::npos) break;
    rest.remove_prefix(b);
    size_t e = rest.find_first_of(" \t\r\n,");
    tok.push_back(rest.substr(0, e));
    rest.remove_prefix(e == std::string_view::npos ? rest.size() : e);
  }
  size_t i = 0;
  auto is_alpha = [](std::string_view t) {
    return !t.empty() && ((t[0] >= 'A' && t[0] <= 'Z') || (t[0] >= 'a' && t[0] <= 'z'));
  };
  auto number = [](std::string_view t, int* out) {
    if (t.empty() || t.size() > 9) return false;
    int n = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + (c - '0');
    }
    *out = n;
    return true;
  };
  if (i < tok.size() && is_alpha(tok[i])) ++i;  // day of week
  int day = 0, year = 0, month = -1;
  if (i + 3 > tok.size() || !number(tok[i], &day)) return 0;
  static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
  std::string mon = LowerAscii(tok[i + 1].substr(0, 3));
  for (int m = 0; m < 12; ++m) {
    if (mon == kMonths[m]) month = m + 1;
  }
  if (month < 0 || !number(tok[i + 2], &year)) return 0;
  if (tok[i + 2].size() <= 2) year += year < 50 ? 2000 : 1900;
  else if (tok[i + 2].size() == 3) year += 1900;
  i += 3;
  int hh = 0, mm = 0, ss = 0;
  if (i < tok.size()) {
    std::string_view t = tok[i];
    size_t c1 = t.find(':');
    if (c1 != std::string_view::npos) {
      size_t c2 = t.find(':', c1 + 1);
      if (!number(t.substr(0, c1), &hh)) return 0;
      if (!number(t.substr(c1 + 1, c2 == std::string_view::npos ? std::string_view::npos
                                                                  : c2 - c1 - 1),
                  &mm))
        return 0;
      if (c2 != std::string_view::npos && !number(t.substr(c2 + 1), &ss)) return 0;
      ++i;
    }
  }
  int offset = 0;  // minutes east of UTC
  if (i < tok.size()) {
    std::string_view z = tok[i];
    int n = 0;
    if ((z[0] == '+' || z[0] == '-') && z.size() == 5 && number(z.substr(1), &n)) {
      offset = (n / 100) * 60 + n % 100;
      if (z[0] == '-') offset = -offset;
    } else {
      static constexpr std::pair<const char*, int> kZones[] = {
          {"edt", -4}, {"est", -5}, {"cdt", -5}, {"cst", -6},
          {"mdt", -6}, {"mst", -7}, {"pdt", -7}, {"pst", -8}};
      std::string zl = LowerAscii(z);
      for (const auto& [name, h] : kZones) {
        if (zl == name) offset = h * 60;
      }
    }
  }
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return 0;
  // Days from the civil date (Howard Hinnant's days_from_civil).
  int y = year - (month <= 2);
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = static_cast<int64_t>(era) * 146097 + doe - 719468;
  return days * 86400 + hh * 3600 + mm * 60 + ss - static_cast<int64_t>(offset) * 60;
}

void ScopeAnalyser::AddBad(const std::string& file, uint64_t offset, std::string reason) {
  graph_.CountBadMessage();
  if (bad_.size() < kMaxKeptBad) bad_.push_back({file, offset, std::move(reason)});
}

void ScopeAnalyser::AddMessage(std::string_view bytes, const std::string& file, uint64_t offset) {
  if (Trim(bytes).empty()) {
    AddBad(file, offset, "empty message");
    return;
  }
  if (!LooksLikeMail(bytes)) {
    AddBad(file, offset, "not a mail message: it does not start with a header field");
    return;
  }
  DecodedMessage msg = DecodeMessage(bytes);
  std::vector<std::string> receivers;
  std::string message_id;
  int64_t at = 0;
  std::unordered_set<std::string> ids;  // Message-ID-like values: not addresses
  for (const HeaderField& h : msg.root.headers) {
    if (IsReceiverHeader(h.name)) {
      for (auto& r : ParseAddressList(h.value, nullptr)) {
        if (audience_ != nullptr && !audience_->Contains(r)) continue;
        receivers.push_back(std::move(r));
      }
    } else if (IsIdHeader(h.name)) {
      if (message_id.empty() && EqualsCI(h.name, "message-id")) message_id = std::string(Trim(h.value));
      FindAddressTokens(h.value, [&](const AddressToken& t) {
        ids.insert(LowerAscii(std::string(t.local) + "@" + std::string(t.domain)));
      });
    } else if (at == 0 && EqualsCI(h.name, "date")) {
      at = ParseMailDate(h.value);
    }
  }
  if (message_id.empty()) message_id = file + ":" + std::to_string(offset);

  std::unordered_set<std::string> seen;
  std::vector<std::string> visible;
  auto add = [&](std::string spelling) {
    if (ids.count(spelling)) return;
    if (seen.insert(spelling).second) visible.push_back(std::move(spelling));
  };
  if (audience_ != nullptr) {
    VisitVisibleAddresses(msg.root, bytes, [&](const AddressToken& t, const VisibleWhere&) {
      AddressCandidates(t, [&](std::string_view cand) {
        if (audience_->Contains(cand)) add(CanonicalDomainSpelling(cand));
      });
    });
  } else {
    std::unordered_set<std::string> refused;
    VisitVisibleAddresses(msg.root, {}, [&](const AddressToken& t, const VisibleWhere&) {
      std::string_view domain = t.domain;
      while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
      std::string_view local = t.local;
      while (!local.empty() && local.front() == '.') local.remove_prefix(1);
      if (local.empty() || domain.empty()) return;
      std::string spelling = LowerAscii(std::string(local) + "@" + std::string(domain));
      if (seen.count(spelling) || refused.count(spelling) || ids.count(spelling)) return;
      auto cached = key_cache_.find(spelling);
      if (cached == key_cache_.end()) {
        if (key_cache_.size() >= kMaxKeyCache) key_cache_.clear();
        auto a = ParseAddress(spelling);
        cached = key_cache_.emplace(spelling, a.ok() ? a->Key() : std::string()).first;
      }
      if (cached->second.empty()) {
        refused.insert(std::move(spelling));
        return;
      }
      std::string key = cached->second;
      if (key != spelling) seen.insert(spelling);  // U-label twin: same person
      add(std::move(key));
    });
  }
  graph_.AddMessage(message_id, at, receivers, visible);
}

}  // namespace sealmail
