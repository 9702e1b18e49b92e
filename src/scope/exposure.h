// ExposureGraph: who could see whose address (SPEC.md `scope`). Address A is
// exposed when it is visible in a message received by someone other than A.
// Fed one message at a time by a reader (today: a campaign's audit trail;
// mbox, Maildir and .eml readers are issue #8); memory grows with the number
// of distinct exposures, not with the number of messages.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace sealmail {

struct ExposureSummary {
  uint64_t messages = 0;
  uint64_t recipients = 0;           // distinct receivers
  uint64_t exposing_messages = 0;    // messages that showed someone else's address
  uint64_t largest_exposure = 0;     // most foreign addresses in one message
  std::string largest_message_id;
  int64_t first_at = 0, last_at = 0;
};

class ExposureGraph {
 public:
  // receivers: who received the message; visible: addresses visible in it.
  // Both lower-cased, canonical spellings.
  void AddMessage(const std::string& message_id, int64_t at,
                  const std::vector<std::string>& receivers,
                  const std::vector<std::string>& visible);

  const ExposureSummary& summary() const { return summary_; }
  // Exposed address -> who saw it.
  const std::map<std::string, std::set<std::string>>& viewers() const { return viewers_; }
  // Exposed address -> messages that showed it.
  const std::map<std::string, std::set<std::string>>& messages() const { return messages_; }

 private:
  ExposureSummary summary_;
  std::set<std::string> receivers_;
  std::map<std::string, std::set<std::string>> viewers_;
  std::map<std::string, std::set<std::string>> messages_;
};

}  // namespace sealmail
