#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store/store.h"

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

  fs::path dir_;
  std::string path_;
  FakeClock clock_{1795608950};
};

TEST_F(StoreTest, LifecycleAddLeaseRecordCount) {
  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE(store.ok()) << store.status().message();
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true).ok());
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

TEST_F(StoreTest, LeasesOfADeadProcessBecomeUncertainAndSurviveReopen) {
  {
    auto store = OpenSqliteStore(path_, &clock_);
    ASSERT_TRUE((*store)->BindCampaign("c1", true).ok());
    (*store)->AddRecipients({R("a@example.com", 2), R("b@example.com", 3)});
    ASSERT_EQ((*store)->Lease(1, true)->size(), 1u);
  }  // "crash": the lease is committed, the outcome never recorded
  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->BindCampaign("c1", true).ok());
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

TEST_F(StoreTest, DeferredRowsWaitForRetryAt) {
  auto store = OpenSqliteStore(path_, &clock_);
  Store& s = **store;
  ASSERT_TRUE(s.BindCampaign("c1", true).ok());
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
  ASSERT_TRUE(s.BindCampaign("c1", true).ok());
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

TEST_F(StoreTest, RenamedCampaignInItsOwnDirectoryIsRefused) {
  auto store = OpenSqliteStore(path_, &clock_);
  ASSERT_TRUE((*store)->BindCampaign("c1", true).ok());
  Status s = (*store)->BindCampaign("c2", true);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("belongs to campaign \"c1\""), std::string::npos) << s.message();
  // A shared state (--state) holds several campaigns.
  EXPECT_TRUE((*store)->BindCampaign("c2", false).ok());
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
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE customers(x)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  got = OpenSqliteStore(path_, &clock_);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("another application"), std::string::npos);

  fs::remove(path_);
  ASSERT_TRUE(OpenSqliteStore(path_, &clock_).ok());
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  got = OpenSqliteStore(path_, &clock_);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("newer than this sealmail"), std::string::npos);
}

}  // namespace
}  // namespace sealmail
