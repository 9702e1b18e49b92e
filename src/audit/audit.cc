#include "audit/audit.h"

namespace sealmail {

std::string RedactDetail(std::string_view detail) {
  std::string out;
  out.reserve(std::min(detail.size(), kMaxDetail));
  for (unsigned char c : detail) {
    if (out.size() >= kMaxDetail) break;
    out += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
  }
  return out;
}

std::string JoinFound(const std::vector<std::string>& found) {
  std::string out;
  for (const auto& f : found) {
    if (!out.empty()) out += '\n';
    out += f;
  }
  return out;
}

std::vector<std::string> SplitFound(std::string_view joined) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < joined.size()) {
    size_t nl = joined.find('\n', start);
    if (nl == std::string_view::npos) nl = joined.size();
    if (nl > start) out.emplace_back(joined.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace sealmail
