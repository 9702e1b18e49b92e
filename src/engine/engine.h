// Engine: the composition root (DESIGN.md). Wires config, audience, template,
// mime, guard, store and transport into the operations the CLI offers, and
// owns the loop, signals and progress. Returns reports; printing is the
// CLI's job.
//
// One operation at a time per Engine; not thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "audience/audience_reader.h"
#include "base/clock.h"
#include "base/status.h"
#include "config/campaign.h"
#include "delivery/delivery.h"
#include "dkim/dkim.h"
#include "guard/guard.h"
#include "scope/exposure.h"
#include "scope/scope_reader.h"
#include "store/store.h"

namespace sealmail {

// Exit codes of SPEC.md.
enum class ExitCode : int {
  kDone = 0,
  kUsage = 1,
  kBlocked = 2,
  kPermanentFailures = 3,
  kWorkLeft = 4,
};

struct Progress {
  uint64_t done = 0;     // recipients handled in this run
  uint64_t total = 0;    // recipients to handle in this run (0 while unknown)
  uint64_t sent = 0, deferred = 0, failed = 0;
  double elapsed_seconds = 0;
  std::string phase;     // "preflight", "sending"
};
using ProgressFn = std::function<void(const Progress&)>;

struct CheckReport {
  std::vector<std::string> columns;
  AudienceSummary audience;
  std::vector<AudienceError> audience_errors;  // first AudienceReader::kMaxKeptErrors
  uint64_t rendered = 0;                       // messages built and guarded
  uint64_t render_refused = 0;                 // recipients whose values cannot make a message
  std::vector<std::string> render_errors;      // first 1000, "audience.csv:17: ..."
  std::vector<GuardViolation> violations;      // every violation found
  uint64_t bytes_total = 0;                    // size of all messages
  std::string transport;
  DkimCampaignCheck dkim;                      // the [dkim] section, its key and alignment
  bool ok() const { return violations.empty() && dkim.problem.empty(); }
};

struct SendOptions {
  std::string state_path;           // empty: DIR/.sealmail/state.db
  bool resend_uncertain = true;
  size_t batch = 256;                       // recipients per lease at first (Scheduler::Observe)
  size_t max_batch = 1024;                  // ... and at most, while batches are quick and small
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler: finish the batch, stop
  // Keep running while the next deferred recipient falls due within this
  // many seconds; otherwise report when it is due and stop (exit 4).
  int64_t wait_seconds = 0;
  // How the run waits (tests pass one that advances a FakeClock).
  std::function<void(int64_t nanos)> sleep = [](int64_t nanos) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(nanos));
  };
};

struct SendReport {
  CheckReport preflight;
  uint64_t added = 0;         // recipients new to the state in this run
  uint64_t recovered = 0;     // leases of a dead process turned uncertain
  uint64_t attempted = 0;     // messages handed to the transport in this run
  uint64_t sent_now = 0, deferred_now = 0, failed_now = 0;
  bool halted = false;        // the guard stopped the campaign
  bool interrupted = false;
  std::string stop_reason;    // why the run stopped early (disk full, ...)
  StateCounts counts;         // after the run
  int64_t next_retry_at = 0;  // unix time the next deferred recipient is due; 0 if none
  // Where the sending phase's time went: composing per stage (summed over
  // the compose threads), the store's commits, and waiting for the
  // transport (wall time of the send thread per batch).
  ComposeStats compose;
  size_t compose_threads = 0;
  double store_seconds = 0, transport_seconds = 0, sending_seconds = 0;
  size_t batches = 0, largest_batch = 0;  // leases taken, and the most recipients in one
  // Passes over the audience file: 1 when preflight took the rows the
  // audience set's pass kept (AudiencePass), 2 when it read the file again.
  int audience_reads = 0;
  // Before sending: the audience set, preflight (every message composed and
  // guarded) and the import into the state, which overlap.
  double preflight_seconds = 0;
  ExitCode exit = ExitCode::kDone;
};

struct StatusReport {
  bool has_state = false;
  std::string state_path;
  StateCounts counts;
  std::map<std::string, StateCounts> by_domain;
};

// `sealmail verify`: is this message really one of ours?
struct VerifyOptions {
  std::string file;                    // the message (.eml, LF or CRLF, or one mbox message)
  const Campaign* campaign = nullptr;  // DIR given: its key, domain, Message-IDs and state
  std::string key_path;                // --key: PEM or TXT-record file, instead of DIR's key
  std::string state_path;              // --state; empty: the campaign's default
};

struct VerifyReport {
  bool genuine = false;
  std::string reason;                // why not (or what was established)
  std::vector<DkimVerdict> signatures;
  int decisive = -1;                 // index of the signature the verdict rests on, -1 if none
  std::string from_domain;           // of the From header field
  bool from_aligned = false;         // From domain aligned with the decisive d=
  std::string message_id;            // as in the message
  std::string recipient;             // the To address
  bool campaign_checked = false;     // a campaign was given
  bool message_id_ours = false;      // equals the campaign's Message-ID for the recipient
  std::string expected_message_id;
  std::string state;                 // "sent", "not sent (pending)", "not in the state", "no state"
};

