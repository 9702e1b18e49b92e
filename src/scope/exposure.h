// ExposureGraph: who could see whose address (SPEC.md `scope`). Address A is
// exposed when it is visible in a message received by someone other than A.
// Fed one message at a time by a reader (a campaign's audit trail, or the
// mbox, Maildir and .eml readers of scope_reader.h).
//
// Memory: each distinct address is stored once (interned to a 32-bit id);
// a message that exposes nothing costs nothing beyond its receivers' ids; an
// exposing message stores its receiver list once (identical lists are
// shared, as when one batch is sent twice) and one reference per exposed
// address. Viewer counts are computed when asked, from those lists, so a
// batch of 1,000 visible recipients costs ~8 KB, not a million edges.
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sealmail {

struct ExposureSummary {
  uint64_t messages = 0;
  uint64_t recipients = 0;           // distinct receivers
  uint64_t no_receivers = 0;         // messages with no receiver found in them
  uint64_t bad_messages = 0;         // counted by the reader (CountBadMessage)
  uint64_t exposing_messages = 0;    // messages that showed someone else's address
  uint64_t largest_exposure = 0;     // most foreign addresses in one message
  std::string largest_message_id;
  int64_t first_at = 0, last_at = 0;
};

// One exposed address, as ForEachExposed reports it.
struct ExposedAddress {
  std::string_view address;
  uint64_t seen_by = 0;                       // distinct receivers other than the address
  std::vector<std::string_view> message_ids;  // messages that showed it, in reading order
  std::vector<std::string_view> viewers;      // filled only when asked, sorted
};

class ExposureGraph {
 public:
  // receivers: who received the message; visible: addresses visible in it.
  // Both lower-cased, canonical spellings; duplicates are ignored. at: Unix
  // time of the message, 0 when unknown.
  void AddMessage(const std::string& message_id, int64_t at,
                  const std::vector<std::string>& receivers,
                  const std::vector<std::string>& visible);
  void CountBadMessage() { ++summary_.bad_messages; }

  const ExposureSummary& summary() const { return summary_; }
  uint64_t exposed_count() const { return exposed_order_.size(); }

  // Calls fn for every exposed address in sorted order.
  void ForEachExposed(bool with_viewers,
                      const std::function<void(const ExposedAddress&)>& fn) const;

  // Exposed address -> who saw it / which messages showed it. Materialised
  // maps: convenient for small graphs and tests; use ForEachExposed for
  // archives.
  std::map<std::string, std::set<std::string>> viewers() const;
  std::map<std::string, std::set<std::string>> messages() const;

 private:
  uint32_t Intern(const std::string& address);
  uint32_t GroupOf(std::vector<uint32_t>* sorted_receivers);

  struct Node {
    bool receiver = false;
    std::vector<uint32_t> groups;    // receiver lists it was shown to
    std::vector<uint32_t> messages;  // indexes into message_ids_
  };

  ExposureSummary summary_;
  // Interning: an open-addressing table of ids (load <= 1/2) over names_,
  // one probe and one string compare per lookup, no node per address.
  struct IdSlot {
    uint32_t tag = 0;  // high hash bits
    uint32_t id1 = 0;  // id + 1; 0 = empty
  };
  std::vector<IdSlot> id_slots_ = std::vector<IdSlot>(1024);
  std::deque<std::string> names_;  // id -> address
  std::vector<Node> nodes_;
  std::vector<std::vector<uint32_t>> groups_;           // sorted receiver ids
  std::unordered_multimap<uint64_t, uint32_t> group_index_;  // hash of list -> group
  std::vector<std::string> message_ids_;                // exposing messages only
  std::vector<uint32_t> exposed_order_;                 // ids of exposed addresses
};

}  // namespace sealmail
