#include <gtest/gtest.h>

#include <iterator>
#include <random>

#include "base/utf8.h"
#include "mime/mime_builder.h"
#include "mime/mime_decode.h"
#include "mime/mime_encode.h"

namespace sealmail {
namespace {

Mailbox Box(std::string name, std::string local, std::string domain) {
  Mailbox m;
  m.display_name = std::move(name);
  m.address.local = std::move(local);
  m.address.domain = domain;
  m.address.domain_unicode = domain;
  return m;
}

// Every line ends in CRLF, none is longer than 998 octets, no bare CR or LF.
void ExpectWellFormedLines(const std::string& msg) {
  size_t start = 0;
  while (start < msg.size()) {
    size_t crlf = msg.find("\r\n", start);
    ASSERT_NE(crlf, std::string::npos) << "message does not end in CRLF";
    std::string_view line(msg.data() + start, crlf - start);
    EXPECT_LE(line.size(), 998u);
    EXPECT_EQ(line.find('\r'), std::string_view::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string_view::npos) << line;
    start = crlf + 2;
  }
}

std::string HeaderBlock(const std::string& msg) { return msg.substr(0, msg.find("\r\n\r\n") + 2); }

struct Built {
  Mailbox from = Box("Example Exchange", "support", "example.com");
  MessageFields f;  // views into the strings below
  std::string subject, text, html, unsubscribe_url;
  std::string bytes;
  void Build() {
    f.from = &from;
    f.subject = subject;
    f.text = text;
    f.html = html;
    f.unsubscribe_url = unsubscribe_url;
    if (f.to.empty()) f.to = "jo@example.net";
    if (f.message_id.empty()) f.message_id = "<abc.c1@example.com>";
    if (f.unsubscribe_mailto.empty()) f.unsubscribe_mailto = "unsubscribe@example.com";
    f.date_unix = 1795608950;  // Wed, 25 Nov 2026
    bytes = BuildMessage(f);
  }
};

TEST(MimeBuilderTest, PlainAsciiGolden) {
  Built b;
  b.subject = "Hello Jo";
  b.text = "Hi Jo,\nsee you.\n";
  b.Build();
  EXPECT_EQ(b.bytes,
            "Date: Wed, 25 Nov 2026 12:15:50 +0000\r\n"
            "From: Example Exchange <support@example.com>\r\n"
            "To: jo@example.net\r\n"
            "Subject: Hello Jo\r\n"
            "Message-ID: <abc.c1@example.com>\r\n"
            "MIME-Version: 1.0\r\n"
            "List-Unsubscribe: <mailto:unsubscribe@example.com?subject=unsubscribe>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "Hi Jo,\r\n"
            "see you.\r\n");
}

// The reserve hint (the composer passes the last message's size) decides
// capacity only: a hint far too small, none, or larger than needed gives the
// same bytes, for a message that outgrows a small hint many times over. A
// hint just above the size is taken (the parts' own estimate is about twice
// this message), and one far above the estimate is not.
TEST(MimeBuilderTest, ReserveHintChangesNoByte) {
  Built b;
  b.subject = "Änderungen, Jürgen";
  b.text = "Grüße =\n" + std::string(30000, 'y') + "\n";
  b.html = "<p>a=b &amp; " + std::string(20000, 'z') + "</p>";
  b.Build();
  const std::string expected = b.bytes;
  ASSERT_GT(expected.size(), 50000u);
  for (size_t hint : {size_t{1}, size_t{300}, expected.size() - 1, expected.size(),
                      expected.size() + 16, expected.size() * 100}) {
    b.f.reserve = hint;
    b.Build();
    EXPECT_EQ(b.bytes, expected) << "reserve " << hint;
  }
  b.f.reserve = expected.size() + 16;
  b.Build();
  EXPECT_LT(b.bytes.capacity(), expected.size() * 3 / 2);  // the hint, not the estimate
  b.f.reserve = expected.size() * 100;
  b.Build();
  EXPECT_LT(b.bytes.capacity(), expected.size() * 3);  // at most the estimate
}

TEST(MimeBuilderTest, NonAsciiHeadersAndAlternativeBodiesDecodeBack) {
  Built b;
  b.from = Box("Börse Exchange, \"Support\"", "support", "example.com");
  b.subject = "Änderungen am Index — Jürgen, 日本語の件名もここに入りますので長くなります";
  b.text = "Grüße, Jürgen!\n" + std::string(200, 'x') + "\nEnd =\n";
  b.html = "<p>Grüße, Jürgen &amp; Co</p>";
  b.unsubscribe_url = "https://example.com/u?e=jo%40example.net";
  b.Build();
  ExpectWellFormedLines(b.bytes);
  DecodedMessage d = DecodeMessage(b.bytes);
  EXPECT_TRUE(d.defects.empty());
  ASSERT_NE(d.root.Find("Subject"), nullptr);
  EXPECT_EQ(DecodeHeaderText(d.root.Find("Subject")->value), b.f.subject);
  EXPECT_NE(d.root.Find("From")->value.find("<support@example.com>"), std::string::npos);
  EXPECT_NE(DecodeHeaderText(d.root.Find("From")->value).find("Börse Exchange"),
            std::string::npos);
  EXPECT_EQ(d.root.content_type, "multipart/alternative");
  ASSERT_EQ(d.root.children.size(), 2u);
  EXPECT_EQ(d.root.children[0].content_type, "text/plain");
  EXPECT_EQ(d.root.children[0].body,
            "Grüße, Jürgen!\r\n" + std::string(200, 'x') + "\r\nEnd =\r\n");  // final CRLF kept
  EXPECT_EQ(d.root.children[1].content_type, "text/html");
  EXPECT_EQ(d.root.children[1].body, "<p>Grüße, Jürgen &amp; Co</p>");
  EXPECT_NE(b.bytes.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"),
            std::string::npos);
}

TEST(MimeBuilderTest, EncodedWordsNeverSplitACharacterAndStayShort) {
  std::string subject;
  for (int i = 0; i < 40; ++i) subject += "日本語😀é";
  std::string h = EncodeUnstructuredHeader("Subject", subject);
  ExpectWellFormedLines(h);
  size_t pos = 0;
  int words = 0;
  while ((pos = h.find("=?UTF-8?", pos)) != std::string::npos) {
    size_t end = h.find("?=", pos + 10);
    ASSERT_NE(end, std::string::npos);
    std::string word = h.substr(pos, end + 2 - pos);
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_TRUE(IsValidUtf8(DecodeHeaderText(word))) << word;
    pos = end + 2;
    ++words;
  }
  EXPECT_GT(words, 5);
  EXPECT_EQ(DecodeHeaderText(h.substr(9, h.size() - 11)), subject);
}

TEST(MimeBuilderTest, HeaderInjectionIsImpossibleByConstruction) {
  // Whatever reaches the encoder, it cannot start a new header line.
  for (const std::string& evil : std::vector<std::string>{"x\r\nBcc: victim@example.org", "x\nBcc: victim@example.org",
                           "x\rBcc: victim@example.org", "x\r\n\r\nbody"}) {
    Built b;
    b.subject = evil;
    b.text = "t";
    b.Build();
    ExpectWellFormedLines(b.bytes);
    DecodedMessage d = DecodeMessage(b.bytes);
    EXPECT_EQ(d.root.Find("Bcc"), nullptr) << b.bytes;
    int headers = static_cast<int>(d.root.headers.size());
    EXPECT_EQ(headers, 9) << HeaderBlock(b.bytes);
  }
}

TEST(MimeBuilderTest, BodyCannotOpenANewMimePart) {
  Built b;
  b.subject = "s";
  // A merge value that imitates a boundary line and a part header.
  std::string fake = "--=_sm_0123456789abcdef01234567\r\nContent-Type: text/html\r\n\r\n<evil>\r\n";
  b.text = "before\n" + fake + "after";
  b.html = "<p>" + fake + "</p>";
  b.Build();
  DecodedMessage d = DecodeMessage(b.bytes);
  ASSERT_EQ(d.root.children.size(), 2u) << b.bytes;
  EXPECT_NE(d.root.children[0].body.find("<evil>"), std::string::npos);
  std::string boundary = d.root.Param("boundary");
  EXPECT_EQ(boundary.rfind("=_sm_", 0), 0u);
  // The real boundary occurs only as delimiter lines.
  size_t count = 0, pos = 0;
  while ((pos = b.bytes.find(boundary, pos)) != std::string::npos) ++count, ++pos;
  EXPECT_EQ(count, 4u);  // Content-Type parameter + 2 delimiters + close
}

TEST(MimeBuilderTest, QuotedPrintableRoundTripsAndProtectsLineStarts) {
  // The last two lines put a '.' and "From " right after a soft line break.
  std::string text = "From here\n.dot\nta\tb \ntrailing space \n" + std::string(300, '=') +
                     "\n\xC3\xA9t\xC3\xA9\n" + std::string(75, 'a') + ".dot\n" +
                     std::string(75, 'b') + "From x";
  std::string qp = EncodeQuotedPrintable(text);
  ExpectWellFormedLines(qp + "\r\n");
  EXPECT_EQ(qp.find("\r\nFrom "), std::string::npos);
  EXPECT_EQ(qp.rfind("From ", 0), std::string::npos);
  EXPECT_EQ(qp.find("\r\n."), std::string::npos);
  std::string want = text;
  std::string crlf;
  for (char c : want) {
    if (c == '\n') crlf += "\r\n";
    else crlf += c;
  }
  EXPECT_EQ(DecodeQuotedPrintable(qp), crlf);
  for (size_t s = 0, e; s < qp.size(); s = e + 2) {
    e = qp.find("\r\n", s);
    if (e == std::string::npos) e = qp.size();
    EXPECT_LE(e - s, 76u);
  }
}

// Random prose (words, runs of spaces and tabs, line breaks of each kind,
// '=', 8-bit bytes): every encoding decodes back, keeps lines within 76
// octets and leaves no white space before a line break (the encoder's fast
// paths copy sixteen and eight bytes at a time and must leave a trailing
// space to the slow one).
TEST(MimeBuilderTest, QuotedPrintableRoundTripsRandomProse) {
  std::mt19937 rng(20261201);
  const std::string pieces[] = {"word", "a", " ", "  ", "\t", "\n", "\r\n", "\r", "=",
                                "\xC3\xA9", ".", "From ", "0123456789abcdef"};
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int n = static_cast<int>(rng() % 120);
    for (int i = 0; i < n; ++i) text += pieces[rng() % std::size(pieces)];
    const std::string qp = EncodeQuotedPrintable(text);
    std::string crlf;  // every line break of the input, as CRLF
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\r' || text[i] == '\n') {
        crlf += "\r\n";
        if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      } else {
        crlf += text[i];
      }
    }
    ASSERT_EQ(DecodeQuotedPrintable(qp), crlf) << "round " << round;
    for (size_t b = 0, e; b < qp.size(); b = e + 2) {
      e = qp.find("\r\n", b);
      if (e == std::string::npos) e = qp.size();
      ASSERT_LE(e - b, 76u) << "round " << round;
      if (e > b) {
        ASSERT_NE(qp[e - 1], ' ') << "round " << round;
        ASSERT_NE(qp[e - 1], '\t') << "round " << round;
      }
    }
  }
}

