#include "bounce/bounce.h"

#include <gtest/gtest.h>

namespace sealmail {
namespace {

using K = BounceVerdict::Kind;
using St = BounceInput::Stage;

TEST(Bounce, Classify) {
  struct Case {
    St stage;
    int code;
    bool lost, policy;
    K want;
    bool close, stop, pause;
  };
  const std::vector<Case> cases = {
      {St::kDone, 250, false, false, K::kDelivered, false, false, false},
      {St::kRcpt, 450, false, false, K::kTransient, false, false, false},
      {St::kMail, 451, false, false, K::kTransient, false, false, false},
      {St::kDataEnd, 452, false, false, K::kTransient, false, false, false},
      {St::kRcpt, 550, false, false, K::kPermanent, false, false, false},
      {St::kDataEnd, 554, false, false, K::kPermanent, false, false, false},
      {St::kRcpt, 421, true, false, K::kTransient, true, false, true},
      {St::kRcpt, 0, true, false, K::kTransient, true, false, false},
      {St::kData, 0, true, false, K::kTransient, true, false, false},
      {St::kDataEnd, 0, true, false, K::kUncertain, true, false, false},
      {St::kSession, 0, true, false, K::kTransient, true, false, true},   // refused, hung
      {St::kSession, 421, true, false, K::kTransient, true, false, true},
      {St::kSession, 535, true, true, K::kTransient, true, true, false},  // AUTH refused
      {St::kSession, 0, true, true, K::kTransient, true, true, false},    // tls=required
      {St::kSession, 554, true, false, K::kTransient, true, true, false},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    BounceInput in{c.stage, c.code, c.lost, c.policy, "x", false};
    BounceVerdict got = Classify(in);
    EXPECT_EQ(got.kind, c.want) << i;
    EXPECT_EQ(got.close_connection, c.close) << i;
    EXPECT_EQ(got.stop_run, c.stop) << i;
    EXPECT_EQ(got.pause_destination, c.pause) << i;
    EXPECT_FALSE(got.try_next_host) << i;
  }
}

// MX delivery: a session that cannot be opened with one MX host (refused,
// hung, 4xx/5xx greeting, TLS trouble) sends the message to the next host
// and pauses this one; it never stops the run. Transactions are judged as
// with a relay.
TEST(Bounce, MxSessionFailuresTryTheNextHost) {
  struct Case {
    int code;
    bool policy;
  };
  for (Case c : {Case{0, false}, Case{421, false}, Case{554, false}, Case{0, true}}) {
    BounceInput in{St::kSession, c.code, true, c.policy, "x", true};
    BounceVerdict got = Classify(in);
    EXPECT_EQ(got.kind, K::kTransient) << c.code;
    EXPECT_TRUE(got.try_next_host) << c.code;
    EXPECT_TRUE(got.pause_destination) << c.code;
    EXPECT_FALSE(got.stop_run) << c.code;
  }
  BounceInput rcpt{St::kRcpt, 550, false, false, "x", true};
  BounceVerdict got = Classify(rcpt);
  EXPECT_EQ(got.kind, K::kPermanent);
  EXPECT_FALSE(got.try_next_host);
}

TEST(Bounce, RetryDelayDoublesWithJitterUntilMaxAge) {
  RetryPolicy p{60, 3600};
  EXPECT_EQ(RetryDelaySeconds(p, 1, 0.5), 60);
  EXPECT_EQ(RetryDelaySeconds(p, 2, 0.5), 120);
  EXPECT_EQ(RetryDelaySeconds(p, 3, 0.5), 240);
  EXPECT_EQ(RetryDelaySeconds(p, 1, 0.0), 45);
  EXPECT_EQ(RetryDelaySeconds(p, 1, 0.999999), 75);
  EXPECT_EQ(RetryDelaySeconds(p, 6, 0.5), 1800);  // capped at max_age/2
  // waited 60*(2^6-1) = 3780 >= 3600 after 7 attempts: give up
  EXPECT_EQ(RetryDelaySeconds(p, 7, 0.5), -1);
  for (int a = 1; a < 7; ++a) {
    for (double r : {0.0, 0.3, 0.99}) {
      int64_t d = RetryDelaySeconds(p, a, r);
      EXPECT_GE(d, 1);
      EXPECT_LE(d, 3600);
    }
  }
}

}  // namespace
}  // namespace sealmail
