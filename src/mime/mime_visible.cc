#include "mime/mime_visible.h"

#include <cctype>

#include "address/address.h"

namespace sealmail {
namespace {

bool NonAscii(std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

// Every token in text, and its A-label twin when the domain is not ASCII: a
// non-ASCII domain may be written in any case or normalisation form, and its
// A-label (UTS #46 mapping, NFC) is the one spelling to compare.
void Scan(std::string_view text, const std::string& where, const VisibleAddressFn& fn) {
  FindAddressTokens(text, [&](const AddressToken& t) {
    fn(t, where);
    if (!NonAscii(t.domain)) return;
    auto ascii = DomainToAscii(t.domain);
    if (!ascii.ok()) return;
    AddressToken alabel = t;
    alabel.domain = *ascii;
    fn(alabel, where);
  });
}

void Part(const MimePart& part, const std::string& path, const VisibleAddressFn& fn) {
  for (const HeaderField& h : part.headers) {
    std::string where = path + "header " + h.name;
    if (h.value.find("=?") != std::string::npos)
      VisitAddressesInText(DecodeHeaderText(h.value), where, fn);
    else
      VisitAddressesInText(h.value, where, fn);
  }
  if (!part.children.empty()) {
    int i = 0;
    for (const MimePart& c : part.children) {
      Part(c,
           path + (part.content_type == "message/rfc822"
                       ? "attached message, "
                       : "part " + std::to_string(++i) + " (" + c.content_type + "), "),
           fn);
    }
    return;
  }
  std::string where = path.empty() ? "body (" + part.content_type + ")" : path + "body";
  std::string name = part.Param("name");
  if (!name.empty()) where += " \"" + name + "\"";
  std::string charset = part.Param("charset");
  if (!charset.empty() && charset != "utf-8" && charset != "us-ascii") {
    VisitAddressesInText(ToUtf8(charset, part.body), where, fn);
  } else {
    VisitAddressesInText(part.body, where, fn);
  }
}

}  // namespace

void VisitAddressesInText(std::string_view text, const std::string& where,
                          const VisibleAddressFn& fn) {
  Scan(text, where, fn);
  // Decode only when a reference that can spell part of an address is
  // present: "&amp;" in every HTML link is not worth a second pass.
  bool amp = false, pct = false;
  for (size_t i = text.find('&'); i != std::string_view::npos && !amp;
       i = text.find('&', i + 1)) {
    std::string_view rest = text.substr(i + 1);
    amp = (!rest.empty() && rest[0] == '#') || rest.rfind("commat", 0) == 0 ||
          rest.rfind("period", 0) == 0 || rest.rfind("hyphen", 0) == 0 ||
          rest.rfind("dash", 0) == 0 || rest.rfind("lowbar", 0) == 0;
  }
  for (size_t i = text.find('%'); i != std::string_view::npos && !pct;
       i = text.find('%', i + 1)) {
    pct = i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(text[i + 2]));
  }
  if (amp) {
    std::string e = DecodeHtmlEntities(text);
    Scan(e, where + " (HTML entities decoded)", fn);
    if (e.find('%') != std::string::npos) Scan(DecodePercent(e), where + " (URL-decoded)", fn);
  }
  if (pct) Scan(DecodePercent(text), where + " (URL-decoded)", fn);
}

void VisitVisibleAddresses(const MimePart& root, std::string_view raw, const VisibleAddressFn& fn) {
  Part(root, "", fn);
  if (!raw.empty()) Scan(raw, "message bytes", fn);
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
