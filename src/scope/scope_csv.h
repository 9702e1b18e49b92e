// exposed.csv: the people to notify after an exposure, in a form that is
// directly the audience.csv of a notification campaign (src/audience):
// header `email,seen_by,messages,message_ids`; one row per exposed address;
// seen_by: how many other receivers saw it; messages: how many messages
// showed it; message_ids: the first kMaxListedMessageIds of their
// Message-IDs, separated by spaces, then "(+N more)" (a sender's own address
// can be in every message: the cell stays small). RFC 4180 quoting.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "scope/exposure.h"

namespace sealmail {

constexpr size_t kMaxListedMessageIds = 20;
constexpr std::string_view kExposedCsvHeader = "email,seen_by,messages,message_ids\n";

// A CSV field, quoted when it holds ',', '"', CR, LF or leading/trailing space.
std::string CsvField(std::string_view v);

// One row (with its line end).
std::string ExposedCsvRow(std::string_view email, uint64_t seen_by,
                          const std::vector<std::string_view>& message_ids);

// The whole file's text.
std::string ExposedCsv(const ExposureGraph& graph);

// Writes ExposedCsv atomically to path.
Status WriteExposedCsv(const ExposureGraph& graph, const std::string& path);

}  // namespace sealmail