TEST(MimeBuilderTest, MostlyNonLatinBodyUsesBase64) {
  Built b;
  b.subject = "s";
  b.text = "こんにちは、世界。お知らせです。";
  b.Build();
  EXPECT_NE(b.bytes.find("Content-Transfer-Encoding: base64"), std::string::npos);
  DecodedMessage d = DecodeMessage(b.bytes);
  EXPECT_EQ(d.root.body, "こんにちは、世界。お知らせです。");
}

// base64 exactly when more than a sixth of the bytes are 8-bit, whatever the
// length (the count runs eight bytes at a time, then byte by byte).
TEST(MimeBuilderTest, Base64ThresholdIsOneSixthOfTheBytes) {
  for (int m = 0; m <= 6; ++m) {
    for (int r = 0; r <= 70; ++r) {
      std::string text;
      for (int i = 0; i < m; ++i) text += "\xc3\xa9";  // two 8-bit bytes
      text += std::string(static_cast<size_t>(r), 'a');
      if (text.empty()) continue;
      Built b;
      b.subject = "s";
      b.text = text;
      b.Build();
      bool want = 2 * m * 6 > 2 * m + r;
      EXPECT_EQ(b.bytes.find("Content-Transfer-Encoding: base64") != std::string::npos, want)
          << "m=" << m << " r=" << r;
    }
  }
}