struct ScopeReport {
  ExposureSummary summary;
  std::map<std::string, std::set<std::string>> viewers;   // exposed -> who saw it
  std::map<std::string, std::set<std::string>> messages;  // exposed -> which messages
  bool has_state = false;
};

// `scope` over an archive of sent mail (mbox, Maildir, .eml tree or file).
struct ScopeArchiveOptions {
  std::string path;
  std::string audience_csv;  // optional: count only these people
};

struct ScopeArchiveReport {
  ArchiveKind kind = ArchiveKind::kMbox;
  // The graph, the bad messages and the bytes read. Never null on success.
  std::unique_ptr<ScopeAnalyser> analyser;
  std::shared_ptr<const AudienceSet> audience;  // null without --audience
  uint64_t audience_rows_refused = 0;
};

// `sealmail suppress`: the suppression list of a state file.
struct SuppressReport {
  std::string state_path;
  uint64_t added = 0;       // new entries
  uint64_t existing = 0;    // already listed (kept as they were)
  uint64_t removed = 0;
  std::vector<std::string> not_listed;  // remove: addresses that were not on the list
  uint64_t rows = 0;        // import: data rows read
  uint64_t refused = 0;     // import: rows refused (not added)
  uint64_t duplicates = 0;  // import: rows repeating an earlier row
  std::vector<std::string> errors;  // import: the first refused rows, "file:line: field: reason"
};

// Every address of an audience CSV as the leak guard and scope see them,
// including the address-like tokens of refused rows (counted in
// *refused_rows when given).
Result<std::shared_ptr<const AudienceSet>> LoadAudienceSetFromCsv(const std::string& csv,
                                                                  uint64_t* refused_rows);

struct AudiencePass;  // engine.cc: what the first pass over an audience read

class Engine {
 public:
  explicit Engine(const Clock& clock) : clock_(clock) {}

  // Preflight: every address, every template for every recipient, every
  // finished message through the leak guard. Sends nothing, writes nothing.
  Result<CheckReport> Check(const Campaign& c, const ProgressFn& progress);

  // The exact bytes EMAIL would receive (after the guard). EMAIL must be an
  // audience member.
  Result<std::string> Preview(const Campaign& c, const std::string& email);

  Result<SendReport> Send(const Campaign& c, const SendOptions& opts, const ProgressFn& progress);

  Result<StatusReport> ReadStatus(const Campaign& c, const std::string& state_path);

  // Checks a message's DKIM signature against the campaign's key (or --key),
  // alignment of From with d=, and (with a campaign) that its Message-ID is
  // the campaign's for its recipient and what the state says about them.
  // Errors only for usage problems (unreadable file or key).
  Result<VerifyReport> Verify(const VerifyOptions& opts);

  // "Who saw whose address" over the campaign's own audit trail.
  Result<ScopeReport> ScopeOwn(const Campaign& c, const std::string& state_path);

  // "Who saw whose address" over an archive (engine_scope.cc). Bad messages
  // are counted in the report; errors only when PATH or the audience cannot
  // be read at all.
  Result<ScopeArchiveReport> ScopeArchive(const ScopeArchiveOptions& opts);

  static std::string DefaultStatePath(const Campaign& c);

  // The suppression list of a state (engine_suppress.cc). state_path is a
  // SQLite state; it is created when absent. Addresses are validated before
  // anything is written (add and remove are all-or-nothing); import adds
  // every good row and reports the refused ones with their line.
  Result<SuppressReport> SuppressAdd(const std::string& state_path,
                                     const std::vector<std::string>& addresses,
                                     const std::string& reason);
  Result<SuppressReport> SuppressImport(const std::string& state_path, const std::string& csv,
                                        const std::string& reason);
  Result<SuppressReport> SuppressRemove(const std::string& state_path,
                                        const std::vector<std::string>& addresses);
  Status SuppressList(const std::string& state_path,
                      const std::function<bool(const Suppression&)>& fn);

 private:
  // Streams the audience through compose+guard; hands each good recipient
  // to on_ok and each one whose message the guard blocked to on_blocked
  // (theirs to keep: moved, not copied).
  // sign: DKIM-sign each message before the guard (check does; send's
  // preflight does not, since send signs and guards each message again).
  // remember (may be null): the guard's proofs of passing messages, for the
  // send phase to reuse (GuardProofs).
  // audience: the first pass over the audience (AudiencePass, engine.cc);
  // when it kept the rows, preflight takes them from there instead of
  // reading the file again.
  Status Preflight(const Campaign& c, const Guard& guard, AudiencePass* audience,
                   GuardProofs* remember, bool sign, CheckReport* report,
                   const ProgressFn& progress, const std::function<Status(Recipient&&)>& on_ok,
                   const std::function<Status(Recipient&&)>& on_blocked);
  const Clock& clock_;
};

}  // namespace sealmail
