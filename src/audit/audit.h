// The audit trail's record: what left, to whom, with which bytes, and which
// audience addresses the leak guard found in it (SPEC.md "audit trail").
// Written by the store in the same transaction as the state change it
// explains; read back by `scope` and `verify`.
//
// Redaction rules: a record holds addresses (the point of the trail is to
// say later who could have seen whose address) but never credentials or
// message bodies; transport details are cut to one line of kMaxDetail bytes.
//
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sealmail {

struct AuditRecord {
  std::string recipient;           // normalised address
  std::string message_id;
  std::string sha256;              // hex digest of the exact bytes handed over
  int64_t at = 0;                  // unix seconds
  std::string outcome;             // "sent", "deferred", "failed", "uncertain"
  std::string detail;              // server reply or error, redacted
  std::vector<std::string> found;  // audience addresses in the message (normally the recipient)
};

constexpr size_t kMaxDetail = 300;

// One line, no control characters, at most kMaxDetail bytes.
std::string RedactDetail(std::string_view detail);

// found[] <-> one text column ("\n"-separated; addresses cannot hold "\n").
std::string JoinFound(const std::vector<std::string>& found);
std::vector<std::string> SplitFound(std::string_view joined);

}  // namespace sealmail
