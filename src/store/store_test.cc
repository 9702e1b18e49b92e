#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store/store.h"
#include "store/store_sql.h"

namespace sealmail {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sm_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static Recipient R(std::string email, uint64_t line) {
    Recipient r;
    r.email = email;
    r.key = email;
    r.line = line;
    r.fields = {{"first_name", "Jö"}, {"note", std::string("a\0b", 3)}};
    return r;
  }

  static int PageSize(const std::string& path) { return QueryInt(path, "PRAGMA page_size"); }
  // The first column of the first row of sql, read-only; -1 on failure.
  static int QueryInt(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    int value = -1;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        value = sqlite3_column_int(st, 0);
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return value;
  }
  // Runs sql on the file at path outside any Store (a file written by an
  // older release, or damaged by hand); "" on success, else SQLite's error.
  static std::string ExecRaw(const std::string& path, const char* sql) {
    sqlite3* db = nullptr;
    std::string err;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK ||
        sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      err = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    }
    sqlite3_close(db);
    return err;
  }
  fs::path dir_;
  std::string path_;
  FakeClock clock_{1795608950};
};

// Indexes made by the schema (not those SQLite makes for UNIQUE and PRIMARY KEY).
constexpr const char* kIndexCount =
    "SELECT count(*) FROM sqlite_schema WHERE type='index' AND sql IS NOT NULL";

TEST_F(StoreTest, LifecycleAddLeaseRecordCount) {
  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  auto added = s.AddRecipients({R("a@example.com", 2), R("b@example.org", 3), R("c@example.org", 4)});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(*added, 3u);
  // Adding again adds nothing: rows are keyed by recipient.
  EXPECT_EQ(*s.AddRecipients({R("a@example.com", 9)}), 0u);

  auto leased = s.Lease(2, true);
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 2u);
  EXPECT_EQ((*leased)[0].recipient.email, "a@example.com");
  EXPECT_EQ((*leased)[0].recipient.line, 2u);
  ASSERT_EQ((*leased)[0].recipient.fields.size(), 2u);
  EXPECT_EQ((*leased)[0].recipient.fields[0].second, "Jö");
  EXPECT_EQ((*leased)[0].recipient.fields[1].second, std::string("a\0b", 3));

  StateCounts c = *s.Counts();
  EXPECT_EQ(c.total, 3u);
  EXPECT_EQ(c.leased, 2u);
  EXPECT_EQ(c.pending, 1u);

  ASSERT_TRUE(s.Record({{(*leased)[0].id, DeliveryState::kSent, "<m1@x>", "250 ok", 0},
                        {(*leased)[1].id, DeliveryState::kFailed, "<m2@x>", "550 no", 0}})
                  .ok());
  c = *s.Counts();
  EXPECT_EQ(c.sent, 1u);
  EXPECT_EQ(c.failed, 1u);
  auto by_domain = *s.CountsByDomain();
  EXPECT_EQ(by_domain["example.org"].total, 2u);
  EXPECT_EQ(by_domain["example.org"].failed, 1u);
  EXPECT_EQ(by_domain["example.com"].sent, 1u);

  // Only the pending one is due.
  auto next = s.Lease(10, true);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].recipient.email, "c@example.org");
}

// CountDue (the send loop's progress total) is what Counts adds up for the
// rows not finished, in this campaign only: pending, leased, deferred
// (also those due later) and uncertain; not sent, failed, blocked or
// suppressed ones.
TEST_F(StoreTest, CountDueIsCountsOfTheUnfinishedRows) {
  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("other", false, true).ok());
  s.AddRecipients({R("x@example.com", 2), R("y@example.com", 3)});
  ASSERT_TRUE(s.BindCampaign("c1", false, true).ok());
  EXPECT_EQ(*s.CountDue(), 0u);
  std::vector<Recipient> rows;
  for (int i = 0; i < 10; ++i) rows.push_back(R("r" + std::to_string(i) + "@example.com", 2 + i));
  ASSERT_EQ(*s.AddRecipients(rows), 10u);
  EXPECT_EQ(*s.CountDue(), 10u);
  ASSERT_EQ(*s.AddSuppressions({{"r9@example.com", "r9@example.com", "unsubscribed", "test", 0}}),
            1u);
  auto leased = s.Lease(10, true);  // r0..r8; r9 becomes suppressed instead
  ASSERT_EQ(leased->size(), 9u);
  const int64_t now = clock_.NowUnix();
  std::vector<Transition> ts = {
      {(*leased)[0].id, DeliveryState::kSent, "<0@x>", "250", 0},
      {(*leased)[1].id, DeliveryState::kFailed, "<1@x>", "550", 0},
      {(*leased)[2].id, DeliveryState::kBlocked, "", "leak guard", 0},
      {(*leased)[3].id, DeliveryState::kDeferred, "<3@x>", "451", now + 3600},
      {(*leased)[4].id, DeliveryState::kDeferred, "<4@x>", "451", now},
  };
  ASSERT_TRUE(s.Record(ts).ok());
  // r5, r6 stay leased; r7, r8 are lost to a "crash" and come back uncertain.
  ASSERT_TRUE(s.Record({{(*leased)[7].id, DeliveryState::kUncertain, "<7@x>", "", 0},
                        {(*leased)[8].id, DeliveryState::kUncertain, "<8@x>", "", 0}})
                  .ok());
  StateCounts c = *s.Counts();
  EXPECT_EQ(c.leased, 2u);
  EXPECT_EQ(c.deferred, 2u);
  EXPECT_EQ(c.uncertain, 2u);
  EXPECT_EQ(c.suppressed, 1u);
  EXPECT_EQ(*s.CountDue(), c.pending + c.leased + c.deferred + c.uncertain);
  EXPECT_EQ(*s.CountDue(), 6u);
  ASSERT_TRUE(s.BindCampaign("other", false, false).ok());
  EXPECT_EQ(*s.CountDue(), 2u);
  // From the due index alone: SQLite walks recipients_due, not the table.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  const std::string sql = std::string(
                              "EXPLAIN QUERY PLAN SELECT count(*) FROM recipients "
                              "WHERE campaign=? AND ") +
                          store_sql::kDueRows;
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
    plan += "\n";
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_NE(plan.find("COVERING INDEX recipients_due"), std::string::npos) << plan;
}

