#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scope/scope_csv.h"
#include "scope/scope_message.h"
#include "scope/scope_reader.h"

namespace sealmail {
namespace {

struct Split {
  std::string message;
  uint64_t offset;
  std::string problem;
  bool operator==(const Split&) const = default;
};

std::vector<Split> SplitAll(std::string_view mbox, size_t piece, size_t max = kMaxMessageBytes) {
  std::vector<Split> got;
  MboxSplitter s(
      [&](std::string_view m, uint64_t off, std::string_view p) {
        got.push_back({std::string(m), off, std::string(p)});
      },
      max);
  for (size_t i = 0; i < mbox.size(); i += piece) s.Feed(mbox.substr(i, piece));
  s.Finish();
  return got;
}

TEST(MboxSplitterTest, SplitsOnFromLinesAndUnquotesMboxrd) {
  std::string mbox =
      "From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n>>From there\nFromage\n\n"
      "From b@x Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody\n";
  std::vector<Split> want = {
      // The blank line before the next From_ line belongs to the separator.
      {"Subject: one\n\nFrom here\n>From there\nFromage\n", 0, ""},
      {"Subject: two\n\nbody\n", 81, ""},
  };
  for (size_t piece : {1, 2, 3, 5, 6, 7, 64, 4096}) {
    EXPECT_EQ(SplitAll(mbox, piece), want) << "piece " << piece;
  }
}

TEST(MboxSplitterTest, CrlfAndTruncatedLastMessage) {
  std::string mbox = "From a\r\nA: 1\r\n\r\nx\r\n\r\nFrom b\r\nB: 2\r\n\r\ny";
  auto got = SplitAll(mbox, 3);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message, "A: 1\r\n\r\nx\r\n");
  EXPECT_EQ(got[0].problem, "");
  EXPECT_EQ(got[1].message, "B: 2\r\n\r\ny");
  EXPECT_EQ(got[1].offset, 21u);
  EXPECT_NE(got[1].problem.find("truncated"), std::string::npos);
}

TEST(MboxSplitterTest, OversizedMessageIsSkippedAndOffsetsStayRight) {
  std::string big = "From a\nA: 1\n\n" + std::string(5000, 'z') + "\n";
  std::string mbox = big + "From b\nB: 2\n\nok\n";
  auto got = SplitAll(mbox, 100, 1000);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message, "");
  EXPECT_EQ(got[0].offset, 0u);
  EXPECT_NE(got[0].problem.find("larger than"), std::string::npos);
  EXPECT_EQ(got[1].message, "B: 2\n\nok\n");
  EXPECT_EQ(got[1].offset, big.size());
  EXPECT_EQ(got[1].problem, "");
}

TEST(MboxSplitterTest, FromLineWithoutMessage) {
  auto got = SplitAll("From a\nA: 1\n\nx\nFrom b", 4);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].message, "");
  EXPECT_NE(got[1].problem.find("truncated"), std::string::npos);
}

TEST(AddressListTest, NamesGroupsQuotedCommasComments) {
  int bad = 0;
  auto got = ParseAddressList(
      "\"Doe, John\" <John@Example.COM>, team: a@x.example, (c) B@x.example;, "
      "=?utf-8?q?J=C3=BCrgen?= <j@b\xC3\xBC" "cher.example>, not an address, <@relay:r@y.example>",
      &bad);
  std::vector<std::string> want = {"john@example.com", "a@x.example", "b@x.example",
                                   "j@xn--bcher-kva.example", "r@y.example"};
  EXPECT_EQ(got, want);
  EXPECT_EQ(bad, 1);
}

TEST(MailDateTest, Rfc5322AndObsoleteForms) {
  EXPECT_EQ(ParseMailDate("Tue, 1 Jan 2019 10:00:00 +0000"), 1546336800);
  EXPECT_EQ(ParseMailDate("1 Jan 2019 12:00:00 +0200"), 1546336800);
  EXPECT_EQ(ParseMailDate("Tue, 01 Jan 19 05:00 EST"), 1546336800);
  EXPECT_EQ(ParseMailDate("Tue, 1 Jan 2019 10:00:00 +0000 (UTC)"), 1546336800);
  EXPECT_EQ(ParseMailDate("yesterday"), 0);
  EXPECT_EQ(ParseMailDate(""), 0);
}

