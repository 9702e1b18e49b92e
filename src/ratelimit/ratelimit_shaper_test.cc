#include "ratelimit/ratelimit_shaper.h"

#include <gtest/gtest.h>

namespace sealmail {
namespace {

// A greedy sender on fake time (FakeClock advanced a second at a time) for
// 30 seconds: the listed domain gets its own rate, everything together the
// global rate, each within 5% (the one-second initial burst included in
// `want`).
TEST(DestinationShaper, RatesHoldOverThirtySeconds) {
  FakeClock clock(1700000000);
  DestinationShaper s(200, 0, {{"gmail.com", 50, 0}, {"slow.example", 5, 0}}, &clock);
  int a = s.ClassOf("gmail.com"), b = s.ClassOf("slow.example"), other = s.ClassOf("x.example");
  ASSERT_EQ(other, 0);
  double got[3] = {0, 0, 0};
  for (int sec = 0; sec < 30; ++sec) {
    for (int i = 0; i < 100000; ++i) {  // bounded
      bool any = false;
      for (int c : {a, b, other}) {
        if (s.TryStart(c) == 0) {
          s.Finish(c);
          ++got[c];
          any = true;
        }
      }
      if (!any) break;
    }
    clock.AdvanceSeconds(1);
  }
  auto near = [](double got, double want) { EXPECT_NEAR(got, want, want * 0.05); };
  near(got[a], 50 * 30);
  near(got[b], 5 * 30);
  near(got[0] + got[a] + got[b], 200 * 30);
}

TEST(DestinationShaper, ConcurrencyPerDomainAndGlobal) {
  FakeClock clock(1700000000);
  DestinationShaper s(0, 3, {{"gmail.com", 0, 2}}, &clock);
  int a = s.ClassOf("gmail.com");
  EXPECT_EQ(s.TryStart(a), 0);
  EXPECT_EQ(s.TryStart(a), 0);
  EXPECT_EQ(s.TryStart(a), DestinationShaper::kUntilFinish);  // domain full
  EXPECT_EQ(s.TryStart(0), 0);
  EXPECT_EQ(s.TryStart(0), DestinationShaper::kUntilFinish);  // global full
  s.Finish(a);
  EXPECT_EQ(s.in_flight(a), 1);
  EXPECT_EQ(s.TryStart(a), 0);
  EXPECT_EQ(s.in_flight(0), 3);
}

TEST(DestinationShaper, ABlockedDomainDoesNotSpendGlobalTokens) {
  FakeClock clock(1700000000);
  DestinationShaper s(2, 0, {{"gmail.com", 1, 0}}, &clock);
  int a = s.ClassOf("gmail.com");
  EXPECT_EQ(s.TryStart(a), 0);
  s.Finish(a);
  EXPECT_EQ(s.TryStart(a), 1000000000);  // the domain's bucket is empty for 1 s
  EXPECT_EQ(s.TryStart(0), 0);           // the global bucket still has its second token
  s.Finish(0);
  EXPECT_GT(s.TryStart(0), 0);
}

TEST(DestinationShaper, HandOverPassesTheSlotOnlyWhenTheNextMayStart) {
  FakeClock clock(1700000000);
  DestinationShaper s(0, 2, {{"gmail.com", 0, 1}, {"slow.example", 1, 0}}, &clock);
  int a = s.ClassOf("gmail.com"), slow = s.ClassOf("slow.example");
  ASSERT_EQ(s.TryStart(a), 0);
  ASSERT_EQ(s.TryStart(0), 0);  // global full (2)
  // gmail's slot passes to the next gmail message: counts unchanged.
  EXPECT_EQ(s.TryHandOver(a, a), 0);
  EXPECT_EQ(s.in_flight(a), 1);
  EXPECT_EQ(s.in_flight(0), 2);
  // From class 0 to gmail: gmail is full (its one slot is taken), so
  // nothing changes.
  EXPECT_EQ(s.TryHandOver(0, a), DestinationShaper::kUntilFinish);
  EXPECT_EQ(s.in_flight(a), 1);
  EXPECT_EQ(s.in_flight(0), 2);
  // gmail to slow: slow's first token is there; then its bucket is empty
  // and a second hand-over waits for the token without changing anything.
  EXPECT_EQ(s.TryHandOver(a, slow), 0);
  EXPECT_EQ(s.in_flight(a), 0);
  EXPECT_EQ(s.in_flight(slow), 1);
  EXPECT_EQ(s.TryHandOver(slow, slow), 1000000000);
  EXPECT_EQ(s.in_flight(slow), 1);
  EXPECT_EQ(s.in_flight(0), 2);
}

}  // namespace
}  // namespace sealmail