TEST_F(StoreTest, LeasesOfADeadProcessBecomeUncertainAndSurviveReopen) {
  {
    auto store = OpenSqliteStore(path_, &clock_);
    ASSERT_TRUE((*store)->BindCampaign("c1", true, true).ok());
    (*store)->AddRecipients({R("a@example.com", 2), R("b@example.com", 3)});
    ASSERT_EQ((*store)->Lease(1, true)->size(), 1u);
  }  // "crash": the lease is committed, the outcome never recorded
  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->BindCampaign("c1", true, true).ok());
  EXPECT_EQ(*(*store)->RecoverLeases(), 1u);
  EXPECT_EQ((*store)->Counts()->uncertain, 1u);
  // --no-resend-uncertain leaves it for an operator.
  auto without = (*store)->Lease(10, false);
  ASSERT_EQ(without->size(), 1u);
  EXPECT_EQ((*without)[0].recipient.email, "b@example.com");
  auto with = (*store)->Lease(10, true);
  ASSERT_EQ(with->size(), 1u);
  EXPECT_EQ((*with)[0].recipient.email, "a@example.com");
  EXPECT_EQ((*with)[0].state, DeliveryState::kUncertain);
  EXPECT_EQ((*with)[0].attempts, 1);
}

// The send loop leases the next batch before the current one is recorded
// (schema 5: a lease is a row of `leases`, the recipient keeps its state):
// a leased row is never leased twice, counts as leased (also per domain),
// and its lease goes with its outcome.
TEST_F(StoreTest, ALeasedRowIsNotLeasedAgainUntilRecorded) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  s.AddRecipients({R("a@example.com", 2), R("b@example.com", 3), R("c@example.com", 4)});
  auto first = s.Lease(2, true);
  auto second = s.Lease(2, true);
  ASSERT_EQ(first->size(), 2u);
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].recipient.email, "c@example.com");
  EXPECT_TRUE(s.Lease(2, true)->empty());
  EXPECT_EQ(s.Counts()->leased, 3u);
  EXPECT_EQ(s.Counts()->pending, 0u);
  EXPECT_EQ(s.CountsByDomain()->at("example.com").leased, 3u);
  Transition sent{(*first)[0].id, DeliveryState::kSent, "<a@x>", "250", 0};
  sent.attempted = true;
  ASSERT_TRUE(s.Record({sent}).ok());
  EXPECT_EQ(s.Counts()->leased, 2u);
  EXPECT_EQ(s.Counts()->sent, 1u);
  // Still leased rows are not due again; after a crash the two leases left
  // come back as uncertain, each counted as an attempt.
  EXPECT_TRUE(s.Lease(10, true)->empty());
  EXPECT_EQ(*s.RecoverLeases(), 2u);
  auto again = s.Lease(10, true);
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ((*again)[0].state, DeliveryState::kUncertain);
  EXPECT_EQ((*again)[0].attempts, 1);
  EXPECT_NE((*again)[0].first_attempt_at, 0);
}

// The send loop's step: the next lease and an earlier batch's outcomes in
// one transaction. The rows being recorded still hold their leases while the
// lease runs, so a deferral due at once is not leased again by the same call.
TEST_F(StoreTest, LeaseAndRecordLeasesFirstThenRecordsInOneCommit) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  s.AddRecipients({R("a@example.com", 2), R("b@example.com", 3), R("c@example.com", 4),
                   R("d@example.com", 5)});
  auto first = s.Lease(2, true);
  ASSERT_EQ(first->size(), 2u);
  Transition sent{(*first)[0].id, DeliveryState::kSent, "<a@x>", "250", 0};
  sent.attempted = true;
  sent.has_audit = true;
  sent.audit = {"a@example.com", "<a@x>", "ab", clock_.NowUnix(), "sent", "250", {}};
  Transition due_now{(*first)[1].id, DeliveryState::kDeferred, "<b@x>", "451", clock_.NowUnix()};
  due_now.attempted = true;
  auto next = s.LeaseAndRecord(10, true, {sent, due_now});
  ASSERT_TRUE(next.ok()) << next.status().message();
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].recipient.email, "c@example.com");
  EXPECT_EQ((*next)[1].recipient.email, "d@example.com");
  auto c = s.Counts();
  EXPECT_EQ(c->sent, 1u);
  EXPECT_EQ(c->deferred, 1u);
  EXPECT_EQ(c->leased, 2u);
  int audit_rows = 0;
  ASSERT_TRUE(s.ReadAudit([&](const AuditRecord&) { return ++audit_rows, true; }).ok());
  EXPECT_EQ(audit_rows, 1);
  // The deferral is due: the next lease takes it.
  auto after = s.Lease(10, true);
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].recipient.email, "b@example.com");
  // Survives a reopen: it was one committed transaction.
  store->reset();
  auto reopened = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE((*reopened)->BindCampaign("c1", true, true).ok());
  EXPECT_EQ((*reopened)->Counts()->sent, 1u);
}

