// Store: the durable per-recipient state of campaigns (DESIGN.md). The only
// code that runs SQL. One row per (campaign, recipient); a recipient moves
//   pending -> leased -> sent | deferred | failed | blocked
// and leased rows found at start-up (the process died between handing a
// message over and recording the outcome) become uncertain. Nothing moves on
// fetch: a row is leased in a committed transaction before its message is
// handed to a transport, and its outcome is recorded afterwards.
//
// Backends: SQLite (default; WAL). Thread-compatible: one Store per thread,
// or external locking.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include <functional>

#include "audit/audit.h"
#include "base/status.h"
#include "model/recipient.h"

namespace sealmail {

struct StoredRecipient {
  int64_t id = 0;
  Recipient recipient;
  DeliveryState state = DeliveryState::kPending;  // state before the lease
  int attempts = 0;
};

struct Transition {
  int64_t id = 0;
  DeliveryState state = DeliveryState::kSent;
  std::string message_id;
  std::string detail;  // server reply, error, or refusal reason
  int64_t retry_at = 0;  // for kDeferred
  // Set when a message was handed to a transport: written to the audit trail
  // in the same transaction as the state change.
  bool has_audit = false;
  AuditRecord audit = {};
};

struct StateCounts {
  uint64_t total = 0, pending = 0, leased = 0, sent = 0, deferred = 0, failed = 0,
           suppressed = 0, blocked = 0, uncertain = 0;
  void Add(DeliveryState s, uint64_t n);
};

class Store {
 public:
  virtual ~Store() = default;

  // Selects the campaign the following calls act on. A state that lives in a
  // campaign's own directory (single_campaign) refuses a second campaign
  // name: renaming a campaign mid-way would mail everyone again.
  virtual Status BindCampaign(const std::string& name, bool single_campaign) = 0;

  // Adds recipients whose key is not yet known (existing rows are left as
  // they are). Returns how many were new. One transaction per call.
  virtual Result<uint64_t> AddRecipients(const std::vector<Recipient>& batch) = 0;

  // Turns leased rows left by a dead process into uncertain. Returns how many.
  virtual Result<uint64_t> RecoverLeases() = 0;

  // Leases up to n recipients that are due (pending, deferred with
  // retry_at <= now, and uncertain unless include_uncertain is false), in id
  // order, in one committed transaction.
  virtual Result<std::vector<StoredRecipient>> Lease(size_t n, bool include_uncertain) = 0;

  // Records outcomes in one transaction.
  virtual Status Record(const std::vector<Transition>& transitions) = 0;

  virtual Result<StateCounts> Counts() = 0;
  virtual Result<std::map<std::string, StateCounts>> CountsByDomain() = 0;

  // Streams the bound campaign's audit trail in order. fn returning false stops.
  virtual Status ReadAudit(const std::function<bool(const AuditRecord&)>& fn) = 0;

  // Looks up a recipient of the bound campaign by key.
  virtual Result<std::optional<StoredRecipient>> Find(const std::string& key) = 0;
};

// Opens (creating if absent) a SQLite state file. Refuses files that are not
// SQLite, belong to another application, or have a newer schema.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const Clock* clock);

}  // namespace sealmail
