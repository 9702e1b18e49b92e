#include "scope/scope_csv.h"

#include "base/file.h"

namespace sealmail {

std::string CsvField(std::string_view v) {
  bool quote = !v.empty() && (v.front() == ' ' || v.back() == ' ' || v.front() == '\t' ||
                              v.back() == '\t');
  for (char c : v) quote |= c == ',' || c == '"' || c == '\r' || c == '\n';
  if (!quote) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string ExposedCsvRow(std::string_view email, uint64_t seen_by,
                          const std::vector<std::string_view>& message_ids) {
  std::string ids;
  for (size_t i = 0; i < message_ids.size() && i < kMaxListedMessageIds; ++i) {
    if (!ids.empty()) ids += ' ';
    ids += message_ids[i];
  }
  if (message_ids.size() > kMaxListedMessageIds) {
    ids += " (+" + std::to_string(message_ids.size() - kMaxListedMessageIds) + " more)";
  }
  return CsvField(email) + ',' + std::to_string(seen_by) + ',' +
         std::to_string(message_ids.size()) + ',' + CsvField(ids) + '\n';
}

std::string ExposedCsv(const ExposureGraph& graph) {
  std::string out(kExposedCsvHeader);
  graph.ForEachExposed(false, [&](const ExposedAddress& e) {
    out += ExposedCsvRow(e.address, e.seen_by, e.message_ids);
  });
  return out;
}

Status WriteExposedCsv(const ExposureGraph& graph, const std::string& path) {
  return WriteFileAtomic(path, ExposedCsv(graph));
}

}  // namespace sealmail
