#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "guard/guard.h"

namespace sealmail {
namespace {

const Guard& TheGuard() {
  static const Guard g({"support@example.com", "Unsubscribe@Example.com"},
                       std::make_shared<AudienceSet>());
  return g;
}

std::string Msg(std::string headers) {
  return headers + "Subject: s\r\nMIME-Version: 1.0\r\n\r\nbody\r\n";
}

TEST(GuardTest, PassesAOneRecipientMessage) {
  std::vector<GuardViolation> v;
  auto got = TheGuard().Check(Msg("From: Ex <support@example.com>\r\nTo: jo@example.net\r\n"
                                  "Reply-To: support@EXAMPLE.com\r\n"),
                              "support@example.com", {"jo@example.net"}, "jo@example.net",
                              "<m@x>", &v);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(got->recipient(), "jo@example.net");
  EXPECT_EQ(got->message_id(), "<m@x>");
}

TEST(GuardTest, BlocksEveryWayOfNamingASecondRecipient) {
  struct Case {
    std::string name, headers;
    std::vector<std::string> envelope;
    std::string where;
  } cases[] = {
      {"two in To", "From: support@example.com\r\nTo: jo@example.net, al@example.net\r\n",
       {"jo@example.net"}, "header To"},
      {"other in To", "From: support@example.com\r\nTo: al@example.net\r\n", {"jo@example.net"},
       "header To"},
      {"second To", "From: support@example.com\r\nTo: jo@example.net\r\nTo: al@example.net\r\n",
       {"jo@example.net"}, "header To"},
      {"no To", "From: support@example.com\r\n", {"jo@example.net"}, "header To"},
      {"Cc", "From: support@example.com\r\nTo: jo@example.net\r\nCc: al@example.net\r\n",
       {"jo@example.net"}, "header Cc"},
      {"bcc lower", "From: support@example.com\r\nTo: jo@example.net\r\nbcc: al@example.net\r\n",
       {"jo@example.net"}, "header bcc"},
      {"Resent-To", "From: support@example.com\r\nTo: jo@example.net\r\nResent-To: al@example.net\r\n",
       {"jo@example.net"}, "header Resent-To"},
      {"Reply-To customer", "From: support@example.com\r\nTo: jo@example.net\r\nReply-To: al@example.net\r\n",
       {"jo@example.net"}, "header Reply-To"},
      {"From customer", "From: al@example.net\r\nTo: jo@example.net\r\n", {"jo@example.net"},
       "header From"},
      {"two envelope", "From: support@example.com\r\nTo: jo@example.net\r\n",
       {"jo@example.net", "al@example.net"}, "envelope"},
      {"wrong envelope", "From: support@example.com\r\nTo: jo@example.net\r\n",
       {"al@example.net"}, "envelope"},
      {"folded To", "From: support@example.com\r\nTo: jo@example.net,\r\n al@example.net\r\n",
       {"jo@example.net"}, "header To"},
  };
  for (const auto& c : cases) {
    std::vector<GuardViolation> v;
    auto got = TheGuard().Check(Msg(c.headers), "support@example.com", c.envelope,
                                "jo@example.net", "<m@x>", &v);
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_EQ(got.status().code(), Status::Code::kBlocked) << c.name;
    ASSERT_FALSE(v.empty()) << c.name;
    bool found = false;
    for (const auto& x : v) found |= x.where == c.where;
    EXPECT_TRUE(found) << c.name << ": " << got.status().message();
    // Reports never print a full customer address.
    EXPECT_EQ(got.status().message().find("al@example.net"), std::string::npos) << c.name;
  }
}

TEST(GuardTest, MasksAddresses) {
  EXPECT_EQ(MaskAddress("john@example.com"), "j***@example.com");
  EXPECT_EQ(MaskAddress("nobody"), "***");
}

}  // namespace
}  // namespace sealmail

namespace sealmail {
namespace {

// Each other member is reported once however often the message names it,
// also past the size where the guard's set of found members changes form.
TEST(GuardTest, ReportsEveryOtherMemberOnceInALongList) {
  auto set = std::make_shared<AudienceSet>();
  std::string body;
  for (int i = 0; i < 40; ++i) {
    std::string a = "m" + std::to_string(i) + "@d" + std::to_string(i) + ".example.net";
    set->AddSpelling(a);
    std::string upper = a;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (i > 0) body += a + ", " + upper + "\r\n";  // twice each: two tokens, one member
  }
  set->AddSpelling("jo@example.net");
  Guard g({"support@example.com"}, set);
  std::vector<GuardViolation> v;
  auto got = g.Check("From: support@example.com\r\nTo: m0@d0.example.net\r\n\r\n" + body + body,
                     "support@example.com", {"m0@d0.example.net"}, "m0@d0.example.net", "<m@x>", &v);
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(v.size(), 39u);
  std::set<std::string> what;
  for (const auto& x : v) what.insert(x.what);
  EXPECT_EQ(what.size(), 39u);
}

}  // namespace
}  // namespace sealmail