TEST(ScopeAnalyserTest, ReceiversVisibleAndBadMessages) {
  ScopeAnalyser a(nullptr);
  a.AddMessage(
      "From: s@sender.example\nTo: A@x.example, b@x.example\nMessage-ID: <id1@sender.example>\n"
      "\nhi\n",
      "f", 0);
  a.AddMessage("To: c@x.example\nX-Original-To: c@x.example\n\nplain c@x.example\n", "f", 100);
  a.AddMessage("\x01\x02 junk", "f", 200);
  a.AddMessage("Subject: nobody\n\nto whom\n", "f", 300);
  const auto& s = a.graph().summary();
  EXPECT_EQ(s.messages, 3u);
  EXPECT_EQ(s.bad_messages, 1u);
  EXPECT_EQ(s.no_receivers, 1u);
  EXPECT_EQ(s.recipients, 3u);
  ASSERT_EQ(a.bad().size(), 1u);
  EXPECT_EQ(a.bad()[0].ToString(),
            "f: offset 200: not a mail message: it does not start with a header field");
  auto v = a.graph().viewers();
  // The Message-ID is no address; the sender and both receivers are exposed.
  EXPECT_EQ(v.size(), 3u);
  EXPECT_EQ(v["a@x.example"], (std::set<std::string>{"b@x.example"}));
  EXPECT_EQ(v["s@sender.example"], (std::set<std::string>{"a@x.example", "b@x.example"}));
}

TEST(ScopeAnalyserTest, AudienceRestrictsExposedAndViewers) {
  AudienceSet set;
  set.AddSpelling("a@x.example");
  set.AddSpelling("b@x.example");
  ScopeAnalyser a(&set);
  a.AddMessage("From: s@sender.example\nTo: a@x.example, staff@sender.example\n\n"
               "see b&#64;x.example\n",
               "f", 0);
  auto v = a.graph().viewers();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v["b@x.example"], (std::set<std::string>{"a@x.example"}));
}

TEST(ScopeAnalyserTest, EveryReceiverHeaderCounts) {
  ScopeAnalyser a(nullptr);
  a.AddMessage("To: undisclosed-recipients:;\nBcc: b@x.example\nDelivered-To: d@x.example\n"
               "X-Original-To: o@x.example\nResent-To: r@x.example\nSubject: hi t@x.example\n\n",
               "f", 0);
  EXPECT_EQ(a.graph().summary().recipients, 4u);
  EXPECT_EQ(a.graph().viewers().at("t@x.example").size(), 4u);
}

TEST(ScopeReaderTest, MaildirWithSubfoldersAndDetection) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("sm_scope_md_" + std::to_string(::getpid()));
  fs::remove_all(root);
  for (const char* d : {"cur", "new", "tmp", ".Sent/cur", ".Sent/new"}) fs::create_directories(root / d);
  auto write = [](const fs::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(root / "cur" / "1:2,S", "To: a@x.example, b@x.example\n\nhi\n");
  write(root / "new" / "2", "To: c@x.example\n\nhi\n");
  write(root / ".Sent" / "cur" / "3:2,S", "To: d@x.example, e@x.example\n\nhi\n");
  write(root / "tmp" / "4", "To: f@x.example, g@x.example\n\nnot delivered yet\n");
  write(root / "cur" / ".hidden", "To: h@x.example, i@x.example\n\n");
  auto kind = DetectArchive(root.string());
  ASSERT_TRUE(kind.ok());
  EXPECT_EQ(*kind, ArchiveKind::kMaildir);
  ScopeAnalyser a(nullptr);
  ASSERT_TRUE(ReadArchive(root.string(), *kind, &a).ok());
  EXPECT_EQ(a.graph().summary().messages, 3u);
  EXPECT_EQ(a.graph().exposed_count(), 4u);  // a, b, d, e
  fs::remove_all(root);
}

TEST(ExposedCsvTest, QuotesAndCounts) {
  ExposureGraph g;
  g.AddMessage("<m,1@x>", 0, {"a@x.example", "\"b c\"@x.example"},
               {"a@x.example", "\"b c\"@x.example"});
  EXPECT_EQ(ExposedCsv(g),
            "email,seen_by,messages,message_ids\n"
            "\"\"\"b c\"\"@x.example\",1,1,\"<m,1@x>\"\n"
            "a@x.example,1,1,\"<m,1@x>\"\n");
}

}  // namespace
}  // namespace sealmail
