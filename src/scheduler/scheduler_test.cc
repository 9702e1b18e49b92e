#include "scheduler/scheduler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace sealmail {
namespace {

namespace fs = std::filesystem;

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sm_sched_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto s = OpenSqliteStore((dir_ / "state.db").string(), &clock_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->BindCampaign("c", true, true).ok());
    Recipient r;
    r.email = r.key = "a@example.com";
    ASSERT_TRUE(store_->AddRecipients({r}).ok());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // Leases the one recipient, settles it with `out` and records the result.
  Transition Attempt(Scheduler& s, Outcome out) {
    auto batch = s.NextBatch();
    EXPECT_TRUE(batch.ok());
    EXPECT_EQ(batch->size(), 1u);
    Transition t;
    t.id = (*batch)[0].id;
    s.Settle((*batch)[0], out, &t);
    EXPECT_TRUE(store_->Record({t}).ok());
    return t;
  }

  static Outcome Transient() { return {Outcome::Kind::kTransient, "451 4.7.1 later", false}; }

  fs::path dir_;
  FakeClock clock_{1795608950};
  std::unique_ptr<Store> store_;
};

TEST_F(SchedulerTest, PermanentRefusalFailsAndSuppresses) {
  Scheduler s(store_.get(), clock_, SchedulePolicy{}, 1);
  Transition t = Attempt(s, {Outcome::Kind::kPermanent, "550 5.1.1 unknown user", false});
  EXPECT_EQ(t.state, DeliveryState::kFailed);
  EXPECT_TRUE(t.suppress);
  EXPECT_EQ(t.detail, "550 5.1.1 unknown user");
}

TEST_F(SchedulerTest, TransientFailuresBackOffExponentiallyWithJitter) {
  SchedulePolicy p;
  p.retry = {60, 3 * 86400};
  Scheduler s(store_.get(), clock_, p, 42);
  int64_t base = 60;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    Transition t = Attempt(s, Transient());
    ASSERT_EQ(t.state, DeliveryState::kDeferred);
    int64_t wait = t.retry_at - clock_.NowUnix();
    EXPECT_GE(wait, base * 3 / 4) << "attempt " << attempt;
    EXPECT_LE(wait, base * 5 / 4 + 1) << "attempt " << attempt;
    EXPECT_EQ(*s.NextDue(), t.retry_at);
    // Not due before retry_at.
    EXPECT_TRUE(s.NextBatch()->empty());
    clock_.AdvanceSeconds(wait);
    base *= 2;
  }
}

TEST_F(SchedulerTest, MaxAttemptsEndsRetries) {
  SchedulePolicy p;
  p.retry = {10, 86400};
  p.max_attempts = 3;
  Scheduler s(store_.get(), clock_, p, 7);
  for (int i = 0; i < 2; ++i) {
    Transition t = Attempt(s, Transient());
    ASSERT_EQ(t.state, DeliveryState::kDeferred);
    clock_.AdvanceSeconds(t.retry_at - clock_.NowUnix());
  }
  Transition t = Attempt(s, Transient());
  EXPECT_EQ(t.state, DeliveryState::kFailed);
  EXPECT_FALSE(t.suppress);  // a 4xx never suppresses
  EXPECT_NE(t.detail.find("gave up after 3 attempts"), std::string::npos) << t.detail;
}

TEST_F(SchedulerTest, MaxAgeCountsFromTheFirstAttemptAndAllowsALastTry) {
  SchedulePolicy p;
  p.retry = {3600, 4 * 3600};  // waits 1h, then capped so the last try is at 4h
  Scheduler s(store_.get(), clock_, p, 3);
  const int64_t first = clock_.NowUnix();
  int tries = 0;
  for (;;) {
    Transition t = Attempt(s, Transient());
    ++tries;
    if (t.state == DeliveryState::kFailed) {
      EXPECT_NE(t.detail.find("gave up after max_age"), std::string::npos) << t.detail;
      EXPECT_GE(clock_.NowUnix() - first, 4 * 3600);
      break;
    }
    ASSERT_EQ(t.state, DeliveryState::kDeferred);
    EXPECT_LE(t.retry_at, first + 4 * 3600);  // never scheduled past max_age
    clock_.AdvanceSeconds(t.retry_at - clock_.NowUnix());
    ASSERT_LT(tries, 20);
  }
  EXPECT_GE(tries, 3);
}