TEST_F(StoreTest, DeferredRowsWaitForRetryAt) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  s.AddRecipients({R("a@example.com", 2)});
  auto l = s.Lease(1, true);
  ASSERT_TRUE(s.Record({{(*l)[0].id, DeliveryState::kDeferred, "", "451 later",
                         clock_.NowUnix() + 60}}).ok());
  EXPECT_TRUE(s.Lease(1, true)->empty());
  clock_.AdvanceSeconds(61);
  EXPECT_EQ(s.Lease(1, true)->size(), 1u);
}

TEST_F(StoreTest, AuditRowsAreWrittenWithTheirTransitionAndReadBack) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  s.AddRecipients({R("a@example.com", 2), R("b@example.com", 3)});
  auto l = s.Lease(2, true);
  Transition t{(*l)[0].id, DeliveryState::kSent, "<m1@x>", "250 ok", 0};
  t.has_audit = true;
  t.audit = {"a@example.com", "<m1@x>", "ab12", 1795608950, "sent", "250 ok\r\nmore",
             {"a@example.com"}};
  ASSERT_TRUE(s.Record({t}).ok());
  std::vector<AuditRecord> got;
  ASSERT_TRUE(s.ReadAudit([&](const AuditRecord& a) {
                 got.push_back(a);
                 return true;
               }).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].recipient, "a@example.com");
  EXPECT_EQ(got[0].message_id, "<m1@x>");
  EXPECT_EQ(got[0].sha256, "ab12");
  EXPECT_EQ(got[0].detail, "250 ok  more");
  EXPECT_EQ(got[0].found, std::vector<std::string>{"a@example.com"});
  // A failed transaction writes neither the state nor the audit row.
  Transition bad{999999, DeliveryState::kSent, "<m2@x>", "", 0};
  bad.has_audit = true;
  bad.audit.recipient = "zz@example.com";
  Transition good{(*l)[1].id, DeliveryState::kSent, "<m3@x>", "", 0};
  good.has_audit = true;
  good.audit.recipient = "b@example.com";
  // Unknown recipient id violates the audit table's foreign key: all or nothing.
  EXPECT_FALSE(s.Record({good, bad}).ok());
  EXPECT_EQ(s.Counts()->sent, 1u);
  size_t rows = 0;
  s.ReadAudit([&](const AuditRecord&) { return ++rows, true; });
  EXPECT_EQ(rows, 1u);
}

// Audit rows go in 16 to a statement while 16 are left, then one at a time:
// a batch of 37 (some without an audit row) reads back whole, in order, each
// row with its own fields; a failing row in a 16-row statement fails the lot.
TEST_F(StoreTest, AuditRowsOfAnyBatchLengthReadBackInOrder) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  std::vector<Recipient> rs;
  for (int i = 0; i < 40; ++i) rs.push_back(R("u" + std::to_string(i) + "@example.com", i + 2));
  s.AddRecipients(rs);
  auto l = s.Lease(40, true);
  ASSERT_EQ(l->size(), 40u);
  std::vector<Transition> ts;
  std::vector<std::string> want;
  for (int i = 0; i < 40; ++i) {
    Transition t{(*l)[i].id, DeliveryState::kSent, "<m" + std::to_string(i) + "@x>", "250", 0};
    t.has_audit = i % 13 != 4;  // three without: 37 audit rows
    t.audit = {(*l)[i].recipient.email,  t.message_id, "h" + std::to_string(i),
               1795608950 + i,           "sent",       "250 ok " + std::to_string(i),
               {"x" + std::to_string(i)}};
    if (t.has_audit)
      want.push_back(t.audit.recipient + " " + t.message_id + " " + t.audit.sha256 + " " +
                     std::to_string(t.audit.at) + " " + t.audit.detail + " " + t.audit.found[0]);
    ts.push_back(std::move(t));
  }
  // Unknown recipient in the second 16-row statement: nothing is written.
  std::vector<Transition> bad = ts;
  bad[20].id = 999999;
  bad[20].message_id.clear();
  EXPECT_FALSE(s.Record(bad).ok());
  ASSERT_TRUE(s.Record(ts).ok());
  std::vector<std::string> got;
  ASSERT_TRUE(s.ReadAudit([&](const AuditRecord& a) {
                 got.push_back(a.recipient + " " + a.message_id + " " + a.sha256 + " " +
                               std::to_string(a.at) + " " + a.detail + " " + a.found[0]);
                 return true;
               }).ok());
  EXPECT_EQ(got, want);
  EXPECT_EQ(s.Counts()->sent, 40u);
}

