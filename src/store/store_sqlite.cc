#include <sqlite3.h>

#include <algorithm>
#include <optional>

#include "base/check.h"
#include "store/store.h"
#include "store/store_sql.h"

namespace sealmail {
namespace {

using store_sql::kDueRows;

// "SEAL" in ASCII: marks a SQLite file as a sealmail state.
constexpr int kApplicationId = 0x5345414C;
constexpr int kSchemaVersion = 9;
// The page cache, in KiB (Init). It also sets the size of the sorter's
// runs (EndImport's index build, status's GROUP BY), never below 250 pages
// (4 MiB at 16 KiB pages); larger sorts spill to temporary files.
constexpr const char* kCacheSize = "PRAGMA cache_size=-4096";

// Numbered migrations: index i takes the schema from version i to i+1.
// Never edit a released step; append a new one.
const char* const kMigrations[] = {
    // 0 -> 1
    "CREATE TABLE campaigns("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE recipients("
    "  id INTEGER PRIMARY KEY,"
    "  campaign INTEGER NOT NULL REFERENCES campaigns(id),"
    "  key TEXT NOT NULL,"
    "  email TEXT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  line INTEGER NOT NULL,"
    "  fields BLOB NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  retry_at INTEGER NOT NULL DEFAULT 0,"
    "  updated_at INTEGER NOT NULL DEFAULT 0,"
    "  message_id TEXT,"
    "  detail TEXT,"
    "  UNIQUE(campaign, key));"
    "CREATE INDEX recipients_due ON recipients(campaign, state, retry_at, id);",
    // 1 -> 2: the audit trail (issue #5)
    "CREATE TABLE audit("
    "  id INTEGER PRIMARY KEY,"
    "  campaign INTEGER NOT NULL REFERENCES campaigns(id),"
    "  recipient INTEGER NOT NULL REFERENCES recipients(id),"
    "  email TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  found TEXT NOT NULL);"
    "CREATE INDEX audit_message ON audit(message_id);",
    // 2 -> 3: suppression list shared by every campaign of this state, the
    // time of a recipient's first attempt (max_age) and how often its
    // outcome was unknown (possible duplicates; issue #7)
    "CREATE TABLE suppressions("
    "  key TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  at INTEGER NOT NULL) WITHOUT ROWID;"
    "ALTER TABLE recipients ADD COLUMN first_attempt_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE recipients ADD COLUMN uncertain_times INTEGER NOT NULL DEFAULT 0;",
    // 3 -> 4: no index on the audit trail's Message-IDs (nothing looks them
    // up; inserted in hash order, it rewrote ~one page per message per
    // commit and made recording slower as a campaign grew); an index on the
    // recipient instead, filled in order.
    ("DROP INDEX audit_message;"
     "CREATE INDEX audit_recipient ON audit(recipient);"),
    // 4 -> 5: a lease is a row here instead of a state change of the
    // recipient (state 1 is no longer written; a lease held by an older
    // release is still recovered): leasing no longer rewrites each
    // recipient's row and moves its entry in recipients_due twice per
    // message (issue #9). The recipient's row changes once, with the outcome,
    // in the transaction that deletes its lease.
    "CREATE TABLE leases("
    "  id INTEGER PRIMARY KEY,"  // recipients.id
    "  campaign INTEGER NOT NULL,"
    "  at INTEGER NOT NULL);",
    // 5 -> 6: no index on the audit trail's recipient: no query reads the
    // trail by recipient (ReadAudit walks a campaign's rows in order, and no
    // recipient row is ever deleted, so the foreign key never looks its
    // children up), and keeping it cost ~5 % of the send loop's store time
    // (store_bench) (issue #9).
    "DROP INDEX IF EXISTS audit_recipient;",
    // 6 -> 7: one lease row per leased batch (its recipients' ids in a blob)
    // instead of one per recipient: a row inserted and deleted per message
    // was about a sixth of the send loop's store time (issue #9). Leases
    // held by an older release become state-1 leases (as before schema 5),
    // their attempt counted as it was when they were recovered.
    "UPDATE recipients SET state=1, attempts=attempts+1, first_attempt_at=CASE WHEN "
    "first_attempt_at=0 THEN (SELECT at FROM leases l WHERE l.id=recipients.id) ELSE "
    "first_attempt_at END WHERE id IN (SELECT id FROM leases);"
    "DROP TABLE leases;"
    "CREATE TABLE lease_batches("
    "  id INTEGER PRIMARY KEY,"
    "  campaign INTEGER NOT NULL,"
    "  at INTEGER NOT NULL,"
    "  ids BLOB NOT NULL);",  // recipients.id, 8 bytes little-endian each
    // 7 -> 8: the key's uniqueness as an index of its own, recipients_key,
    // instead of the table's UNIQUE constraint (whose index cannot be
    // dropped), so that the first import into an empty state builds it
    // once at the end instead of inserting a real audience's keys into it in
    // random order (issue #9). The table is rebuilt (SQLite's procedure for
    // a changed constraint; run with foreign_keys off), ids kept.
    "CREATE TABLE recipients_v8("
    "  id INTEGER PRIMARY KEY,"
    "  campaign INTEGER NOT NULL REFERENCES campaigns(id),"
    "  key TEXT NOT NULL,"
    "  email TEXT NOT NULL,"
    "  domain TEXT NOT NULL,"
    "  line INTEGER NOT NULL,"
    "  fields BLOB NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  retry_at INTEGER NOT NULL DEFAULT 0,"
    "  updated_at INTEGER NOT NULL DEFAULT 0,"
    "  message_id TEXT,"
    "  detail TEXT,"
    "  first_attempt_at INTEGER NOT NULL DEFAULT 0,"
    "  uncertain_times INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO recipients_v8 SELECT id, campaign, key, email, domain, line, fields, state, "
    "attempts, retry_at, updated_at, message_id, detail, first_attempt_at, uncertain_times "
    "FROM recipients;"
    "DROP TABLE recipients;"
    "ALTER TABLE recipients_v8 RENAME TO recipients;"
    "CREATE INDEX recipients_due ON recipients(campaign, state, retry_at, id);"
    "CREATE UNIQUE INDEX recipients_key ON recipients(campaign, key);",
    // 8 -> 9: recipients_due holds only the rows a lease can take (pending,
    // state-1 leases of old releases, deferred, uncertain): a recipient's
    // outcome takes its entry out instead of moving it to the finished
    // states, where nothing looked for it. The WHERE is store_sql::kDueRows
    // (which every query that walks this index repeats). Outcome commits
    // ~15 % faster (store_bench, 50,000 and 1,000,000) (issue #9).
    "DROP INDEX recipients_due;"
    "CREATE INDEX recipients_due ON recipients(campaign, state, retry_at, id) "
    "WHERE (state=0 OR state=1 OR state=3 OR state=7);",
};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

// Merge fields are stored as a compact blob: for each field, 4-byte
// little-endian lengths of name and value followed by their bytes.
std::string EncodeFields(const Recipient& r) {
  std::string out;
  auto put = [&out](const std::string& s) {
    uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    out += s;
  };
  for (const auto& [k, v] : r.fields) {
    put(k);
    put(v);
  }
  return out;
}

std::string EncodeIds(const std::vector<int64_t>& ids) {
  std::string out;
  out.reserve(8 * ids.size());
  for (int64_t id : ids) {
    if (id == 0) continue;  // released
    const auto v = static_cast<uint64_t>(id);
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  return out;
}

bool DecodeIds(const void* data, int size, std::vector<int64_t>* ids) {
  if (size < 0 || size % 8 != 0) return false;
  const auto* p = static_cast<const unsigned char*>(data);
  ids->clear();
  for (int i = 0; i < size; i += 8) {
    uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = (v << 8) | p[i + k];
    if (v == 0 || v > static_cast<uint64_t>(INT64_MAX)) return false;
    ids->push_back(static_cast<int64_t>(v));
  }
  return true;
}

bool DecodeFields(const void* data, int size, Recipient* r) {
  const auto* p = static_cast<const unsigned char*>(data);
  size_t n = static_cast<size_t>(size), i = 0;
  auto get = [&](std::string* s) {
    if (n - i < 4) return false;
    uint32_t len = p[i] | (p[i + 1] << 8) | (p[i + 2] << 16) | (uint32_t{p[i + 3]} << 24);
    i += 4;
    if (n - i < len) return false;
    s->assign(reinterpret_cast<const char*>(p + i), len);
    i += len;
    return true;
  };
  r->fields.clear();
  while (i < n) {
    std::string k, v;
    if (!get(&k) || !get(&v)) return false;
    r->fields.emplace_back(std::move(k), std::move(v));
  }
  return true;
}

class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt** out() { return &s_; }
  sqlite3_stmt* get() const { return s_; }

 private:
  sqlite3_stmt* s_ = nullptr;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(sqlite3* db, std::string path, const Clock* clock)
      : db_(db), path_(std::move(path)), clock_(clock) {}
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  Status Init();
  Status BindCampaign(const std::string& name, bool single_campaign, bool create) override;
  Result<uint64_t> AddRecipients(const std::vector<Recipient>& batch) override;
  Status BeginImport() override;
  Status EndImport() override;
  Result<uint64_t> RecoverLeases() override;
  Result<std::vector<StoredRecipient>> Lease(size_t n, bool include_uncertain) override;
  Result<int64_t> NextRetryAt() override;
  Status Record(const std::vector<Transition>& transitions) override;
  Result<std::vector<StoredRecipient>> LeaseAndRecord(
      size_t n, bool include_uncertain, const std::vector<Transition>& transitions) override;
  Result<StateCounts> Counts() override;
  Result<uint64_t> CountDue() override;
  Result<std::map<std::string, StateCounts>> CountsByDomain() override;
  Result<std::optional<StoredRecipient>> Find(const std::string& key) override;
  Status ReadAudit(const std::function<bool(const AuditRecord&)>& fn) override;
  Result<uint64_t> AddSuppressions(const std::vector<Suppression>& batch) override;
  Result<uint64_t> RemoveSuppressions(const std::vector<std::string>& keys) override;
  Status ListSuppressions(const std::function<bool(const Suppression&)>& fn) override;

 private:
  Status Err(std::string_view what) const {
    int code = sqlite3_extended_errcode(db_);
    std::string msg = path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_);
    int primary = code & 0xff;
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR) {
      return Status::Io(msg + " (free some disk space, then run the command again)");
    }
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return Status::Corrupt(msg);
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return Status::Transient(msg + " (is another sealmail running on this state?)");
    }
    return Status::Io(msg);
  }
  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      // Name the statement, not the message twice: "COMMIT: database or disk is full".
      std::string_view what(sql);
      what = what.substr(0, std::min(what.find_first_of("(;"), size_t{40}));
      Status s = Err(what);
      sqlite3_free(err);
      return s;
    }
    return Status::Ok();
  }
  Status Prepare(const char* sql, Stmt* st) {
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, st->out(), nullptr) !=
        SQLITE_OK) {
      return Err("prepare");
    }
    return Status::Ok();
  }
  Result<int64_t> QueryInt(const char* sql) {
    Stmt st;
    SM_RETURN_IF_ERROR(Prepare(sql, &st));
    int rc = sqlite3_step(st.get());
    if (rc != SQLITE_ROW) return Err("query");
    return sqlite3_column_int64(st.get(), 0);
  }
  Status RequireCampaign() const {
    if (campaign_ == 0) return Status::Internal("store used before BindCampaign");
    return Status::Ok();
  }
  // For the writers other than AddRecipients, which must not run inside an
  // import's open transaction.
  Status RequireNoImport() const {
    if (importing_) return Status::Internal("store written to between BeginImport and EndImport");
    return Status::Ok();
  }
  StoredRecipient RowToRecipient(sqlite3_stmt* s, bool* ok);
  // Record's statements inside an open transaction (the caller commits or
  // rolls back).
  Status RecordInTransaction(const std::vector<Transition>& ts);
  // Audit rows of recorded transitions, in their order.
  Status InsertAudit(const std::vector<const Transition*>& ts);
  // Runs a statement that returns no rows; the caller has bound it.
  Status StepDone(sqlite3_stmt* s, std::string_view what) {
    int rc = sqlite3_step(s);
    Status st = rc == SQLITE_DONE ? Status::Ok() : Err(what);
    sqlite3_reset(s);
    return st;
  }
  Status Rollback(Status s) {
    Exec("ROLLBACK");
    return s;
  }
  struct LeaseBatch {
    int64_t row = 0;  // lease_batches.id
    int64_t at = 0;
    std::vector<int64_t> ids;  // 0 once released
    size_t released = 0;       // since LoadLeases; WriteReleases runs once a transaction
  };
  struct HeldRow {
    int64_t id;
    uint32_t batch, pos;  // batches_[batch].ids[pos]
    bool operator<(const HeldRow& o) const { return id < o.id; }
  };
  // The bound campaign's leases, read afresh inside each transaction that
  // needs them (another process may have changed them in between).
  Status LoadLeases();
  // Indexes the rows of batches_[b] in held_ (appended, not sorted).
  void HoldBatch(uint32_t b);
  // held_'s entry for the recipient row `id`, or null.
  const HeldRow* FindHeld(int64_t id) const;
  // Whether the recipient row `id` holds a lease not yet released.
  bool Held(int64_t id) const;
  // sm_held(id) in SQL: Held(id) of the store passed as user data.
  static void SqlHeld(sqlite3_context* ctx, int argc, sqlite3_value** argv);
  // The recipient row `id` is released (its outcome is being recorded).
  void Release(int64_t id);
  // Writes the lease of a batch just leased and holds its rows.
  Status AddLease(int64_t at, const std::vector<StoredRecipient>& rows);
  // Rewrites (or deletes, when all are released) the lease rows whose
  // recipients Record released.
  Status WriteReleases();

  sqlite3* db_;
  std::string path_;
  const Clock* clock_;
  int64_t campaign_ = 0;
  std::string campaign_name_;
  bool importing_ = false;    // between BeginImport and EndImport
  bool import_open_ = false;  // an import transaction is open
  bool import_bulk_ = false;  // into an empty state: recipients_key is built at EndImport
  uint64_t import_rows_ = 0;  // added in the open import transaction
  // Lease: uncertain, due deferred, pending (each walks the due index).
  Stmt lease_uncertain_, lease_deferred_, lease_pending_;
  static constexpr size_t kInsertRows = 16;
  Stmt insert_many_;  // kInsertRows rows of insert_
  // The same without ON CONFLICT, for a bulk import (recipients_key dropped).
  Stmt insert_bulk_, insert_bulk_many_;
  Stmt insert_, suppress_row_, record_, find_, audit_insert_, suppress_failed_;
  Stmt audit_many_;  // kInsertRows rows of audit_insert_
  Stmt lease_load_, lease_insert_, lease_update_, lease_delete_;
  std::vector<LeaseBatch> batches_;
  std::vector<HeldRow> held_;  // sorted by id
};

