// VisitVisibleAddresses: every distinct token once, in the first view that
// holds it, named as before the walk reported them lazily.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "mime/mime_visible.h"

namespace sealmail {
namespace {

std::map<std::string, std::string> Visit(const std::string& msg, bool raw) {
  DecodedMessage d = DecodeMessage(msg);
  std::map<std::string, std::string> got;  // token -> where
  VisitVisibleAddresses(d.root, raw ? std::string_view(msg) : std::string_view(),
                        [&](const AddressToken& t, const VisibleWhere& where) {
                          std::string tok = std::string(t.local) + "@" + std::string(t.domain);
                          EXPECT_EQ(got.count(tok), 0u) << "reported twice: " << tok;
                          got[tok] = where.ToString();
                        });
  return got;
}

TEST(MimeVisibleTest, EachTokenOnceInItsFirstView) {
  const std::string msg =
      "From: a@x.example\r\nTo: b@x.example\r\nSubject: =?UTF-8?Q?c=40x.example?=\r\n"
      "Content-Type: multipart/mixed; boundary=B\r\n\r\npre d@x.example\r\n--B\r\n"
      "Content-Type: text/plain\r\n\r\na@x.example b@x.example e@x.example\r\n--B\r\n"
      "Content-Type: text/html; name=\"f.html\"\r\nContent-Transfer-Encoding: quoted-printable\r\n"
      "\r\nf&#64;x.example g%40x.example e@x.exa=\r\nmple\r\n--B\r\n"
      "Content-Type: message/rfc822\r\n\r\nFrom: h@x.example\r\n\r\ni@x.example\r\n--B--\r\n";
  auto got = Visit(msg, true);
  std::map<std::string, std::string> want = {
      {"a@x.example", "header From"},
      {"b@x.example", "header To"},
      {"c@x.example", "header Subject"},
      {"e@x.example", "part 1 (text/plain), body"},
      {"f@x.example", "part 2 (text/html), body \"f.html\" (HTML entities decoded)"},
      {"g@x.example", "part 2 (text/html), body \"f.html\" (URL-decoded)"},
      {"h@x.example", "part 3 (message/rfc822), attached message, header From"},
      {"i@x.example", "part 3 (message/rfc822), attached message, body"},
      {"d@x.example", "message bytes"},       // the preamble is only in the raw bytes
      {"e@x.exa", "message bytes"},           // the raw quoted-printable soft break
  };
  for (const auto& [tok, where] : want) {
    ASSERT_EQ(got.count(tok), 1u) << tok;
    EXPECT_EQ(got[tok], where) << tok;
  }
  EXPECT_EQ(Visit(msg, false).count("d@x.example"), 0u);
}

TEST(MimeVisibleTest, ALabelTwinAndTopLevelBody) {
  auto got = Visit("Subject: hi\r\n\r\nkunde@b\xc3\xbc" "cher.example kunde@b\xc3\xbc" "cher.example\r\n",
                   false);
  EXPECT_EQ(got["kunde@xn--bcher-kva.example"], "body (text/plain)");
  EXPECT_EQ(got["kunde@b\xc3\xbc" "cher.example"], "body (text/plain)");
}

}  // namespace
}  // namespace sealmail
