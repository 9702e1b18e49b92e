#include <gtest/gtest.h>

#include "audit/audit.h"

namespace sealmail {
namespace {

TEST(AuditTest, RedactsToOneShortLine) {
  EXPECT_EQ(RedactDetail("250 2.0.0 Ok\r\nqueued"), "250 2.0.0 Ok  queued");
  EXPECT_EQ(RedactDetail(std::string(1000, 'x')).size(), kMaxDetail);
}

TEST(AuditTest, FoundRoundTrips) {
  std::vector<std::string> want = {"jo@example.net", "al@xn--bcher-kva.example"};
  EXPECT_EQ(SplitFound(JoinFound(want)), want);
  EXPECT_TRUE(SplitFound("").empty());
}

}  // namespace
}  // namespace sealmail