TEST_F(StoreTest, RenamedCampaignInItsOwnDirectoryIsRefused) {
  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE((*store)->BindCampaign("c1", true, true).ok());
  Status s = (*store)->BindCampaign("c2", true, true);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("belongs to campaign \"c1\""), std::string::npos) << s.message();
  // A shared state (--state) holds several campaigns.
  EXPECT_TRUE((*store)->BindCampaign("c2", false, true).ok());
}

TEST_F(StoreTest, PermanentFailuresJoinTheSuppressionListSharedByCampaigns) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", false, true).ok());
  s.AddRecipients({R("a@example.com", 2), R("b@example.com", 3)});
  auto l = s.Lease(10, true);
  ASSERT_EQ(l->size(), 2u);
  Transition bad{(*l)[0].id, DeliveryState::kFailed, "<m1@x>", "550 5.1.1 no such user", 0};
  bad.suppress = true;
  Transition ok{(*l)[1].id, DeliveryState::kSent, "<m2@x>", "250 ok", 0};
  ASSERT_TRUE(s.Record({bad, ok}).ok());

  // A later campaign in the same state never mails a@ again.
  ASSERT_TRUE(s.BindCampaign("c2", false, true).ok());
  s.AddRecipients({R("a@example.com", 2), R("b@example.com", 3), R("c@example.com", 4)});
  auto l2 = s.Lease(10, true);
  ASSERT_TRUE(l2.ok());
  ASSERT_EQ(l2->size(), 2u);
  EXPECT_EQ((*l2)[0].recipient.email, "b@example.com");
  EXPECT_EQ((*l2)[1].recipient.email, "c@example.com");
  EXPECT_EQ(s.Counts()->suppressed, 1u);
  EXPECT_EQ((*s.Find("a@example.com"))->state, DeliveryState::kSuppressed);

  std::vector<Suppression> listed;
  ASSERT_TRUE(s.ListSuppressions([&](const Suppression& x) {
                 listed.push_back(x);
                 return true;
               }).ok());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].email, "a@example.com");
  EXPECT_EQ(listed[0].reason, "550 5.1.1 no such user");
  EXPECT_EQ(listed[0].source, "campaign c1");
  EXPECT_EQ(listed[0].at, clock_.NowUnix());
}

// AddRecipients writes many rows a statement: a batch of any length, with a
// key repeated inside one statement's rows and across them, adds each key
// once, counts what it added, and keeps the batch's order (and its fields).
TEST_F(StoreTest, AddRecipientsOfAnyLengthAddsEachKeyOnceInOrder) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  ASSERT_EQ(*s.AddRecipients({R("u7@example.com", 1)}), 1u);  // already there
  std::vector<Recipient> rs;
  for (int i = 0; i < 53; ++i) rs.push_back(R("u" + std::to_string(i) + "@example.com", i + 2));
  rs[5] = R("u3@example.com", 100);   // again, in the same statement as the first
  rs[40] = R("u2@example.com", 101);  // again, in a later statement
  auto added = s.AddRecipients(rs);
  ASSERT_TRUE(added.ok()) << added.status().message();
  EXPECT_EQ(*added, 53u - 3);  // u3 and u2 repeated, u7 there before
  auto leased = s.Lease(100, true);
  ASSERT_TRUE(leased.ok());
  ASSERT_EQ(leased->size(), 51u);
  EXPECT_EQ((*leased)[0].recipient.email, "u7@example.com");
  std::vector<std::string> want = {"u7@example.com"};
  for (int i = 0; i < 53; ++i) {
    if (i != 5 && i != 40 && i != 7) want.push_back("u" + std::to_string(i) + "@example.com");
  }
  std::vector<std::string> got;
  for (const auto& r : *leased) got.push_back(r.recipient.email);
  EXPECT_EQ(got, want);
  EXPECT_EQ((*leased)[4].recipient.line, 5u);  // u3's first row, not its repeat
  EXPECT_EQ((*leased)[4].recipient.fields[0].second, "Jö");
}

std::vector<Recipient> Batch(uint64_t from, uint64_t count) {
  std::vector<Recipient> rs;
  for (uint64_t i = from; i < from + count; ++i) {
    Recipient r;
    r.email = r.key = "u" + std::to_string(i) + "@example.com";
    r.line = i + 2;
    rs.push_back(std::move(r));
  }
  return rs;
}