Status SqliteStore::LoadLeases() {
  batches_.clear();
  held_.clear();
  sqlite3_stmt* s = lease_load_.get();
  sqlite3_bind_int64(s, 1, campaign_);
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    LeaseBatch b;
    b.row = sqlite3_column_int64(s, 0);
    b.at = sqlite3_column_int64(s, 1);
    if (!DecodeIds(sqlite3_column_blob(s, 2), sqlite3_column_bytes(s, 2), &b.ids)) {
      sqlite3_reset(s);
      return Status::Corrupt(
          path_ + ": lease row " + std::to_string(b.row) +
          " (table lease_batches, field ids) does not decode; refusing to guess");
    }
    batches_.push_back(std::move(b));
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return Err("reading leases");
  for (uint32_t b = 0; b < batches_.size(); ++b) HoldBatch(b);
  std::sort(held_.begin(), held_.end());
  for (size_t i = 1; i < held_.size(); ++i) {
    if (held_[i].id == held_[i - 1].id) {
      return Status::Corrupt(path_ + ": recipient row " + std::to_string(held_[i].id) +
                             " is in two leases (table lease_batches); refusing to guess");
    }
  }
  return Status::Ok();
}

void SqliteStore::HoldBatch(uint32_t b) {
  const std::vector<int64_t>& ids = batches_[b].ids;
  for (uint32_t pos = 0; pos < ids.size(); ++pos) held_.push_back({ids[pos], b, pos});
}

