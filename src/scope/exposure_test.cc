#include <gtest/gtest.h>

#include "scope/exposure.h"

namespace sealmail {
namespace {

TEST(ExposureTest, OwnAddressIsNoExposure) {
  ExposureGraph g;
  g.AddMessage("<1@x>", 100, {"a@example.com"}, {"a@example.com"});
  g.AddMessage("<2@x>", 200, {"b@example.com"}, {"b@example.com"});
  EXPECT_EQ(g.summary().messages, 2u);
  EXPECT_EQ(g.summary().recipients, 2u);
  EXPECT_EQ(g.summary().exposing_messages, 0u);
  EXPECT_TRUE(g.viewers().empty());
}

TEST(ExposureTest, BatchWithVisibleToExposesEveryoneToEveryoneElse) {
  // The incident's shape: one message to three customers in a visible To.
  ExposureGraph g;
  std::vector<std::string> batch = {"a@example.com", "b@example.com", "c@example.com"};
  g.AddMessage("<batch@x>", 100, batch, batch);
  g.AddMessage("<clean@x>", 50, {"d@example.com"}, {"d@example.com"});
  EXPECT_EQ(g.summary().exposing_messages, 1u);
  EXPECT_EQ(g.summary().largest_exposure, 3u);
  EXPECT_EQ(g.summary().largest_message_id, "<batch@x>");
  ASSERT_EQ(g.viewers().size(), 3u);
  EXPECT_EQ(g.viewers().at("a@example.com"),
            (std::set<std::string>{"b@example.com", "c@example.com"}));
  EXPECT_EQ(g.summary().first_at, 50);
  EXPECT_EQ(g.summary().last_at, 100);
}

}  // namespace
}  // namespace sealmail