// An import into a state that has rows already (a run after an earlier one,
// or a state shared by campaigns) commits every kImportCommitRows rows and
// at EndImport, not once a call: a store that dies in between keeps the rows
// up to the last commit and nothing after it (the next run adds them again);
// writers other than AddRecipients are refused meanwhile, readers see the
// rows added so far.
TEST_F(StoreTest, AnImportIntoAStateWithRowsCommitsEveryFiftyThousandRows) {
  const uint64_t n = Store::kImportCommitRows;
  {
    auto store = OpenSqliteStore(path_, &clock_);
    Store& s = **store;
    ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
    ASSERT_EQ(*s.AddRecipients(Batch(0, 1)), 1u);  // outside an import: committed
    ASSERT_TRUE(s.BeginImport().ok());
    for (uint64_t from = 1; from < n + 1; from += 10000) {
      ASSERT_EQ(*s.AddRecipients(Batch(from, 10000)), 10000u);
    }
    ASSERT_EQ(*s.AddRecipients(Batch(n + 1, 7)), 7u);  // after the commit at n
    EXPECT_EQ(s.Counts()->total, n + 8);               // the open transaction's rows
    auto leased = s.Lease(1, true);
    ASSERT_FALSE(leased.ok());
    EXPECT_EQ(leased.status().code(), Status::Code::kInternal);
    EXPECT_FALSE(s.Record({}).ok());
    EXPECT_FALSE(s.BeginImport().ok());
  }  // dies before EndImport
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, false).ok());
  EXPECT_EQ(s.Counts()->total, n + 1);  // up to the last commit
  ASSERT_TRUE(s.BeginImport().ok());
  EXPECT_EQ(*s.AddRecipients(Batch(n - 2, 10)), 7u);  // the next run adds the rest again
  ASSERT_TRUE(s.EndImport().ok());
  EXPECT_FALSE(s.EndImport().ok());
  store->reset();
  auto reopened = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE((*reopened)->BindCampaign("c1", true, false).ok());
  EXPECT_EQ((*reopened)->Counts()->total, n + 8);
  auto first = (*reopened)->Lease(2, true);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].recipient.email, "u0@example.com");
  EXPECT_EQ((*first)[1].recipient.email, "u1@example.com");
}

// The first import into an empty state goes in without the key index, which
// EndImport builds in one pass, all in one transaction: a store that dies
// before EndImport leaves the state as it was (empty, with its key index);
// after EndImport the index is there and keys stay unique; a key twice in
// such an import (which the audience reader never lets through) fails the
// whole import instead of keeping both.
TEST_F(StoreTest, TheFirstImportBuildsTheKeyIndexAtItsEnd) {
  const char* kKeyIndex =
      "SELECT count(*) FROM sqlite_schema WHERE type='index' AND name='recipients_key'";
  {
    auto store = OpenSqliteStore(path_, &clock_);
    ASSERT_TRUE((*store)->BindCampaign("c1", true, true).ok());
    ASSERT_TRUE((*store)->BeginImport().ok());
    ASSERT_EQ(*(*store)->AddRecipients(Batch(0, 60000)), 60000u);  // past kImportCommitRows
  }  // dies before EndImport: nothing was committed
  EXPECT_EQ(QueryInt(path_, kKeyIndex), 1);
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM recipients"), 0);
  {
    auto store = OpenSqliteStore(path_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    Store& s = **store;
    ASSERT_TRUE(s.BindCampaign("c1", true, false).ok());
    ASSERT_TRUE(s.BeginImport().ok());
    ASSERT_EQ(*s.AddRecipients(Batch(0, 60000)), 60000u);
    ASSERT_TRUE(s.EndImport().ok());
    EXPECT_EQ(*s.AddRecipients(Batch(59990, 20)), 10u);  // the index holds again
    EXPECT_EQ((*s.Find("u123@example.com"))->recipient.line, 125u);
  }
  EXPECT_EQ(QueryInt(path_, kKeyIndex), 1);
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM recipients"), 60010);

  fs::remove(path_);
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  ASSERT_TRUE(s.BeginImport().ok());
  ASSERT_TRUE(s.AddRecipients(Batch(0, 5)).ok());
  ASSERT_TRUE(s.AddRecipients(Batch(3, 1)).ok());  // u3 again
  Status end = s.EndImport();
  EXPECT_FALSE(end.ok());
  EXPECT_NE(end.message().find("same recipient key"), std::string::npos) << end.message();
  EXPECT_EQ(s.Counts()->total, 0u);
  store->reset();
  EXPECT_EQ(QueryInt(path_, kKeyIndex), 1);
}

TEST_F(StoreTest, SuppressionsAddedByAnOperatorApplyToPendingRowsAtLease) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  std::vector<Recipient> rs;
  for (int i = 0; i < 5; ++i) rs.push_back(R("u" + std::to_string(i) + "@example.com", i + 2));
  s.AddRecipients(rs);
  Suppression x{"u0@example.com", "u0@example.com", "unsubscribed", "suppress add", 0};
  Suppression y{"u1@example.com", "u1@example.com", "unsubscribed", "suppress add", 0};
  EXPECT_EQ(*s.AddSuppressions({x, y}), 2u);
  EXPECT_EQ(*s.AddSuppressions({x}), 0u);  // kept as it was
  // A batch made only of suppressed rows still returns what is due after them.
  auto l = s.Lease(2, true);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].recipient.email, "u2@example.com");
  EXPECT_EQ(s.Counts()->suppressed, 2u);
  EXPECT_EQ(*s.RemoveSuppressions({"u0@example.com", "nobody@example.com"}), 1u);
  uint64_t n = 0;
  ASSERT_TRUE(s.ListSuppressions([&](const Suppression&) { return ++n, true; }).ok());
  EXPECT_EQ(n, 1u);
}

