// The leak guard against adversarial messages: every way of hiding another
// audience member's address must be found, and legitimate content must pass.
#include <gtest/gtest.h>

#include "address/address.h"
#include "guard/guard.h"
#include "mime/mime_encode.h"

namespace sealmail {
namespace {

std::shared_ptr<AudienceSet> Audience() {
  auto set = std::make_shared<AudienceSet>();
  for (const char* a : {"jo@example.net", "al@example.net", "Kunde@bücher.example",
                        "Ömer@example.org", "big.boss@corp.example.com"}) {
    auto parsed = ParseAddress(a);
    EXPECT_TRUE(parsed.ok()) << a;
    set->Add(*parsed);
  }
  return set;
}

const Guard& TheGuard() {
  static const Guard g({"support@example.com"}, Audience());
  return g;
}

const char kHead[] =
    "From: Example <support@example.com>\r\nTo: jo@example.net\r\nSubject: Hello\r\n"
    "MIME-Version: 1.0\r\n";

std::string Plain(const std::string& body, const std::string& cte = "quoted-printable",
                  const std::string& extra_headers = "") {
  return std::string(kHead) + extra_headers + "Content-Type: text/plain; charset=utf-8\r\n" +
         "Content-Transfer-Encoding: " + cte + "\r\n\r\n" + body;
}

Result<GuardedMessage> Check(const std::string& msg, std::vector<GuardViolation>* v) {
  return TheGuard().Check(msg, "support@example.com", {"jo@example.net"}, "jo@example.net",
                          "<m@x>", v);
}

TEST(GuardScanTest, FindsOtherAudienceMembersHoweverTheyAreHidden) {
  struct Case {
    std::string name, message, where;
  } cases[] = {
      {"plain body", Plain("refer al@example.net\r\n", "7bit"), "body (text/plain)"},
      {"upper case", Plain("AL@EXAMPLE.NET\r\n", "7bit"), "body"},
      {"qp soft break", Plain("al@exa=\r\nmple.net\r\n"), "body"},
      {"qp hex", Plain("al=40example=2Enet\r\n"), "body"},
      {"base64", Plain(EncodeBase64Lines("your friend al@example.net says hi"), "base64"),
       "body"},
      {"encoded-word subject",
       std::string("From: support@example.com\r\nTo: jo@example.net\r\n"
                   "Subject: =?UTF-8?B?") +
           EncodeBase64("from al@example.net") + "?=\r\n\r\nx\r\n",
       "header Subject"},
      {"q-encoded display name",
       "From: support@example.com\r\nTo: =?UTF-8?Q?al=40example=2Enet?= <jo@example.net>\r\n\r\nx\r\n",
       "header To"},
      {"html entities", Plain("<p>al&#64;example&#46;net</p>\r\n", "7bit"), "HTML entities"},
      {"named entities", Plain("al&commat;example&period;net\r\n", "7bit"), "HTML entities"},
      {"percent mailto", Plain("<a href=\"mailto:al%40example.net\">x</a>\r\n", "7bit"),
       "URL-decoded"},
      {"url parameter", Plain("https://x.example/r?email=al@example.net&x=1\r\n", "7bit"),
       "body"},
      {"IDN as A-label", Plain("kunde@xn--bcher-kva.example\r\n", "7bit"), "body"},
      {"IDN as U-label, upper case", Plain("KUNDE@BÜCHER.example\r\n", "8bit"),
       "body"},
      {"non-ASCII local part", Plain("Ömer@example.org\r\n", "8bit"), "body"},
      {"sentence end", Plain("Write to big.boss@corp.example.com.Thanks\r\n", "7bit"), "body"},
      {"pasted list", Plain("customers: jo@example.net, al@example.net; big.boss@corp.example.com\r\n", "7bit"),
       "body"},
      {"attachment",
       std::string(kHead) +
           "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
           "hi\r\n--b\r\nContent-Type: text/csv; name=list.csv\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
           EncodeBase64Lines("email\r\nal@example.net\r\n") + "--b--\r\n",
       "list.csv"},
      {"forwarded message",
       std::string(kHead) +
           "Content-Type: message/rfc822\r\n\r\nFrom: al@example.net\r\nTo: x@y.example\r\n\r\nhi\r\n",
       "attached message"},
      {"latin-1 part",
       std::string(kHead) +
           "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
           "Gr=FC=DFe al=40example.net\r\n",
       "body"},
      {"dkim i= tag",
       "DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=s; i=al@example.net; h=from; bh=x; b=y\r\n" +
           Plain("x\r\n", "7bit"),
       "header DKIM-Signature"},
      {"reply-to member", std::string("Reply-To: al@example.net\r\n") + Plain("x\r\n", "7bit"),
       "header Reply-To"},
  };
  for (const auto& c : cases) {
    std::vector<GuardViolation> v;
    auto got = Check(c.message, &v);
    ASSERT_FALSE(got.ok()) << c.name;
    EXPECT_EQ(got.status().code(), Status::Code::kBlocked) << c.name;
    bool where = false;
    for (const auto& x : v) where |= x.where.find(c.where) != std::string::npos;
    EXPECT_TRUE(where) << c.name << ": want a violation in " << c.where << ", got\n"
                       << got.status().message();
    EXPECT_EQ(got.status().message().find("al@example.net"), std::string::npos) << c.name;
  }
}

TEST(GuardScanTest, LegitimateMessagesPass) {
  struct Case {
    std::string name, message;
  } cases[] = {
      {"own address in body", Plain("This mail was sent to jo@example.net.\r\n", "7bit")},
      {"own address upper case", Plain("JO@EXAMPLE.NET\r\n", "7bit")},
      {"own address percent-encoded", Plain("https://x.example/u?e=jo%40example.net\r\n", "7bit")},
      {"support address", Plain("Questions? support@example.com\r\n", "7bit")},
      {"non-member", Plain("Our partner: news@partner.example\r\n", "7bit")},
      {"similar but different", Plain("xal@example.net al@example.network\r\n", "7bit")},
  };
  for (const auto& c : cases) {
    std::vector<GuardViolation> v;
    auto got = Check(c.message, &v);
    EXPECT_TRUE(got.ok()) << c.name << ": " << got.status().message();
    if (got.ok()) {
      EXPECT_LE(got->found().size(), 1u) << c.name;
    }
  }
  std::vector<GuardViolation> v;
  auto got = Check(Plain("sent to jo@example.net\r\n", "7bit"), &v);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->found().size(), 1u);
  EXPECT_EQ(got->found()[0], "jo@example.net");
}

}  // namespace
}  // namespace sealmail
