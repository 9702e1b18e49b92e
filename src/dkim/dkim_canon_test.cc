#include <gtest/gtest.h>

#include <random>

#include "dkim/dkim_internal.h"

namespace sealmail {
namespace {

constexpr DkimCanon kS = DkimCanon::kSimple;
constexpr DkimCanon kR = DkimCanon::kRelaxed;

std::string B64(const std::string& raw) {
  return Base64Encode(reinterpret_cast<const uint8_t*>(raw.data()), raw.size());
}

TEST(DkimCanonTest, Body) {
  struct Case {
    DkimCanon c;
    std::string in, want;
  } cases[] = {
      // RFC 6376 §3.4.5 example body.
      {kR, " C \r\nD \t E\r\n\r\n\r\n", " C\r\nD E\r\n"},
      {kS, " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n"},
      // Empty bodies: simple is one CRLF, relaxed is nothing (§3.4.3/§3.4.4).
      {kS, "", "\r\n"},
      {kR, "", ""},
      {kS, "\r\n\r\n\r\n", "\r\n"},
      {kR, "\r\n \r\n\t\r\n", ""},
      // No final CRLF: one is added.
      {kS, "abc", "abc\r\n"},
      {kR, "abc", "abc\r\n"},
      {kS, "a\r\nb", "a\r\nb\r\n"},
      // Trailing whitespace on a last line without CRLF goes in relaxed: it is
      // the end of a line, and it is what a receiver computes once SMTP has
      // terminated that line. dkimpy 1.1.4 and OpenDKIM 2.11 keep one SP here
      // (docs/dkim.md, "Known differences").
      {kR, "abc \t", "abc\r\n"},
      {kS, "abc \t", "abc \t\r\n"},
      // Trailing blank lines, and blank lines in the middle that stay.
      {kS, "a\r\n\r\nb\r\n\r\n\r\n", "a\r\n\r\nb\r\n"},
      {kR, "a\r\n  \r\nb\r\n \r\n", "a\r\n\r\nb\r\n"},
      // Whitespace runs, leading whitespace kept as one SP.
      {kR, "\t\ta  \t b\t\r\n", " a b\r\n"},
      {kR, "a b c\r\n", "a b c\r\n"},
      // A bare CR is content, not a line end.
      {kS, "a\rb\r\n", "a\rb\r\n"},
      {kR, "a\r \r\n", "a\r\r\n"},
      {kS, "a\r", "a\r\r\n"},
      // 8-bit bytes pass through.
      {kR, "J\xC3\xBCrgen  M\r\n", "J\xC3\xBCrgen M\r\n"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CanonicalizeBody(c.c, c.in), c.want)
        << (c.c == kS ? "simple" : "relaxed") << " " << testing::PrintToString(c.in);
  }
}

// Bodies that need the per-character pass and bodies that do not, around
// the 8-byte word boundaries of the fast check.
TEST(DkimCanonTest, WhitespaceRunsAtEveryOffset) {
  for (size_t pad = 0; pad < 20; ++pad) {
    for (const std::string ws : {"  ", "\t", " \t", "   "}) {
      std::string body = std::string(pad, 'x') + ws + "y\r\n";
      EXPECT_EQ(CanonicalizeBody(kR, body), std::string(pad, 'x') + " y\r\n") << pad;
    }
    std::string single = std::string(pad, 'x') + " y z\r\n";
    EXPECT_EQ(CanonicalizeBody(kR, single), single) << pad;
  }
}

TEST(DkimCanonTest, KnownEmptyBodyHashes) {
  auto s = HashDkimBody(kS, "", DkimSha256());
  auto r = HashDkimBody(kR, "", DkimSha256());
  ASSERT_TRUE(s.ok() && r.ok());
  EXPECT_EQ(B64(s->digest), "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
  EXPECT_EQ(B64(r->digest), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

// A plain reference for the body algorithms: split into lines, transform,
// drop trailing empty lines, join. Slow and obviously right.
std::string ReferenceBody(DkimCanon c, const std::string& body) {
  std::vector<std::string> lines;
  for (size_t pos = 0;;) {
    size_t e = body.find("\r\n", pos);
    lines.push_back(body.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
    if (e == std::string::npos) break;
    pos = e + 2;
  }
  if (c == kR) {
    for (auto& l : lines) {
      std::string o;
      for (char ch : l) {
        bool wsp = ch == ' ' || ch == '\t';
        if (wsp && !o.empty() && o.back() == ' ') continue;
        o.push_back(wsp ? ' ' : ch);
      }
      while (!o.empty() && o.back() == ' ') o.pop_back();
      l = o;
    }
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return c == kS ? "\r\n" : "";
  std::string out;
  for (const auto& l : lines) out += l + "\r\n";
  return out;
}

// The streaming hash equals the hash of the canonical copy, across buffer
// boundaries and for l= limits, and both equal the reference.
TEST(DkimCanonTest, StreamingHashMatchesCanonicalCopy) {
  std::mt19937 rng(7);
  const char alphabet[] = "ab \t\r\n\r\n\r\n=";
  for (int round = 0; round < 400; ++round) {
    std::string body;
    size_t n = rng() % (round < 200 ? 200 : 40000);
    if (round % 2 == 0) {
      for (size_t i = 0; i < n; ++i) body.push_back(alphabet[rng() % (sizeof alphabet - 1)]);
    } else {
      // Only CRLF line ends: the fast relaxed path (no bare CR or LF).
      const char* tokens[] = {"a", "b", "xyz", " ", " ", "\t", "\r\n", "\r\n", "="};
      while (body.size() < n) body += tokens[rng() % std::size(tokens)];
    }
    for (DkimCanon c : {kS, kR}) {
      std::string canon = CanonicalizeBody(c, body);
      ASSERT_EQ(canon, ReferenceBody(c, body)) << testing::PrintToString(body);
      auto h = HashDkimBody(c, body, DkimSha256());
      ASSERT_TRUE(h.ok());
      unsigned char d[32];
      unsigned int dl = 0;
      EVP_Digest(canon.data(), canon.size(), d, &dl, DkimSha256(), nullptr);
      EXPECT_EQ(h->digest, std::string(reinterpret_cast<char*>(d), dl));
      EXPECT_EQ(h->canonical_length, canon.size());
      int64_t limit = canon.empty() ? 0 : static_cast<int64_t>(rng() % canon.size());
      auto hl = HashDkimBody(c, body, DkimSha256(), limit);
      EVP_Digest(canon.data(), static_cast<size_t>(limit), d, &dl, DkimSha256(), nullptr);
      EXPECT_EQ(hl->digest, std::string(reinterpret_cast<char*>(d), dl));
    }
  }
}

TEST(DkimCanonTest, BodyReportsBareLineEnds) {
  EXPECT_FALSE(HashDkimBody(kR, "a\r\nb\r\n", DkimSha256())->bare_cr_or_lf);
  EXPECT_TRUE(HashDkimBody(kR, "a\nb\r\n", DkimSha256())->bare_cr_or_lf);
  EXPECT_TRUE(HashDkimBody(kS, "a\rb\r\n", DkimSha256())->bare_cr_or_lf);
  EXPECT_TRUE(HashDkimBody(kS, "\n", DkimSha256())->bare_cr_or_lf);
}

TEST(DkimCanonTest, Header) {
  struct Case {
    DkimCanon c;
    std::string raw, want;
  } cases[] = {
      // RFC 6376 §3.4.5 example headers.
      {kR, "A: X\r\n", "a:X\r\n"},
      {kR, "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
      {kS, "B : Y\t\r\n\tZ  \r\n", "B : Y\t\r\n\tZ  \r\n"},
      {kR, "Subject:\r\n", "subject:\r\n"},
      {kR, "Subject:   \r\n  \r\n", "subject:\r\n"},
      {kR, "X-Long: one\r\n two\r\n\tthree\r\n", "x-long:one two three\r\n"},
      {kR, "Subject: =?UTF-8?Q?J=C3=BCrgen?=\r\n", "subject:=?UTF-8?Q?J=C3=BCrgen?=\r\n"},
      {kR, "To: J\xC3\xBCrgen <j\xC3\xBC@example.com>\r\n",
       "to:J\xC3\xBCrgen <j\xC3\xBC@example.com>\r\n"},
  };
  for (const auto& c : cases) {
    std::string got;
    CanonicalizeHeader(c.c, c.raw, c.raw.find(':'), &got);
    EXPECT_EQ(got, c.want) << testing::PrintToString(c.raw);
  }
}

TEST(DkimCanonTest, SplitMessage) {
  std::string m =
      "From: a@example.com\r\n"
      "Subject: one\r\n two\r\n"
      "no colon here\r\n"
      "X-Empty:\r\n"
      "\r\n"
      "body\r\n";
  DkimMessageParts p = SplitDkimMessage(m);
  ASSERT_EQ(p.fields.size(), 3u);
  EXPECT_EQ(p.fields[0].name, "From");
  EXPECT_EQ(p.fields[1].raw, "Subject: one\r\n two\r\n");
  EXPECT_EQ(p.fields[2].name, "X-Empty");
  EXPECT_EQ(p.body, "body\r\n");
  EXPECT_FALSE(p.bare_cr_or_lf);

  DkimMessageParts no_body = SplitDkimMessage("From: a@example.com\r\n");
  ASSERT_EQ(no_body.fields.size(), 1u);
  EXPECT_EQ(no_body.body, "");
  EXPECT_TRUE(SplitDkimMessage("From: a\nTo: b\r\n\r\n").bare_cr_or_lf);
}

TEST(DkimCanonTest, TagList) {
  struct Case {
    std::string in;
    bool ok;
    std::string want;  // name=value|... or the error's start
  } cases[] = {
      {"v=1; a=rsa-sha256", true, "v=1|a=rsa-sha256|"},
      {"v=1;", true, "v=1|"},
      {" v = 1 ;\r\n\tp = ab\r\n cd ; ", true, "v=1|p=ab\r\n cd|"},
      {"v=DKIM1: g=*; k=rsa", true, "v=DKIM1: g=*|k=rsa|"},
      {"n=", true, "n=|"},
      {"", true, ""},
      {"v=1;;a=b", false, "tag 2: empty tag"},
      {"v=1; v=2", false, "tag 2: v= appears twice"},
      {"1v=1", false, "tag 1: a tag name must start with a letter"},
      {"v 1", false, "tag 1: v: expected '='"},
      {"v=\x01", false, "tag 1: v: invalid character 0x01"},
      {"v=caf\xC3\xA9", false, "tag 1: v: invalid character 0xC3"},
      {";", false, "tag 1: empty tag"},
  };
  for (const auto& c : cases) {
    auto got = ParseDkimTagList(c.in);
    ASSERT_EQ(got.ok(), c.ok) << testing::PrintToString(c.in) << " " << got.status().message();
    if (c.ok) {
      std::string flat;
      for (const auto& t : *got) flat += t.name + "=" + t.value + "|";
      EXPECT_EQ(flat, c.want);
    } else {
      EXPECT_EQ(got.status().message().substr(0, c.want.size()), c.want) << got.status().message();
    }
  }
}

TEST(DkimCanonTest, TagOffsetsLocateValues) {
  std::string s = "a=1; b= xy z ;c=2";
  auto tags = ParseDkimTagList(s);
  ASSERT_TRUE(tags.ok());
  const DkimTag* b = FindTag(*tags, "b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(s.substr(0, b->value_begin) + s.substr(b->spec_end), "a=1; b=;c=2");
}

TEST(DkimCanonTest, Base64Strict) {
  struct Case {
    std::string in;
    bool ok;
    std::string want;
  } cases[] = {
      {"", true, ""},
      {"Zg==", true, "f"},
      {"Zm8=", true, "fo"},
      {"Zm9v", true, "foo"},
      {"Zm 9v\r\n Zg ==", true, "foof"},
      {"Zg=", false, ""},
      {"Zh==", false, ""},  // non-zero bits after the last byte
      {"Zg==Zg==", false, ""},
      {"Z===", false, ""},
      {"Zm9", false, ""},
      {"Zm9v!", false, ""},
  };
  for (const auto& c : cases) {
    auto got = Base64DecodeStrict(c.in);
    EXPECT_EQ(got.ok(), c.ok) << c.in;
    if (c.ok && got.ok()) {
      EXPECT_EQ(*got, c.want) << c.in;
    }
  }
}

TEST(DkimCanonTest, DomainSyntax) {
  EXPECT_TRUE(ValidDkimDomain("example.com", false));
  EXPECT_TRUE(ValidDkimDomain("xn--bcher-kva.example", false));
  EXPECT_TRUE(ValidDkimDomain("s_2026.mail", true));
  EXPECT_FALSE(ValidDkimDomain("s_2026", false));
  EXPECT_FALSE(ValidDkimDomain("legitimate.com(.attacker.com", false));
  EXPECT_FALSE(ValidDkimDomain("a..b", false));
  EXPECT_FALSE(ValidDkimDomain("-a.b", false));
  EXPECT_FALSE(ValidDkimDomain("a-.b", false));
  EXPECT_FALSE(ValidDkimDomain("", false));
  EXPECT_FALSE(ValidDkimDomain("example.com.", false));
}

}  // namespace
}  // namespace sealmail