TEST_F(StoreTest, PossibleDuplicatesCountEveryUnknownOutcomeOnce) {
  {
    auto store = OpenSqliteStore(path_, &clock_);
    ASSERT_TRUE((*store)->BindCampaign("c1", true, true).ok());
    (*store)->AddRecipients({R("a@example.com", 2), R("b@example.com", 3), R("c@example.com", 4)});
    ASSERT_EQ((*store)->Lease(1, true)->size(), 1u);  // a: the process dies
  }
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  EXPECT_EQ(*s.RecoverLeases(), 1u);
  auto l = s.Lease(3, true);
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].recipient.email, "a@example.com");  // uncertain first
  Transition hung{(*l)[1].id, DeliveryState::kDeferred, "<b@x>", "no reply after .",
                  clock_.NowUnix() + 60};
  hung.uncertain = true;
  ASSERT_TRUE(s.Record({{(*l)[0].id, DeliveryState::kSent, "<a@x>", "250", 0}, hung,
                        {(*l)[2].id, DeliveryState::kSent, "<c@x>", "250", 0}})
                  .ok());
  auto c = s.Counts();
  EXPECT_EQ(c->possible_duplicates, 2u);
  EXPECT_EQ(c->uncertain, 0u);
  EXPECT_EQ(*s.NextRetryAt(), clock_.NowUnix() + 60);
}

TEST_F(StoreTest, FirstAttemptTimeIsKeptAcrossRetries) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true, true).ok());
  s.AddRecipients({R("a@example.com", 2)});
  const int64_t t0 = clock_.NowUnix();
  auto l = s.Lease(1, true);
  EXPECT_EQ((*l)[0].first_attempt_at, 0);  // never leased before
  Transition deferred{(*l)[0].id, DeliveryState::kDeferred, "", "451", t0 + 10};
  deferred.attempted = true;
  ASSERT_TRUE(s.Record({deferred}).ok());
  EXPECT_EQ(*s.NextRetryAt(), t0 + 10);
  clock_.AdvanceSeconds(11);
  l = s.Lease(1, true);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].first_attempt_at, t0);
  EXPECT_EQ((*l)[0].attempts, 1);
  EXPECT_EQ(*s.NextRetryAt(), 0);
}

TEST_F(StoreTest, LeasingDoesNotRescanFinishedRows) {
  // The due queries walk the (campaign, state, retry_at, id) index, which
  // holds only the due rows (schema 9): a plan that scans the table would
  // make a large campaign quadratic. SQLite takes a partial index only for a
  // query that repeats its WHERE: the store's queries and the index must
  // agree on kDueRows.
  ASSERT_TRUE(OpenSqliteStore(path_, &clock_).ok());
  const std::string due = store_sql::kDueRows;
  EXPECT_EQ(QueryInt(path_, ("SELECT count(*) FROM sqlite_schema WHERE name='recipients_due' AND "
                             "sql LIKE '% WHERE " + due + "'").c_str()),
            1);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const std::string lease = "EXPLAIN QUERY PLAN SELECT r.id FROM recipients r LEFT JOIN "
                            "suppressions s ON s.key=r.key WHERE r.campaign=1 AND ";
  for (const std::string& q :
       {lease + "r.state=0 AND " + due + " ORDER BY r.retry_at, r.id LIMIT 10",
        lease + "r.state=7 AND " + due + " ORDER BY r.retry_at, r.id LIMIT 10",
        lease + "r.state=3 AND r.retry_at<=5 AND " + due + " ORDER BY r.retry_at, r.id LIMIT 10",
        "EXPLAIN QUERY PLAN SELECT min(retry_at) FROM recipients r WHERE campaign=1 AND state=3 "
        "AND " + due,
        "EXPLAIN QUERY PLAN UPDATE recipients SET state=7 WHERE campaign=1 AND state=1 AND " +
            due}) {
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, q.c_str(), -1, &st, nullptr), SQLITE_OK) << q;
    std::string plan;
    while (sqlite3_step(st) == SQLITE_ROW) {
      plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
      plan += "\n";
    }
    sqlite3_finalize(st);
    EXPECT_NE(plan.find("INDEX recipients_due"), std::string::npos) << q << "\n" << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  }
  sqlite3_close(db);
}

TEST_F(StoreTest, ReadersDoNotAddACampaign) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  Status st = s.BindCampaign("later", false, /*create=*/false);
  EXPECT_EQ(st.code(), Status::Code::kNotFound) << st.message();
  // Still free for a different name in a campaign's own state.
  ASSERT_TRUE(s.BindCampaign("first", true, true).ok());
  EXPECT_TRUE(s.BindCampaign("first", true, false).ok());
}