const SqliteStore::HeldRow* SqliteStore::FindHeld(int64_t id) const {
  auto it = std::lower_bound(held_.begin(), held_.end(), HeldRow{id, 0, 0});
  return it != held_.end() && it->id == id ? &*it : nullptr;
}

void SqliteStore::Release(int64_t id) {
  const HeldRow* h = FindHeld(id);
  if (h == nullptr) return;
  LeaseBatch& b = batches_[h->batch];
  if (b.ids[h->pos] == 0) return;
  b.ids[h->pos] = 0;
  ++b.released;
}

bool SqliteStore::Held(int64_t id) const {
  const HeldRow* h = FindHeld(id);
  return h != nullptr && batches_[h->batch].ids[h->pos] != 0;
}

void SqliteStore::SqlHeld(sqlite3_context* ctx, int /*argc*/, sqlite3_value** argv) {
  const auto* self = static_cast<const SqliteStore*>(sqlite3_user_data(ctx));
  sqlite3_result_int(ctx, self->Held(sqlite3_value_int64(argv[0])) ? 1 : 0);
}

Status SqliteStore::AddLease(int64_t at, const std::vector<StoredRecipient>& rows) {
  if (rows.empty()) return Status::Ok();
  LeaseBatch b;
  b.at = at;
  b.ids.reserve(rows.size());
  for (const auto& r : rows) b.ids.push_back(r.id);
  const std::string blob = EncodeIds(b.ids);
  sqlite3_stmt* s = lease_insert_.get();
  sqlite3_bind_int64(s, 1, campaign_);
  sqlite3_bind_int64(s, 2, at);
  sqlite3_bind_blob(s, 3, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
  SM_RETURN_IF_ERROR(StepDone(s, "leasing"));
  b.row = sqlite3_last_insert_rowid(db_);
  const size_t old = held_.size();
  batches_.push_back(std::move(b));
  HoldBatch(static_cast<uint32_t>(batches_.size() - 1));
  std::sort(held_.begin() + static_cast<std::ptrdiff_t>(old), held_.end());
  std::inplace_merge(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(old), held_.end());
  return Status::Ok();
}

Status SqliteStore::WriteReleases() {
  for (LeaseBatch& b : batches_) {
    if (b.released == 0) continue;
    if (b.released == b.ids.size()) {
      sqlite3_bind_int64(lease_delete_.get(), 1, b.row);
      SM_RETURN_IF_ERROR(StepDone(lease_delete_.get(), "releasing leases"));
    } else {
      // Part of a batch recorded: the rest stays leased.
      const std::string blob = EncodeIds(b.ids);
      sqlite3_stmt* s = lease_update_.get();
      sqlite3_bind_blob(s, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
      sqlite3_bind_int64(s, 2, b.row);
      SM_RETURN_IF_ERROR(StepDone(s, "releasing leases"));
    }
  }
  return Status::Ok();
}

Status SqliteStore::Init() {
  sqlite3_busy_timeout(db_, 5000);
  // Reading the header validates the file: a foreign or corrupt file fails here.
  auto app = QueryInt("PRAGMA application_id");
  if (!app.ok()) {
    return Status::Corrupt(path_ + ": not a sealmail state file (" + app.status().message() + ")");
  }
  auto version = QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  auto tables = QueryInt("SELECT count(*) FROM sqlite_schema");
  if (!tables.ok()) return tables.status();
  if (*app == 0 && *tables > 0) {
    return Status::Corrupt(path_ + ": a SQLite database of another application, not a sealmail "
                                   "state; refusing to touch it");
  }
  if (*app != 0 && *app != kApplicationId) {
    return Status::Corrupt(path_ + ": SQLite application_id " + std::to_string(*app) +
                           " is not sealmail's; refusing to touch it");
  }
  if (*version > kSchemaVersion) {
    return Status::Corrupt(path_ + ": state schema version " + std::to_string(*version) +
                           " is newer than this sealmail understands (" +
                           std::to_string(kSchemaVersion) + "); upgrade sealmail");
  }
  // 16 KiB pages for a new state (an existing file keeps its own: SQLite
  // ignores this once the file has content): fewer B-tree levels and page
  // splits for a million rows; engine-alone send phase 7 % shorter, import
  // 7 % faster (issue #9).
  SM_RETURN_IF_ERROR(Exec("PRAGMA page_size=16384"));
  SM_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
  // NORMAL in WAL mode: a killed process loses nothing that was committed; a
  // power cut may undo the last commits, which only turns outcomes back into
  // leases (resent, counted as uncertain), never loses a recipient.
  SM_RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL"));
  // foreign_keys stays off during the migrations (migration 8 rebuilds a
  // table others refer to; the setting cannot change inside a transaction).
  // The send loop touches the recipients, their due index and the audit
  // trail's tail on every batch (a few batches' worth, ~3 MiB at the
  // default largest batch of 1,024; a larger --max-batch re-reads some from
  // the WAL); with SQLite's default 2 MiB page cache a large campaign
  // re-read them on every commit. 32 MiB, as before, kept every page the
  // run ever read or wrote: a 50,000-message state (27 MB) was all in
  // memory by the end, and memory a process touches the first time costs a
  // page fault per 4 KiB (in this VM 2-4 µs, 10-15 µs when the host has
  // taken the page back). 4 MiB: 50,000 unsigned messages 6,700 page faults
  // fewer for 1,200 more 16 KiB reads from the WAL; 1,000,000: peak RSS
  // 167 -> 127 MiB (issue #9).
  SM_RETURN_IF_ERROR(Exec(kCacheSize));
  if (*version < kSchemaVersion) {
    SM_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    for (int64_t v = *version; v < kSchemaVersion; ++v) {
      Status s = Exec(kMigrations[v]);
      if (!s.ok()) {
        Exec("ROLLBACK");
        return s.WithPrefix("migrating state to schema " + std::to_string(v + 1));
      }
    }
    std::string set = "PRAGMA application_id=" + std::to_string(kApplicationId) +
                      "; PRAGMA user_version=" + std::to_string(kSchemaVersion);
    Status s = Exec(set.c_str());
    if (!s.ok()) {
      Exec("ROLLBACK");
      return s;
    }
    SM_RETURN_IF_ERROR(Exec("COMMIT"));
  }
  SM_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON"));
  // Check that the expected tables are there: a truncated or hand-edited file
  // must not be "repaired" by recreating them.
  auto ok = QueryInt(
      "SELECT count(*) FROM sqlite_schema WHERE type='table' AND name IN "
      "('campaigns','recipients','audit','suppressions','lease_batches')");
  if (!ok.ok()) return ok.status();
  if (*ok != 5) return Status::Corrupt(path_ + ": sealmail state is missing its tables");
  auto keyed =
      QueryInt("SELECT count(*) FROM sqlite_schema WHERE type='index' AND name='recipients_key'");
  if (!keyed.ok()) return keyed.status();
  if (*keyed != 1) return Status::Corrupt(path_ + ": sealmail state is missing its key index");
  // DIRECTONLY: a view or trigger in a hostile file cannot call it.
  if (sqlite3_create_function_v2(db_, "sm_held", 1, SQLITE_UTF8 | SQLITE_DIRECTONLY, this,
                                 &SqliteStore::SqlHeld, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Err("registering sm_held");
  }
  {
    // One row, and kInsertRows rows in one statement (AddRecipients).
    const std::string head =
        "INSERT INTO recipients(campaign, key, email, domain, line, fields, updated_at) VALUES";
    const std::string tail = " ON CONFLICT(campaign, key) DO NOTHING";
    std::string rows = "(?,?,?,?,?,?,?)";
    SM_RETURN_IF_ERROR(Prepare((head + rows + tail).c_str(), &insert_));
    SM_RETURN_IF_ERROR(Prepare((head + rows).c_str(), &insert_bulk_));
    for (size_t i = 1; i < kInsertRows; ++i) rows += ",(?,?,?,?,?,?,?)";
    SM_RETURN_IF_ERROR(Prepare((head + rows + tail).c_str(), &insert_many_));
    SM_RETURN_IF_ERROR(Prepare((head + rows).c_str(), &insert_bulk_many_));
  }
  // Each walks recipients_due(campaign, state, retry_at, id) in order: no
  // scan of the rows already done, however large the campaign. Rows leased
  // and not yet recorded (a few batches, at the front) are skipped by their
  // lease: sm_held needs only the id, which the index holds, so a skipped row
  // costs no table lookup.
  constexpr const char* kCols =
      "SELECT r.id, r.key, r.email, r.line, r.fields, r.state, r.attempts, r.first_attempt_at, "
      "s.reason FROM recipients r LEFT JOIN suppressions s ON s.key=r.key ";
  const std::string not_leased = std::string("AND ") + kDueRows + " AND NOT sm_held(r.id) ";
  SM_RETURN_IF_ERROR(Prepare((std::string(kCols) + "WHERE r.campaign=?1 AND r.state=7 " +
                              not_leased + "ORDER BY r.retry_at, r.id LIMIT ?2").c_str(),
                             &lease_uncertain_));
  SM_RETURN_IF_ERROR(Prepare((std::string(kCols) +
                              "WHERE r.campaign=?1 AND r.state=3 AND r.retry_at<=?3 " +
                              not_leased + "ORDER BY r.retry_at, r.id LIMIT ?2").c_str(),
                             &lease_deferred_));
  SM_RETURN_IF_ERROR(Prepare((std::string(kCols) + "WHERE r.campaign=?1 AND r.state=0 " +
                              not_leased + "ORDER BY r.retry_at, r.id LIMIT ?2").c_str(),
                             &lease_pending_));
  SM_RETURN_IF_ERROR(
      Prepare("SELECT id, at, ids FROM lease_batches WHERE campaign=? ORDER BY id", &lease_load_));
  SM_RETURN_IF_ERROR(
      Prepare("INSERT INTO lease_batches(campaign, at, ids) VALUES(?, ?, ?)", &lease_insert_));
  SM_RETURN_IF_ERROR(Prepare("UPDATE lease_batches SET ids=? WHERE id=?", &lease_update_));
  SM_RETURN_IF_ERROR(Prepare("DELETE FROM lease_batches WHERE id=?", &lease_delete_));
  SM_RETURN_IF_ERROR(Prepare(
      "UPDATE recipients SET state=5, detail=?1, updated_at=?2 WHERE id=?3", &suppress_row_));
  SM_RETURN_IF_ERROR(Prepare(
      "UPDATE recipients SET state=?1, message_id=?2, detail=?3, retry_at=?4, updated_at=?5, "
      "uncertain_times=uncertain_times+?6, attempts=attempts+?8, "
      "first_attempt_at=CASE WHEN ?8=1 AND first_attempt_at=0 THEN ?5 ELSE first_attempt_at END "
      "WHERE id=?7",
      &record_));
  SM_RETURN_IF_ERROR(Prepare(
      "INSERT INTO suppressions(key, email, reason, source, at) "
      "SELECT key, email, ?1, ?2, ?3 FROM recipients WHERE id=?4 ON CONFLICT(key) DO NOTHING",
      &suppress_failed_));
  SM_RETURN_IF_ERROR(Prepare(
      "SELECT r.id, r.key, r.email, r.line, r.fields, r.state, r.attempts, r.first_attempt_at "
      "FROM recipients r WHERE r.campaign=? AND r.key=?",
      &find_));
  {
    const std::string head =
        "INSERT INTO audit(campaign, recipient, email, message_id, sha256, at, outcome, detail, "
        "found) VALUES";
    std::string rows = "(?,?,?,?,?,?,?,?,?)";
    SM_RETURN_IF_ERROR(Prepare((head + rows).c_str(), &audit_insert_));
    for (size_t i = 1; i < kInsertRows; ++i) rows += ",(?,?,?,?,?,?,?,?,?)";
    SM_RETURN_IF_ERROR(Prepare((head + rows).c_str(), &audit_many_));
  }
  return Status::Ok();
}

Status SqliteStore::BindCampaign(const std::string& name, bool single_campaign, bool create) {
  SM_RETURN_IF_ERROR(RequireNoImport());
  Stmt sel;
  SM_RETURN_IF_ERROR(Prepare("SELECT id, name FROM campaigns ORDER BY id", &sel));
  int rc;
  std::vector<std::string> others;
  while ((rc = sqlite3_step(sel.get())) == SQLITE_ROW) {
    std::string n = reinterpret_cast<const char*>(sqlite3_column_text(sel.get(), 1));
    if (n == name) {
      campaign_ = sqlite3_column_int64(sel.get(), 0);
      campaign_name_ = name;
      return Status::Ok();
    }
    others.push_back(n);
  }
  if (rc != SQLITE_DONE) return Err("reading campaigns");
  if (single_campaign && !others.empty()) {
    return Status::Invalid(path_ + ": this state belongs to campaign \"" + others[0] +
                           "\", but campaign.toml now says \"" + name +
                           "\". Renaming a campaign part-way would mail everyone again; start a "
                           "new campaign in a new directory, or restore the name");
  }
  if (!create) {
    return Status::NotFound(path_ + ": campaign \"" + name + "\" has no state here yet");
  }
  Stmt ins;
  SM_RETURN_IF_ERROR(Prepare("INSERT INTO campaigns(name, created_at) VALUES(?, ?)", &ins));
  sqlite3_bind_text(ins.get(), 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(ins.get(), 2, clock_->NowUnix());
  if (sqlite3_step(ins.get()) != SQLITE_DONE) return Err("adding campaign");
  campaign_ = sqlite3_last_insert_rowid(db_);
  campaign_name_ = name;
  return Status::Ok();
}

Status SqliteStore::BeginImport() {
  SM_RETURN_IF_ERROR(RequireCampaign());
  SM_RETURN_IF_ERROR(RequireNoImport());
  SM_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  // An empty state (a campaign's own directory, first run): no key can be
  // there already and the audience reader admits each key once, so the
  // rows go in without the key index, which is built once at the end in
  // one sorted pass. The whole import is then one transaction, so that no
  // commit can leave the state without its key index.
  auto any = QueryInt("SELECT EXISTS(SELECT 1 FROM recipients)");
  if (!any.ok()) return Rollback(any.status());
  import_bulk_ = *any == 0;
  if (import_bulk_) {
    if (Status st = Exec("DROP INDEX recipients_key"); !st.ok()) return Rollback(st);
  }
  importing_ = true;
  import_open_ = true;
  import_rows_ = 0;
  return Status::Ok();
}

Status SqliteStore::EndImport() {
  if (!importing_) return Status::Internal("EndImport without BeginImport");
  importing_ = false;
  if (!import_open_) return Status::Ok();  // a failed AddRecipients rolled it back
  import_open_ = false;
  if (import_bulk_) {
    import_bulk_ = false;
    // SQLite's sorter fills up to a page cache's worth of keys (kCacheSize)
    // before it sorts them; with a small cache it sorts runs that fit the
    // CPU's caches and merges them, one run sorted on a helper thread while
    // the next is read: 1,000,000 keys in random order 1.2 -> 0.87 s, 8 MiB
    // less peak memory (issue #9). Tuning only: a failure changes speed, not
    // results.
    Exec("PRAGMA threads=1");
    Status built = Exec("CREATE UNIQUE INDEX recipients_key ON recipients(campaign, key)");
    const int code = sqlite3_extended_errcode(db_) & 0xff;  // before the next statement
    Exec("PRAGMA threads=0");
    if (!built.ok()) {
      // A full disk says so; only a broken uniqueness is named as such.
      if (code == SQLITE_CONSTRAINT) {
        built = Status::Internal(path_ +
                                 ": two imported rows have the same recipient key; "
                                 "nothing was imported");
      }
      return Rollback(built);
    }
  }
  if (Status st = Exec("COMMIT"); !st.ok()) return Rollback(st);
  return Status::Ok();
}

Result<uint64_t> SqliteStore::AddRecipients(const std::vector<Recipient>& batch) {
  SM_RETURN_IF_ERROR(RequireCampaign());
  if (!import_open_) SM_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  import_open_ = importing_;
  sqlite3_stmt* one = import_bulk_ ? insert_bulk_.get() : insert_.get();
  sqlite3_stmt* many = import_bulk_ ? insert_bulk_many_.get() : insert_many_.get();
  uint64_t added = 0;
  const int64_t now = clock_->NowUnix();
  // kInsertRows rows a statement while that many are left (a step per row
  // cost about a fifth of the import), then one at a time. Rows go in, and
  // get their ids, in the batch's order either way.
  std::string fields[kInsertRows], domains[kInsertRows];
  for (size_t next = 0; next < batch.size();) {
    const size_t n = batch.size() - next >= kInsertRows ? kInsertRows : 1;
    sqlite3_stmt* s = n == kInsertRows ? many : one;
    for (size_t k = 0; k < n; ++k) {
      const Recipient& r = batch[next + k];
      fields[k] = EncodeFields(r);
      domains[k].assign(r.email, r.email.rfind('@') + 1);
      const int p = static_cast<int>(7 * k);
      sqlite3_bind_int64(s, p + 1, campaign_);
      sqlite3_bind_text(s, p + 2, r.key.data(), static_cast<int>(r.key.size()), SQLITE_STATIC);
      sqlite3_bind_text(s, p + 3, r.email.data(), static_cast<int>(r.email.size()), SQLITE_STATIC);
      sqlite3_bind_text(s, p + 4, domains[k].data(), static_cast<int>(domains[k].size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(s, p + 5, static_cast<int64_t>(r.line));
      sqlite3_bind_blob(s, p + 6, fields[k].data(), static_cast<int>(fields[k].size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(s, p + 7, now);
    }
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
      import_open_ = false;  // the whole open import goes: nothing of it was committed
      import_bulk_ = false;  // (the rollback restores recipients_key)
      return Rollback(Err("adding recipients"));
    }
    added += static_cast<uint64_t>(sqlite3_changes(db_));
    next += n;
  }
  if (import_open_) {
    import_rows_ += batch.size();
    if (import_bulk_ || import_rows_ < kImportCommitRows) return added;
    import_open_ = false;
    import_rows_ = 0;
  }
  if (Status st = Exec("COMMIT"); !st.ok()) return Rollback(st);
  return added;
}

Result<uint64_t> SqliteStore::RecoverLeases() {
  SM_RETURN_IF_ERROR(RequireCampaign());
  SM_RETURN_IF_ERROR(RequireNoImport());
  const std::string c = std::to_string(campaign_);
  // state=1: a lease taken by a release before schema 5, or converted from
  // a schema 5-6 lease by migration 7; its attempt is already counted.
  const std::string old_leases =
      "UPDATE recipients SET state=7, uncertain_times=uncertain_times+1 WHERE campaign=" + c +
      " AND state=1 AND " + kDueRows;
  // The message of a lease may have left: that was an attempt.
  Stmt recover;
  SM_RETURN_IF_ERROR(Prepare(
      "UPDATE recipients SET state=7, uncertain_times=uncertain_times+1, attempts=attempts+1, "
      "first_attempt_at=CASE WHEN first_attempt_at=0 THEN ?1 ELSE first_attempt_at END "
      "WHERE id=?2 AND campaign=?3",
      &recover));
  const std::string drop = "DELETE FROM lease_batches WHERE campaign=" + c;
  SM_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  if (Status st = LoadLeases(); !st.ok()) return Rollback(st);
  if (Status st = Exec(old_leases.c_str()); !st.ok()) return Rollback(st);
  auto n = static_cast<uint64_t>(sqlite3_changes(db_));
  for (const LeaseBatch& b : batches_) {
    for (int64_t id : b.ids) {
      sqlite3_bind_int64(recover.get(), 1, b.at);
      sqlite3_bind_int64(recover.get(), 2, id);
      sqlite3_bind_int64(recover.get(), 3, campaign_);
      if (Status st = StepDone(recover.get(), "recovering leases"); !st.ok()) return Rollback(st);
      n += static_cast<uint64_t>(sqlite3_changes(db_));
    }
  }
  if (Status st = Exec(drop.c_str()); !st.ok()) return Rollback(st);
  SM_RETURN_IF_ERROR(Exec("COMMIT"));
  return n;
}

StoredRecipient SqliteStore::RowToRecipient(sqlite3_stmt* s, bool* ok) {
  StoredRecipient out;
  out.id = sqlite3_column_int64(s, 0);
  auto text = [s](int col) {
    const unsigned char* t = sqlite3_column_text(s, col);
    return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
  };
  out.recipient.key = text(1);
  out.recipient.email = text(2);
  out.recipient.line = static_cast<uint64_t>(sqlite3_column_int64(s, 3));
  *ok = DecodeFields(sqlite3_column_blob(s, 4), sqlite3_column_bytes(s, 4), &out.recipient);
  int state = sqlite3_column_int(s, 5);
  *ok = *ok && state >= 0 && state <= static_cast<int>(DeliveryState::kUncertain);
  out.state = static_cast<DeliveryState>(state);
  out.attempts = sqlite3_column_int(s, 6);
  out.first_attempt_at = sqlite3_column_int64(s, 7);
  return out;
}

Result<std::vector<StoredRecipient>> SqliteStore::Lease(size_t n, bool include_uncertain) {
  return LeaseAndRecord(n, include_uncertain, {});
}

Result<std::vector<StoredRecipient>> SqliteStore::LeaseAndRecord(
    size_t n, bool include_uncertain, const std::vector<Transition>& transitions) {
  SM_RETURN_IF_ERROR(RequireCampaign());
  SM_RETURN_IF_ERROR(RequireNoImport());
  std::vector<StoredRecipient> out;
  std::vector<std::pair<int64_t, std::string>> suppressed;  // id, reason
  int64_t now = clock_->NowUnix();
  // The lease must survive a power cut, not only a killed process: a lease
  // lost after its message left would hide a duplicate. So this commit is
  // fsynced (one fsync per batch); outcomes alone are recorded with NORMAL
  // (a lost outcome only turns back into a lease, then uncertain, and is
  // counted). The level cannot change inside a transaction.
  SM_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
  struct Restore {
    SqliteStore* s;
    ~Restore() { s->Exec("PRAGMA synchronous=NORMAL"); }
  } restore{this};
  SM_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  if (Status st = LoadLeases(); !st.ok()) return Rollback(st);
  sqlite3_stmt* queries[] = {include_uncertain ? lease_uncertain_.get() : nullptr,
                             lease_deferred_.get(), lease_pending_.get()};
  for (sqlite3_stmt* s : queries) {
    if (s == nullptr || out.size() >= n) continue;
    sqlite3_bind_int64(s, 1, campaign_);
    sqlite3_bind_int64(s, 2, static_cast<int64_t>(n - out.size()));
    if (s == lease_deferred_.get()) sqlite3_bind_int64(s, 3, now);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      bool ok = true;
      StoredRecipient r = RowToRecipient(s, &ok);
      if (!ok) {
        sqlite3_reset(s);
        return Rollback(Status::Corrupt(path_ + ": recipient row " + std::to_string(r.id) +
                                        " does not decode; refusing to guess"));
      }
      if (sqlite3_column_type(s, 8) != SQLITE_NULL) {
        suppressed.emplace_back(r.id, reinterpret_cast<const char*>(sqlite3_column_text(s, 8)));
      } else {
        out.push_back(std::move(r));
      }
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return Rollback(Err("leasing"));
  }
  if (Status st = AddLease(now, out); !st.ok()) return Rollback(st);
  for (const auto& [id, reason] : suppressed) {
    std::string detail = "suppressed: " + reason;
    sqlite3_stmt* u = suppress_row_.get();
    sqlite3_bind_text(u, 1, detail.data(), static_cast<int>(detail.size()), SQLITE_STATIC);
    sqlite3_bind_int64(u, 2, now);
    sqlite3_bind_int64(u, 3, id);
    if (Status st = StepDone(u, "suppressing"); !st.ok()) return Rollback(st);
  }
  // The outcomes after the lease (the rows they release were not leased
  // again above: they still hold their leases).
  if (Status st = RecordInTransaction(transitions); !st.ok()) return Rollback(st);
  if (Status st = WriteReleases(); !st.ok()) return Rollback(st);
  if (Status committed = Exec("COMMIT"); !committed.ok()) return Rollback(committed);
  // A batch made only of suppressed rows must not look like "nothing due".
  if (out.empty() && !suppressed.empty()) return Lease(n, include_uncertain);
  // Fewer rows due now than asked for: the last batches of a run (or a
  // poll while deferred rows wait for their retry time). Copy the WAL into
  // the database now, on the store's thread while the last batches are
  // composed, rather than all of it when the state is closed, where the
  // process waits for it (up to ~1,000 pages; ~15-30 ms of a 50,000-message
  // run). Tuning only: what a passive checkpoint cannot copy now is copied
  // at close.
  if (out.size() < n) Exec("PRAGMA wal_checkpoint(PASSIVE)");
  return out;
}

Result<int64_t> SqliteStore::NextRetryAt() {
  SM_RETURN_IF_ERROR(RequireCampaign());
  std::string sql = "SELECT coalesce(min(retry_at), 0) FROM recipients r WHERE campaign=" +
                    std::to_string(campaign_) + " AND state=3 AND " + kDueRows +
                    " AND NOT sm_held(r.id)";
  SM_RETURN_IF_ERROR(LoadLeases());
  return QueryInt(sql.c_str());
}

Status SqliteStore::Record(const std::vector<Transition>& ts) {
  SM_RETURN_IF_ERROR(RequireCampaign());
  SM_RETURN_IF_ERROR(RequireNoImport());
  if (ts.empty()) return Status::Ok();
  SM_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  if (Status st = LoadLeases(); !st.ok()) return Rollback(st);
  if (Status st = RecordInTransaction(ts); !st.ok()) return Rollback(st);
  if (Status st = WriteReleases(); !st.ok()) return Rollback(st);
  return Exec("COMMIT");
}

Status SqliteStore::RecordInTransaction(const std::vector<Transition>& ts) {
  int64_t now = clock_->NowUnix();
  std::vector<const Transition*> audited;
  audited.reserve(ts.size());
  for (const Transition& t : ts) {
    sqlite3_stmt* s = record_.get();
    sqlite3_bind_int(s, 1, static_cast<int>(t.state));
    if (t.message_id.empty()) sqlite3_bind_null(s, 2);
    else sqlite3_bind_text(s, 2, t.message_id.data(), static_cast<int>(t.message_id.size()), SQLITE_STATIC);
    if (t.detail.empty()) sqlite3_bind_null(s, 3);
    else sqlite3_bind_text(s, 3, t.detail.data(), static_cast<int>(t.detail.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, t.retry_at);
    sqlite3_bind_int64(s, 5, now);
    sqlite3_bind_int(s, 6, t.uncertain ? 1 : 0);
    sqlite3_bind_int64(s, 7, t.id);
    sqlite3_bind_int(s, 8, t.attempted ? 1 : 0);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    Release(t.id);
    if (rc == SQLITE_DONE && t.suppress) {
      std::string source = "campaign " + campaign_name_;
      sqlite3_stmt* q = suppress_failed_.get();
      sqlite3_bind_text(q, 1, t.detail.data(), static_cast<int>(t.detail.size()), SQLITE_STATIC);
      sqlite3_bind_text(q, 2, source.data(), static_cast<int>(source.size()), SQLITE_STATIC);
      sqlite3_bind_int64(q, 3, now);
      sqlite3_bind_int64(q, 4, t.id);
      rc = sqlite3_step(q);
      sqlite3_reset(q);
    }
    if (rc == SQLITE_DONE && t.has_audit) audited.push_back(&t);
    if (rc != SQLITE_DONE) return Err("recording outcomes");
  }
  return InsertAudit(audited);
}

Status SqliteStore::InsertAudit(const std::vector<const Transition*>& ts) {
  // kInsertRows rows a statement while that many are left, as AddRecipients.
  std::string found[kInsertRows], detail[kInsertRows];
  for (size_t next = 0; next < ts.size();) {
    const size_t n = ts.size() - next >= kInsertRows ? kInsertRows : 1;
    sqlite3_stmt* q = n == kInsertRows ? audit_many_.get() : audit_insert_.get();
    for (size_t k = 0; k < n; ++k) {
      const Transition& t = *ts[next + k];
      const AuditRecord& a = t.audit;
      found[k] = JoinFound(a.found);
      detail[k] = RedactDetail(a.detail);
      const int p = static_cast<int>(9 * k);
      auto text = [q, p](int i, const std::string& v) {
        sqlite3_bind_text(q, p + i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
      };
      sqlite3_bind_int64(q, p + 1, campaign_);
      sqlite3_bind_int64(q, p + 2, t.id);
      text(3, a.recipient);
      text(4, a.message_id);
      text(5, a.sha256);
      sqlite3_bind_int64(q, p + 6, a.at);
      text(7, a.outcome);
      text(8, detail[k]);
      text(9, found[k]);
    }
    if (Status st = StepDone(q, "recording outcomes"); !st.ok()) return st;
    next += n;
  }
  return Status::Ok();
}

void AddCount(StateCounts* c, int state, uint64_t n) {
  if (state < 0 || state > static_cast<int>(DeliveryState::kUncertain)) return;
  c->Add(static_cast<DeliveryState>(state), n);
}

// n rows counted in `state` hold a lease (only due states can).
void MoveToLeased(StateCounts* c, int state, uint64_t n) {
  uint64_t* from = nullptr;
  switch (static_cast<DeliveryState>(state)) {
    case DeliveryState::kPending: from = &c->pending; break;
    case DeliveryState::kDeferred: from = &c->deferred; break;
    case DeliveryState::kUncertain: from = &c->uncertain; break;
    default: return;
  }
  n = std::min(n, *from);
  *from -= n;
  c->leased += n;
}

Result<StateCounts> SqliteStore::Counts() {
  SM_RETURN_IF_ERROR(RequireCampaign());
  // One pass over the table (NOT INDEXED): the rows in each state, and those
  // whose outcome was ever unknown. Since schema 9 the only index on
  // campaign that holds every row is recipients_key, and through it each row
  // is one more lookup, in key order: 1,000,000 rows 3.0 s against 0.16 s
  // (a state shared by several campaigns is scanned whole).
  constexpr int kStates = static_cast<int>(DeliveryState::kUncertain) + 1;
  std::string sql = "SELECT ";
  for (int state = 0; state < kStates; ++state) {
    sql += "count(*) FILTER (WHERE state=" + std::to_string(state) + "), ";
  }
  sql += "count(*) FILTER (WHERE uncertain_times>0) FROM recipients NOT INDEXED WHERE campaign=?";
  Stmt st;
  SM_RETURN_IF_ERROR(Prepare(sql.c_str(), &st));
  sqlite3_bind_int64(st.get(), 1, campaign_);
  StateCounts c;
  int rc = sqlite3_step(st.get());
  if (rc != SQLITE_ROW) return Err("counting");
  for (int state = 0; state < kStates; ++state) {
    AddCount(&c, state, static_cast<uint64_t>(sqlite3_column_int64(st.get(), state)));
  }
  c.possible_duplicates = static_cast<uint64_t>(sqlite3_column_int64(st.get(), kStates));
  // A leased row keeps its state until its outcome is recorded: count it as
  // leased instead.
  // (A few batches: one lookup each, not a function call per row.)
  SM_RETURN_IF_ERROR(LoadLeases());
  Stmt leased;
  SM_RETURN_IF_ERROR(Prepare("SELECT state FROM recipients WHERE id=?", &leased));
  for (const HeldRow& h : held_) {
    sqlite3_bind_int64(leased.get(), 1, h.id);
    rc = sqlite3_step(leased.get());
    if (rc == SQLITE_ROW) MoveToLeased(&c, sqlite3_column_int(leased.get(), 0), 1);
    sqlite3_reset(leased.get());
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return Err("counting leases");
  }
  return c;
}

Result<uint64_t> SqliteStore::CountDue() {
  SM_RETURN_IF_ERROR(RequireCampaign());
  // kDueRows is recipients_due's WHERE: the planner walks that index alone.
  Stmt st;
  SM_RETURN_IF_ERROR(Prepare(
      (std::string("SELECT count(*) FROM recipients WHERE campaign=? AND ") + kDueRows).c_str(),
      &st));
  sqlite3_bind_int64(st.get(), 1, campaign_);
  if (sqlite3_step(st.get()) != SQLITE_ROW) return Err("counting due recipients");
  return static_cast<uint64_t>(sqlite3_column_int64(st.get(), 0));
}

Result<std::map<std::string, StateCounts>> SqliteStore::CountsByDomain() {
  SM_RETURN_IF_ERROR(RequireCampaign());
  // A table scan, as Counts.
  Stmt st;
  SM_RETURN_IF_ERROR(
      Prepare("SELECT r.domain, CASE WHEN sm_held(r.id) THEN 1 ELSE r.state END AS st, count(*) "
              "FROM recipients r NOT INDEXED WHERE r.campaign=? GROUP BY r.domain, st",
              &st));
  SM_RETURN_IF_ERROR(LoadLeases());
  sqlite3_bind_int64(st.get(), 1, campaign_);
  std::map<std::string, StateCounts> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    std::string d = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    AddCount(&out[d], sqlite3_column_int(st.get(), 1),
             static_cast<uint64_t>(sqlite3_column_int64(st.get(), 2)));
  }
  if (rc != SQLITE_DONE) return Err("counting");
  return out;
}

Result<std::optional<StoredRecipient>> SqliteStore::Find(const std::string& key) {
  SM_RETURN_IF_ERROR(RequireCampaign());
  sqlite3_stmt* s = find_.get();
  sqlite3_bind_int64(s, 1, campaign_);
  sqlite3_bind_text(s, 2, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(s);
  std::optional<StoredRecipient> out;
  if (rc == SQLITE_ROW) {
    bool ok = true;
    out = RowToRecipient(s, &ok);
    if (!ok) {
      sqlite3_reset(s);
      return Status::Corrupt(path_ + ": recipient row does not decode");
    }
  } else if (rc != SQLITE_DONE) {
    Status st = Err("lookup");
    sqlite3_reset(s);
    return st;
  }
  sqlite3_reset(s);
  return out;
}

Status SqliteStore::ReadAudit(const std::function<bool(const AuditRecord&)>& fn) {
  SM_RETURN_IF_ERROR(RequireCampaign());
  Stmt st;
  SM_RETURN_IF_ERROR(Prepare(
      "SELECT email, message_id, sha256, at, outcome, detail, found FROM audit "
      "WHERE campaign=? ORDER BY id",
      &st));
  sqlite3_bind_int64(st.get(), 1, campaign_);
  auto text = [&st](int col) {
    const unsigned char* t = sqlite3_column_text(st.get(), col);
    return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
  };
  int rc;
  AuditRecord a;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    a.recipient = text(0);
    a.message_id = text(1);
    a.sha256 = text(2);
    a.at = sqlite3_column_int64(st.get(), 3);
    a.outcome = text(4);
    a.detail = text(5);
    a.found = SplitFound(text(6));
    if (!fn(a)) return Status::Ok();
  }
  if (rc != SQLITE_DONE) return Err("reading the audit trail");
  return Status::Ok();
}

Result<uint64_t> SqliteStore::AddSuppressions(const std::vector<Suppression>& batch) {
  SM_RETURN_IF_ERROR(RequireNoImport());
  Stmt ins;
  SM_RETURN_IF_ERROR(Prepare("INSERT INTO suppressions(key, email, reason, source, at) "
                             "VALUES(?,?,?,?,?) ON CONFLICT(key) DO NOTHING",
                             &ins));
  SM_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  uint64_t added = 0;
  for (const Suppression& x : batch) {
    sqlite3_stmt* q = ins.get();
    auto text = [q](int i, const std::string& v) {
      sqlite3_bind_text(q, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    };
    text(1, x.key);
    text(2, x.email);
    text(3, x.reason);
    text(4, x.source);
    sqlite3_bind_int64(q, 5, x.at != 0 ? x.at : clock_->NowUnix());
    if (Status st = StepDone(q, "adding to the suppression list"); !st.ok()) return Rollback(st);
    added += static_cast<uint64_t>(sqlite3_changes(db_));
  }
  SM_RETURN_IF_ERROR(Exec("COMMIT"));
  return added;
}

Result<uint64_t> SqliteStore::RemoveSuppressions(const std::vector<std::string>& keys) {
  SM_RETURN_IF_ERROR(RequireNoImport());
  Stmt del;
  SM_RETURN_IF_ERROR(Prepare("DELETE FROM suppressions WHERE key=?", &del));
  SM_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  uint64_t removed = 0;
  for (const std::string& k : keys) {
    sqlite3_bind_text(del.get(), 1, k.data(), static_cast<int>(k.size()), SQLITE_STATIC);
    if (Status st = StepDone(del.get(), "removing from the suppression list"); !st.ok()) {
      return Rollback(st);
    }
    removed += static_cast<uint64_t>(sqlite3_changes(db_));
  }
  SM_RETURN_IF_ERROR(Exec("COMMIT"));
  return removed;
}

Status SqliteStore::ListSuppressions(const std::function<bool(const Suppression&)>& fn) {
  Stmt st;
  SM_RETURN_IF_ERROR(
      Prepare("SELECT key, email, reason, source, at FROM suppressions ORDER BY key", &st));
  auto text = [&st](int col) {
    const unsigned char* t = sqlite3_column_text(st.get(), col);
    return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
  };
  int rc;
  Suppression x;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    x.key = text(0);
    x.email = text(1);
    x.reason = text(2);
    x.source = text(3);
    x.at = sqlite3_column_int64(st.get(), 4);
    if (!fn(x)) return Status::Ok();
  }
  if (rc != SQLITE_DONE) return Err("reading the suppression list");
  return Status::Ok();
}

}  // namespace

void StateCounts::Add(DeliveryState s, uint64_t n) {
  total += n;
  switch (s) {
    case DeliveryState::kPending: pending += n; break;
    case DeliveryState::kLeased: leased += n; break;
    case DeliveryState::kSent: sent += n; break;
    case DeliveryState::kDeferred: deferred += n; break;
    case DeliveryState::kFailed: failed += n; break;
    case DeliveryState::kSuppressed: suppressed += n; break;
    case DeliveryState::kBlocked: blocked += n; break;
    case DeliveryState::kUncertain: uncertain += n; break;
  }
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const Clock* clock) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = path + ": cannot open state: " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return Status::Io(msg);
  }
  auto store = std::make_unique<SqliteStore>(db, path, clock);
  SM_RETURN_IF_ERROR(store->Init());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace sealmail
