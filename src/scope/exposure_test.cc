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

namespace sealmail {
namespace {

TEST(ExposureTest, OverlappingBatchesShareViewers) {
  // Two batches that overlap in b and c; the same batch sent twice is one
  // receiver list.
  ExposureGraph g;
  std::vector<std::string> b1 = {"a@x", "b@x", "c@x"};
  std::vector<std::string> b2 = {"b@x", "c@x", "d@x", "e@x"};
  g.AddMessage("<1>", 0, b1, b1);
  g.AddMessage("<2>", 0, b2, b2);
  g.AddMessage("<3>", 0, b1, b1);
  g.AddMessage("<4>", 0, {}, {"z@x"});
  EXPECT_EQ(g.summary().exposing_messages, 3u);
  EXPECT_EQ(g.summary().no_receivers, 1u);
  EXPECT_EQ(g.exposed_count(), 5u);
  std::map<std::string, uint64_t> seen;
  std::map<std::string, size_t> msgs;
  g.ForEachExposed(false, [&](const ExposedAddress& e) {
    seen[std::string(e.address)] = e.seen_by;
    msgs[std::string(e.address)] = e.message_ids.size();
    EXPECT_TRUE(e.viewers.empty());
  });
  EXPECT_EQ(seen, (std::map<std::string, uint64_t>{
                      {"a@x", 2}, {"b@x", 4}, {"c@x", 4}, {"d@x", 3}, {"e@x", 3}}));
  EXPECT_EQ(msgs["b@x"], 3u);
  EXPECT_EQ(g.viewers().at("b@x"), (std::set<std::string>{"a@x", "c@x", "d@x", "e@x"}));
}

}  // namespace
}  // namespace sealmail