// A state written by the release before suppression (schema 2), frozen here
// as that release wrote it: it must open, migrate and keep its rows.
TEST_F(StoreTest, MigratesASchema2StateKeepingItsRows) {
  const char* v2 =
      "CREATE TABLE campaigns(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
      " created_at INTEGER NOT NULL);"
      "CREATE TABLE recipients(id INTEGER PRIMARY KEY, campaign INTEGER NOT NULL REFERENCES"
      " campaigns(id), key TEXT NOT NULL, email TEXT NOT NULL, domain TEXT NOT NULL,"
      " line INTEGER NOT NULL, fields BLOB NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
      " attempts INTEGER NOT NULL DEFAULT 0, retry_at INTEGER NOT NULL DEFAULT 0,"
      " updated_at INTEGER NOT NULL DEFAULT 0, message_id TEXT, detail TEXT,"
      " UNIQUE(campaign, key));"
      "CREATE INDEX recipients_due ON recipients(campaign, state, retry_at, id);"
      "CREATE TABLE audit(id INTEGER PRIMARY KEY, campaign INTEGER NOT NULL REFERENCES"
      " campaigns(id), recipient INTEGER NOT NULL REFERENCES recipients(id), email TEXT NOT NULL,"
      " message_id TEXT NOT NULL, sha256 TEXT NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT"
      " NULL, detail TEXT NOT NULL, found TEXT NOT NULL);"
      "CREATE INDEX audit_message ON audit(message_id);"
      "INSERT INTO campaigns VALUES(1, 'old', 1);"
      "INSERT INTO recipients(campaign, key, email, domain, line, fields, state, attempts)"
      " VALUES(1, 'a@example.com', 'a@example.com', 'example.com', 2, x'', 2, 1),"
      " (1, 'b@example.com', 'b@example.com', 'example.com', 3, x'', 1, 1),"
      " (1, 'c@example.com', 'c@example.com', 'example.com', 4, x'', 0, 0);"
      "PRAGMA application_id=1397047628; PRAGMA user_version=2;";
  ASSERT_EQ(ExecRaw(path_, v2), "");

  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("old", true, false).ok());
  EXPECT_EQ(*s.RecoverLeases(), 1u);  // b was leased when the old release died
  auto c = s.Counts();
  EXPECT_EQ(c->total, 3u);
  EXPECT_EQ(c->sent, 1u);
  EXPECT_EQ(c->uncertain, 1u);
  EXPECT_EQ(c->possible_duplicates, 1u);
  auto l = s.Lease(10, true);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].recipient.email, "b@example.com");
  EXPECT_EQ(*s.AddSuppressions({{"x@example.com", "x@example.com", "r", "test", 0}}), 1u);
  store->reset();
  EXPECT_EQ(PageSize(path_), 4096);  // an existing file keeps its page size
  EXPECT_EQ(QueryInt(path_, "PRAGMA user_version"), 9);
  // recipients_due (partial since 9) and recipients_key (8); the audit's went in 4 and 6
  EXPECT_EQ(QueryInt(path_, kIndexCount), 2);
}

// A state written by schema 6 (a lease row per recipient), frozen here as
// that release wrote it, with two leases held when it died: after the
// migration they still count as leased, are not leased again, and are
// recovered as uncertain with their attempt and first attempt time.
TEST_F(StoreTest, MigratesASchema6StateKeepingItsLeases) {
  const char* v6 =
      "CREATE TABLE campaigns(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
      " created_at INTEGER NOT NULL);"
      "CREATE TABLE recipients(id INTEGER PRIMARY KEY, campaign INTEGER NOT NULL REFERENCES"
      " campaigns(id), key TEXT NOT NULL, email TEXT NOT NULL, domain TEXT NOT NULL,"
      " line INTEGER NOT NULL, fields BLOB NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
      " attempts INTEGER NOT NULL DEFAULT 0, retry_at INTEGER NOT NULL DEFAULT 0,"
      " updated_at INTEGER NOT NULL DEFAULT 0, message_id TEXT, detail TEXT,"
      " first_attempt_at INTEGER NOT NULL DEFAULT 0,"
      " uncertain_times INTEGER NOT NULL DEFAULT 0, UNIQUE(campaign, key));"
      "CREATE INDEX recipients_due ON recipients(campaign, state, retry_at, id);"
      "CREATE TABLE audit(id INTEGER PRIMARY KEY, campaign INTEGER NOT NULL REFERENCES"
      " campaigns(id), recipient INTEGER NOT NULL REFERENCES recipients(id), email TEXT NOT NULL,"
      " message_id TEXT NOT NULL, sha256 TEXT NOT NULL, at INTEGER NOT NULL, outcome TEXT NOT"
      " NULL, detail TEXT NOT NULL, found TEXT NOT NULL);"
      "CREATE TABLE suppressions(key TEXT PRIMARY KEY, email TEXT NOT NULL, reason TEXT NOT"
      " NULL, source TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE leases(id INTEGER PRIMARY KEY, campaign INTEGER NOT NULL,"
      " at INTEGER NOT NULL);"
      "INSERT INTO campaigns VALUES(1, 'old', 1);"
      "INSERT INTO recipients(campaign, key, email, domain, line, fields, state, attempts,"
      " first_attempt_at) VALUES"
      " (1, 'a@example.com', 'a@example.com', 'example.com', 2, x'', 0, 0, 0),"
      " (1, 'b@example.com', 'b@example.com', 'example.com', 3, x'', 3, 1, 500),"
      " (1, 'c@example.com', 'c@example.com', 'example.com', 4, x'', 0, 0, 0);"
      "INSERT INTO leases VALUES(1, 1, 1000), (2, 1, 1000);"
      "INSERT INTO audit VALUES(1, 1, 2, 'b@example.com', '<b@x>', 'ab', 500, 'deferred',"
      " '451 later', '');"
      "PRAGMA application_id=1397047628; PRAGMA user_version=6;";
  ASSERT_EQ(ExecRaw(path_, v6), "");

  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("old", true, false).ok());
  auto c = s.Counts();
  EXPECT_EQ(c->leased, 2u);
  EXPECT_EQ(c->pending, 1u);
  EXPECT_EQ(c->deferred, 0u);
  auto l = s.Lease(10, true);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].recipient.email, "c@example.com");
  EXPECT_EQ(*s.RecoverLeases(), 3u);  // a and b from schema 6, c from this store
  auto a = s.Find("a@example.com");
  EXPECT_EQ((*a)->state, DeliveryState::kUncertain);
  EXPECT_EQ((*a)->attempts, 1);
  EXPECT_EQ((*a)->first_attempt_at, 1000);
  auto b = s.Find("b@example.com");
  EXPECT_EQ((*b)->attempts, 2);
  EXPECT_EQ((*b)->first_attempt_at, 500);
  EXPECT_EQ(s.Counts()->possible_duplicates, 3u);
  store->reset();
  EXPECT_EQ(QueryInt(path_, "PRAGMA user_version"), 9);
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM sqlite_schema WHERE name='leases'"), 0);
  // Migration 8 rebuilt the recipients table under the audit trail: its row
  // still points at b, and no reference dangles.
  EXPECT_EQ(QueryInt(path_, "SELECT recipient FROM audit"), 2);
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%recipients_v8%'"),
            0);
}

