// Store: the durable per-recipient state of campaigns (DESIGN.md). The only
// code that runs SQL. One row per (campaign, recipient); a recipient moves
//   pending -> leased -> sent | deferred | failed | suppressed | blocked
// and leased rows found at start-up (the process died between handing a
// message over and recording the outcome) become uncertain. Nothing moves on
// fetch: a row is leased in a committed, fsynced transaction before its
// message is handed to a transport, and its outcome is recorded afterwards
// (outcomes of a whole batch in one transaction: group commit).
//
// The suppression list belongs to the state file, not to a campaign: every
// campaign that shares a state (send --state PATH) skips its addresses.
//
// Backends: SQLite (default; WAL). Thread-compatible: one Store per thread,
// or external locking.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "base/clock.h"
#include "base/status.h"
#include "model/recipient.h"

namespace sealmail {

struct StoredRecipient {
  int64_t id = 0;
  Recipient recipient;
  DeliveryState state = DeliveryState::kPending;  // state before the lease
  int attempts = 0;                // attempts before this lease
  int64_t first_attempt_at = 0;    // unix time of the first lease, 0 if never leased
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
  // A permanent refusal by the server: the address joins the suppression
  // list (reason = detail) in the same transaction.
  bool suppress = false;
  // The outcome is unknown (no reply after the final "."): the recipient
  // counts as a possible duplicate from now on.
  bool uncertain = false;
  // The message was handed to a transport (Scheduler::Settle sets it):
  // attempts + 1, and the first one sets first_attempt_at. A batch given
  // back unsent, or a recipient blocked or refused before sending, is not.
  bool attempted = false;
};

struct Suppression {
  std::string key;     // Address::Key of the address
  std::string email;   // as given
  std::string reason;  // "unsubscribed", the server's 5xx reply, ...
  std::string source;  // "campaign NAME", "suppress add", "suppress import FILE"
  int64_t at = 0;      // unix time it was added
};

struct StateCounts {
  uint64_t total = 0, pending = 0, leased = 0, sent = 0, deferred = 0, failed = 0,
           suppressed = 0, blocked = 0, uncertain = 0;
  // Recipients whose outcome was unknown at least once (a process died
  // while their message was out, or the server hung up after the final "."):
  // the bound on how many people may have the message twice.
  uint64_t possible_duplicates = 0;
  void Add(DeliveryState s, uint64_t n);
};

class Store {
 public:
  virtual ~Store() = default;

  // Selects the campaign the following calls act on. A state that lives in a
  // campaign's own directory (single_campaign) refuses a second campaign
  // name: renaming a campaign mid-way would mail everyone again. A campaign
  // not yet in the state is added when `create`, else NotFound (readers such
  // as status and verify never write).
  virtual Status BindCampaign(const std::string& name, bool single_campaign, bool create) = 0;

  // Adds recipients whose key is not yet known (existing rows are left as
  // they are). Returns how many were new. One transaction per call.
  virtual Result<uint64_t> AddRecipients(const std::vector<Recipient>& batch) = 0;

  // A large import in few transactions: between BeginImport and EndImport,
  // AddRecipients leaves its rows in an open transaction instead of one
  // commit a call. A commit writes every page it changed, and an audience in
  // random key order (a real one) changes most pages of the key index with
  // every batch: committing each 1,000 rows took 1,000,000 recipients 31 s
  // of preflight (issue #9). Into an empty state the import is one
  // transaction without the key index, which EndImport builds in one sorted
  // pass (8.6 s); a key twice then fails the whole import. Into a state with
  // rows it commits every kImportCommitRows rows and at EndImport. A crash in
  // between loses only uncommitted rows, before anything was sent; the next
  // run adds them again. Only AddRecipients and the readers may be called in
  // between.
  static constexpr uint64_t kImportCommitRows = 50000;
  virtual Status BeginImport() = 0;
  virtual Status EndImport() = 0;

  // Turns leased rows left by a dead process into uncertain. Returns how many.
  virtual Result<uint64_t> RecoverLeases() = 0;

  // Leases up to n recipients that are due (uncertain unless
  // include_uncertain is false, then deferred with retry_at <= now, then
  // pending in id order), in one committed and fsynced transaction. Due
  // recipients on the suppression list become suppressed instead. A leased
  // recipient is not leased again until its transition is recorded (or
  // RecoverLeases runs); Counts reports it as leased.
  virtual Result<std::vector<StoredRecipient>> Lease(size_t n, bool include_uncertain) = 0;

  // Unix time of the earliest retry of a deferred recipient; 0 when none.
  virtual Result<int64_t> NextRetryAt() = 0;

  // Records outcomes in one transaction, releasing their leases.
  virtual Status Record(const std::vector<Transition>& transitions) = 0;

  // Lease(n, include_uncertain) and then Record(transitions), as one
  // transaction (committed and fsynced, as a lease is): the send loop's
  // step, one commit instead of two (the pages both touch are written once).
  // The default runs the two one after the other.
  virtual Result<std::vector<StoredRecipient>> LeaseAndRecord(
      size_t n, bool include_uncertain, const std::vector<Transition>& transitions) {
    SM_ASSIGN_OR_RETURN(auto leased, Lease(n, include_uncertain));
    SM_RETURN_IF_ERROR(Record(transitions));
    return leased;
  }

  virtual Result<StateCounts> Counts() = 0;
  // How many recipients are not finished: pending, deferred (whatever their
  // retry time) and uncertain, leased or not. What Counts() would add up
  // for them, from the due index alone instead of a pass over every row
  // (the send loop's progress total). 1,000,000 pending rows with 30-byte
  // fields in the sqlite3 shell: 32 ms, against 100 ms for a pass over the
  // rows like Counts' (which takes ~0.16 s over real rows).
  virtual Result<uint64_t> CountDue() = 0;
  virtual Result<std::map<std::string, StateCounts>> CountsByDomain() = 0;

  // Streams the bound campaign's audit trail in order. fn returning false stops.
  virtual Status ReadAudit(const std::function<bool(const AuditRecord&)>& fn) = 0;

  // Looks up a recipient of the bound campaign by key.
  virtual Result<std::optional<StoredRecipient>> Find(const std::string& key) = 0;

  // The suppression list (no campaign needed). Add keeps an existing entry
  // as it is and returns how many were new; Remove returns how many existed.
  virtual Result<uint64_t> AddSuppressions(const std::vector<Suppression>& batch) = 0;
  virtual Result<uint64_t> RemoveSuppressions(const std::vector<std::string>& keys) = 0;
  // In key order. fn returning false stops.
  virtual Status ListSuppressions(const std::function<bool(const Suppression&)>& fn) = 0;
};

// Opens (creating if absent) a SQLite state file. Refuses files that are not
// SQLite, belong to another application, or have a newer schema.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const Clock* clock);

}  // namespace sealmail