TEST(MimeBuilderTest, PhraseQuotingAndMessageId) {
  EXPECT_EQ(EncodePhrase("Example Exchange"), "Example Exchange");
  EXPECT_EQ(EncodePhrase("Doe, John"), "\"Doe, John\"");
  EXPECT_EQ(EncodePhrase("a \"b\" \\c"), "\"a \\\"b\\\" \\\\c\"");
  EXPECT_EQ(EncodePhrase("Jürgen").rfind("=?UTF-8?", 0), 0u);
  std::string a = MakeMessageId("c1", "jo@example.net", "example.com");
  EXPECT_EQ(a, MakeMessageId("c1", "jo@example.net", "example.com"));
  EXPECT_NE(a, MakeMessageId("c2", "jo@example.net", "example.com"));
  EXPECT_NE(a, MakeMessageId("c1", "al@example.net", "example.com"));
  EXPECT_EQ(a.size(), 1 + 32 + 1 + 2 + 1 + 11 + 1u);
  EXPECT_EQ(FormatRfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  // The thread's last answer is kept: the same second again, then others.
  EXPECT_EQ(FormatRfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(1796054400), "Mon, 30 Nov 2026 16:00:00 +0000");
  EXPECT_EQ(FormatRfc5322Date(1796054401), "Mon, 30 Nov 2026 16:00:01 +0000");
  EXPECT_EQ(FormatRfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

}  // namespace
}  // namespace sealmail