// Leases live in the state file, not in one Store: a second store on the
// same file (another process) neither leases the held rows nor miscounts them.
TEST_F(StoreTest, LeasesHeldByOneStoreBindAnother) {
  auto one = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE((*one)->BindCampaign("c1", true, true).ok());
  (*one)->AddRecipients({R("a@example.com", 2), R("b@example.com", 3), R("c@example.com", 4)});
  ASSERT_EQ((*one)->Lease(2, true)->size(), 2u);
  auto two = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE((*two)->BindCampaign("c1", true, false).ok());
  EXPECT_EQ((*two)->Counts()->leased, 2u);
  EXPECT_EQ((*two)->CountsByDomain()->at("example.com").leased, 2u);
  auto rest = (*two)->Lease(10, true);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].recipient.email, "c@example.com");
  // The first store sees the second one's lease too.
  EXPECT_TRUE((*one)->Lease(10, true)->empty());
  EXPECT_EQ((*one)->Counts()->leased, 3u);
}

// A lease row that does not decode (a hand-edited or damaged file) stops the
// store with an error naming the file, the row and the field; nothing is
// leased or recovered by guessing.
TEST_F(StoreTest, ADamagedLeaseRowIsRefused) {
  for (const char* damage : {"UPDATE lease_batches SET ids=x'0102'",  // not 8 bytes an id
                             "UPDATE lease_batches SET ids=x'0000000000000000'",  // id 0
                             "INSERT INTO lease_batches(campaign, at, ids) "      // held twice
                             "SELECT campaign, at, ids FROM lease_batches"}) {
    SCOPED_TRACE(damage);
    fs::remove(path_);
    {
      auto store = OpenSqliteStore(path_, &clock_);
      ASSERT_TRUE((*store)->BindCampaign("c1", true, true).ok());
      (*store)->AddRecipients({R("a@example.com", 2), R("b@example.com", 3)});
      ASSERT_EQ((*store)->Lease(1, true)->size(), 1u);
    }
    ASSERT_EQ(ExecRaw(path_, damage), "");
    auto store = OpenSqliteStore(path_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->BindCampaign("c1", true, false).ok());
    auto leased = (*store)->Lease(10, true);
    ASSERT_FALSE(leased.ok());
    EXPECT_EQ(leased.status().code(), Status::Code::kCorrupt);
    EXPECT_NE(leased.status().message().find(path_), std::string::npos);
    EXPECT_NE(leased.status().message().find("lease_batches"), std::string::npos)
        << leased.status().message();
    EXPECT_FALSE((*store)->RecoverLeases().ok());
    EXPECT_FALSE((*store)->Counts().ok());
    EXPECT_FALSE((*store)->Record({{1, DeliveryState::kSent, "<m@x>", "250", 0}}).ok());
  }
  // Nothing moved: the recipients are as the damaged file left them.
  EXPECT_EQ(QueryInt(path_, "SELECT count(*) FROM recipients WHERE state=0"), 2);
}

TEST_F(StoreTest, ANewStateHas16KiBPages) {
  {
    auto store = OpenSqliteStore(path_, &clock_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->BindCampaign("c1", true, true).ok());
    ASSERT_TRUE((*store)->AddRecipients({R("a@example.com", 2)}).ok());
  }
  EXPECT_EQ(PageSize(path_), 16384);
  EXPECT_EQ(QueryInt(path_, "PRAGMA user_version"), 9);
  // recipients_due and recipients_key: nothing indexes the audit trail
  EXPECT_EQ(QueryInt(path_, kIndexCount), 2);
}

TEST_F(StoreTest, ForeignAndCorruptFilesAreRefusedNotRepaired) {
  {
    std::ofstream(path_) << "this is not a database, just text that someone saved here\n";
  }
  auto got = OpenSqliteStore(path_, &clock_);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kCorrupt);
  EXPECT_NE(got.status().message().find("not a sealmail state"), std::string::npos)
      << got.status().message();

  fs::remove(path_);
  ASSERT_EQ(ExecRaw(path_, "CREATE TABLE customers(x)"), "");
  got = OpenSqliteStore(path_, &clock_);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("another application"), std::string::npos);

  fs::remove(path_);
  ASSERT_TRUE(OpenSqliteStore(path_, &clock_).ok());
  ASSERT_EQ(ExecRaw(path_, "PRAGMA user_version=99"), "");
  got = OpenSqliteStore(path_, &clock_);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("newer than this sealmail"), std::string::npos);
}

}  // namespace
}  // namespace sealmail