TEST_F(SchedulerTest, UncertainOutcomeIsRetriedAndCounted) {
  Scheduler s(store_.get(), clock_, SchedulePolicy{}, 1);
  Transition t = Attempt(s, {Outcome::Kind::kUncertain, "connection lost after .", false});
  EXPECT_EQ(t.state, DeliveryState::kDeferred);
  EXPECT_TRUE(t.uncertain);
  EXPECT_NE(t.detail.find("same Message-ID"), std::string::npos);
  EXPECT_EQ(store_->Counts()->possible_duplicates, 1u);
}

TEST_F(SchedulerTest, StopRunLeavesTheRecipientDueNow) {
  Scheduler s(store_.get(), clock_, SchedulePolicy{}, 1);
  Transition t = Attempt(s, {Outcome::Kind::kTransient, "disk full", true});
  EXPECT_EQ(t.state, DeliveryState::kDeferred);
  EXPECT_EQ(t.retry_at, clock_.NowUnix());
  EXPECT_EQ(s.NextBatch()->size(), 1u);
}

TEST_F(SchedulerTest, WaitUntilSleepsOnTheClockAndStopsOnRequest) {
  Scheduler s(store_.get(), clock_, SchedulePolicy{}, 1);
  int64_t slept = 0;
  auto sleep = [&](int64_t ns) {
    slept += ns;
    clock_.AdvanceSeconds(1);  // coarse: the fake clock moves a second per slice
  };
  const int64_t due = clock_.NowUnix() + 5;
  EXPECT_TRUE(s.WaitUntil(due, nullptr, sleep));
  EXPECT_GE(clock_.NowUnix(), due);
  EXPECT_GT(slept, 0);
  std::atomic<bool> stop{true};
  EXPECT_FALSE(s.WaitUntil(clock_.NowUnix() + 100, &stop, sleep));
}

TEST_F(SchedulerTest, BatchesGrowWhileQuickAndSmallAndShrinkWhenSlow) {
  std::vector<Recipient> more;
  for (int i = 0; i < 40; ++i) {
    Recipient r;
    r.email = r.key = "r" + std::to_string(i) + "@example.com";
    more.push_back(r);
  }
  ASSERT_TRUE(store_->AddRecipients(more).ok());
  SchedulePolicy p;
  p.batch = 2;
  p.max_batch = 8;
  Scheduler s(store_.get(), clock_, p, 1);
  constexpr int64_t kMs = 1000000;
  EXPECT_EQ(s.NextBatch()->size(), 2u);  // the lease follows the size
  s.Observe({2, 2 * 3000, 1 * kMs});     // quick and small: doubles
  EXPECT_EQ(s.batch_size(), 4u);
  EXPECT_EQ(s.NextBatch()->size(), 4u);
  s.Observe({3, 3 * 3000, 1 * kMs});  // a short batch says nothing
  EXPECT_EQ(s.batch_size(), 4u);
  s.Observe({4, 4 * 3000, 60 * kMs});  // neither quick nor slow
  EXPECT_EQ(s.batch_size(), 4u);
  s.Observe({4, 4 * 3000, 1 * kMs});
  s.Observe({8, 8 * 3000, 1 * kMs});  // at max_batch: stays
  EXPECT_EQ(s.batch_size(), 8u);
  EXPECT_EQ(s.NextBatch()->size(), 8u);
  s.Observe({8, 8 * 3000, 600 * kMs});  // slow: halves, down to `batch`
  EXPECT_EQ(s.batch_size(), 4u);
  s.Observe({4, 4 * 3000, 600 * kMs});
  s.Observe({2, 2 * 3000, 600 * kMs});
  EXPECT_EQ(s.batch_size(), 2u);
  // Large messages: twice the batch would pass 16 MiB, so it does not grow.
  s.Observe({2, 2 * (5u << 20), 1 * kMs});
  EXPECT_EQ(s.batch_size(), 2u);
  s.Observe({2, 2 * (3u << 20), 1 * kMs});  // 4 × 3 MiB fits
  EXPECT_EQ(s.batch_size(), 4u);
}

TEST(DescribeWait, ReadsLikeAPerson) {
  EXPECT_EQ(DescribeWait(0), "now");
  EXPECT_EQ(DescribeWait(40), "in 40s");
  EXPECT_EQ(DescribeWait(125), "in 2m 5s");
  EXPECT_EQ(DescribeWait(2 * 3600 + 5 * 60 + 9), "in 2h 5m");
  EXPECT_EQ(DescribeWait(3 * 86400 + 3600), "in 3d 1h");
}

}  // namespace
}  // namespace sealmail
