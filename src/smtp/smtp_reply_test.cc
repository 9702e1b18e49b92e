#include "smtp/smtp_reply.h"

#include <gtest/gtest.h>

namespace sealmail {
namespace {

struct ReplyCase {
  std::string in;
  SmtpParse want;
  int code;
  std::string enhanced;
  std::vector<std::string> lines;
  size_t consumed;
};

TEST(SmtpReply, Table) {
  const std::vector<ReplyCase> cases = {
      {"220 mx.example ESMTP\r\n", SmtpParse::kDone, 220, "", {"mx.example ESMTP"}, 22},
      {"250 2.1.5 Ok\r\n", SmtpParse::kDone, 250, "2.1.5", {"Ok"}, 14},
      {"250\r\n", SmtpParse::kDone, 250, "", {""}, 5},
      {"250 Ok\n", SmtpParse::kDone, 250, "", {"Ok"}, 7},  // bare LF tolerated
      {"250-mx\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", SmtpParse::kDone, 250, "",
       {"mx", "PIPELINING", "SIZE 1000"}, 39},
      {"550-5.1.1 No such\r\n550 5.1.1 user\r\n", SmtpParse::kDone, 550, "5.1.1",
       {"No such", "user"}, 35},
      {"451 4.3.0 x\r\n250 Ok\r\n", SmtpParse::kDone, 451, "4.3.0", {"x"}, 13},  // one at a time
      {"250 2.0.0x\r\n", SmtpParse::kDone, 250, "", {"2.0.0x"}, 12},  // not an enhanced code
      {"550 4.1.1 odd\r\n", SmtpParse::kDone, 550, "", {"4.1.1 odd"}, 15},  // class mismatch
      {"250-mx\r\n", SmtpParse::kNeedMore, 0, "", {}, 0},
      {"250 Ok", SmtpParse::kNeedMore, 0, "", {}, 0},
      {"", SmtpParse::kNeedMore, 0, "", {}, 0},
      {"hello\r\n", SmtpParse::kMalformed, 0, "", {}, 0},
      {"25\r\n", SmtpParse::kMalformed, 0, "", {}, 0},
      {"199 x\r\n", SmtpParse::kMalformed, 0, "", {}, 0},
      {"250_x\r\n", SmtpParse::kMalformed, 0, "", {}, 0},
      {"250-a\r\n251 b\r\n", SmtpParse::kMalformed, 0, "", {}, 0},
      {std::string(5000, '2'), SmtpParse::kMalformed, 0, "", {}, 0},
  };
  for (const auto& c : cases) {
    SmtpReply got;
    size_t used = 99;
    SmtpParse p = ParseSmtpReply(c.in, &got, &used);
    EXPECT_EQ(p, c.want) << c.in;
    EXPECT_EQ(used, c.consumed) << c.in;
    if (c.want == SmtpParse::kDone) {
      EXPECT_EQ(got.code, c.code) << c.in;
      EXPECT_EQ(got.enhanced, c.enhanced) << c.in;
      EXPECT_EQ(got.lines, c.lines) << c.in;
    }
    if (c.want == SmtpParse::kMalformed) {
      ASSERT_EQ(got.lines.size(), 1u) << c.in;  // the reason
    }
  }
}

TEST(SmtpReply, ToString) {
  SmtpReply r;
  size_t used;
  ASSERT_EQ(ParseSmtpReply("451-4.7.1 try\r\n451 4.7.1 later\r\n", &r, &used), SmtpParse::kDone);
  EXPECT_EQ(r.ToString(), "451 4.7.1 try / later");
  EXPECT_TRUE(r.transient());
}

TEST(SmtpDotStuff, Table) {
  struct Case {
    std::string in, want;
  };
  const std::vector<Case> cases = {
      {"", ".\r\n"},
      {"a\r\n", "a\r\n.\r\n"},
      {"a", "a\r\n.\r\n"},
      {".\r\n", "..\r\n.\r\n"},
      {"a\r\n.b\r\n..\r\n", "a\r\n..b\r\n...\r\n.\r\n"},
      {".x", "..x\r\n.\r\n"},
      {"a\nb\n", "a\r\nb\r\n.\r\n"},
      {"a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"},
      {"a.b\r\n", "a.b\r\n.\r\n"},
  };
  for (const auto& c : cases) EXPECT_EQ(DotStuff(c.in), c.want) << c.in;
}

TEST(SmtpUtf8, Needs) {
  EXPECT_FALSE(NeedsSmtpUtf8("To: a@b\r\n\r\nbody \xc3\xa9", "a@b", "c@d"));
  EXPECT_TRUE(NeedsSmtpUtf8("To: \xc3\xa9@b\r\n\r\nbody", "a@b", "c@d"));
  EXPECT_TRUE(NeedsSmtpUtf8("To: x\r\n\r\n", "a@b", "\xc3\xa9@d"));
}

}  // namespace
}  // namespace sealmail
