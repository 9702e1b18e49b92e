#include "ratelimit/ratelimit.h"

#include <gtest/gtest.h>

namespace sealmail {
namespace {

// Over a 30-second run on fake time (advanced a second at a time, so the
// burst is at least a second's worth, as the SMTP transport sets it), a
// greedy sender gets rate*30 (+ the initial burst) tokens, within 5%.
TEST(TokenBucket, HoldsTheRateOverThirtySeconds) {
  struct Case {
    double rate, burst;
  };
  for (Case c : {Case{50, 50}, Case{50, 60}, Case{1000, 1000}, Case{0.5, 1}, Case{7.3, 7.3}}) {
    FakeClock clock(1700000000);
    TokenBucket b(c.rate, c.burst, &clock);
    double got = 0;
    for (int s = 0; s <= 30; ++s) {
      for (int i = 0; i < 100000 && b.TryTake(); ++i) ++got;  // bounded
      if (s < 30) clock.AdvanceSeconds(1);
    }
    double want = c.rate * 30 + c.burst;
    EXPECT_NEAR(got, want, want * 0.05) << c.rate << "/" << c.burst;
  }
}

TEST(TokenBucket, SaysHowLongToWait) {
  FakeClock clock(1700000000);
  TokenBucket b(2, 1, &clock);
  EXPECT_EQ(b.NanosUntilNext(), 0);
  EXPECT_TRUE(b.TryTake());
  EXPECT_FALSE(b.TryTake());
  EXPECT_EQ(b.NanosUntilNext(), 500000000);
  clock.AdvanceSeconds(1);
  EXPECT_TRUE(b.TryTake());
  EXPECT_FALSE(b.TryTake());  // burst 1: the second half-second's token did not accumulate
}

}  // namespace
}  // namespace sealmail
