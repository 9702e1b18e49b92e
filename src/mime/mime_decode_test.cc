#include "mime/mime_decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/file.h"
#include "base/hash.h"

namespace sealmail {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string SharedDir() { return SEALMAIL_SHARED_DIR; }
std::string SourceDir() { return SEALMAIL_SOURCE_DIR; }

std::string Hex(std::string_view s) {
  return HexEncode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Leaves in walk order: depth first, in the order they appear in the message.
void Leaves(const MimePart& p, std::vector<const MimePart*>* out) {
  if (p.children.empty()) {
    out->push_back(&p);
    return;
  }
  for (const MimePart& c : p.children) Leaves(c, out);
}

std::vector<const MimePart*> Leaves(const MimePart& root) {
  std::vector<const MimePart*> out;
  Leaves(root, &out);
  return out;
}

bool HasDefect(const DecodedMessage& m, std::string_view text) {
  for (const std::string& d : m.defects) {
    if (d.find(text) != std::string::npos) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Transfer encodings

TEST(DecodeQuotedPrintable, Table) {
  struct Case {
    std::string in, want;
  } cases[] = {
      {"plain text", "plain text"},
      {"a=3Db", "a=b"},
      {"lower=3d=e9", "lower=\xe9"},  // lower-case hex tolerated
      {"soft=\nbreak", "softbreak"},
      {"soft=\r\nbreak", "softbreak"},
      {"soft=  \r\nbreak", "softbreak"},           // white space after '=' was added in transport
      {"trail  \r\nnext\t\n", "trail\r\nnext\n"},  // RFC 2045 6.7 (3)
      {"keep=20\n", "keep \n"},
      {"bad=4xend", "bad=4xend"},  // invalid escapes stay literal
      {"bad=\xff", "bad=\xff"},
      {"end=", "end"},
      {"end=3", "end=3"},
      {"=0D=0A", "\r\n"},
      {"", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DecodeQuotedPrintable(c.in), c.want) << c.in;
  }
}

TEST(DecodeBase64, Table) {
  struct Case {
    std::string in, want;
  } cases[] = {
      {"aGVsbG8=", "hello"},
      {"aGVs\r\nbG8=\r\n", "hello"},
      {"aGVsbG8", "hello"},      // missing padding
      {"aGV sb*G8!=", "hello"},  // invalid characters ignored
      {"QQ==QkI=", "ABB"},       // data after padding is decoded too
      {"QUJD", "ABC"},
      {"Q", ""},
      {"", ""},
      {"////", "\xff\xff\xff"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DecodeBase64(c.in), c.want) << c.in;
  }
}

// ---------------------------------------------------------------------------
// Header text (RFC 2047)

TEST(DecodeHeaderText, Rfc2047Section8Examples) {
  auto data = ReadFile(SharedDir() + "/vectors/rfc2047/rfc2047-section8.json");
  ASSERT_TRUE(data.ok());
  nlohmann::json doc = nlohmann::json::parse(data.value());
  ASSERT_EQ(doc["cases"].size(), 14u);
  for (const auto& c : doc["cases"]) {
    std::string encoded = c["encoded"], display = c["display"];
    EXPECT_EQ(DecodeHeaderText(encoded), display) << c["id"];
  }
}

TEST(DecodeHeaderText, Table) {
  struct Case {
    std::string in, want;
  } cases[] = {
      {"plain text", "plain text"},
      {"=?utf-8?B?w6lsw6h2ZQ==?=", "\xc3\xa9l\xc3\xa8ve"},
      {"=?UTF-8?q?caf=C3=A9_au_lait?=", "caf\xc3\xa9 au lait"},
      {"=?utf-8*en?Q?hello?= world", "hello world"},  // RFC 2231 language suffix
      {"=?iso-8859-1?q?=E9?=", "\xc3\xa9"},
      {"=?windows-1252?q?=80?=", "\xe2\x82\xac"},
      {"=?koi8-r?b?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},
      {"=?iso-2022-jp?b?GyRCJDMkcyRLJEEkTxsoQg==?=",
       "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf"},
      // A character split across two words is joined before conversion.
      {"=?utf-8?q?=C3?= =?utf-8?q?=A9?=", "\xc3\xa9"},
      {"=?utf-8?b?w6k=?=\r\n =?utf-8?b?w6k=?=", "\xc3\xa9\xc3\xa9"},
      // Folded plain text: line breaks go, white space stays.
      {"a\r\n\tb", "a\tb"},
      // Undecodable words are left as written.
      {"=?utf-8?x?abc?=", "=?utf-8?x?abc?="},
      {"=?utf-8?q?no end", "=?utf-8?q?no end"},
      {"=??q?abc?=", "=??q?abc?="},
      // Unknown charset: the octets as they are.
      {"=?x-unknown?q?a=40b?=", "a@b"},
      // Words not separated by white space still decode (as clients do).
      {"x=?utf-8?q?y?=z", "xyz"},
      {"=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c"},
      {"8-bit \xe9 kept", "8-bit \xe9 kept"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(DecodeHeaderText(c.in), c.want) << c.in;
  }
}

TEST(ToUtf8, Table) {
  EXPECT_EQ(ToUtf8("utf-8", "caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(ToUtf8("US-ASCII", "abc"), "abc");
  EXPECT_EQ(ToUtf8("ISO-8859-1", "caf\xe9"), "caf\xc3\xa9");
  EXPECT_EQ(ToUtf8(" Latin1 ", "\xe9"), "\xc3\xa9");
  EXPECT_EQ(ToUtf8("x-no-such-charset", "\xe9"), "\xe9");
  EXPECT_EQ(ToUtf8("utf-8//TRANSLIT", "\xe9"), "\xe9");  // not a charset name
  EXPECT_EQ(ToUtf8("shift_jis", "\x82\xa0"), "\xe3\x81\x82");
  EXPECT_EQ(ToUtf8("ks_c_5601-1987", "\xb0\xa1"), "\xea\xb0\x80");
  // Invalid sequences become U+FFFD and conversion goes on.
  EXPECT_EQ(ToUtf8("shift_jis", "a\x82\x20z"), "a\xef\xbf\xbd z");
  EXPECT_EQ(ToUtf8("utf-16be", std::string("\x00\x41\x00", 3)), "A\xef\xbf\xbd");
}

// ---------------------------------------------------------------------------
// Parameters (RFC 2045 5.1, RFC 2231)

TEST(ParseMimeParams, Table) {
  struct Case {
    std::string in, value;
    std::vector<std::pair<std::string, std::string>> params;
  } cases[] = {
      {"text/plain", "text/plain", {}},
      {"Text/HTML; Charset=\"UTF-8\"", "text/html", {{"charset", "UTF-8"}}},
      {"text/plain (a comment); charset=us-ascii (Plain text)",
       "text/plain",
       {{"charset", "us-ascii"}}},
      {"multipart/mixed;\r\n boundary=\"a;b \\\"c\\\"\"; x=1",
       "multipart/mixed",
       {{"boundary", "a;b \"c\""}, {"x", "1"}}},
      {"multipart/mixed; boundary=----=_Part_1_2",
       "multipart/mixed",
       {{"boundary", "----=_Part_1_2"}}},
      {"text/plain; charset=\"us-ascii\" ; format=\"flowed\"",
       "text/plain",
       {{"charset", "us-ascii"}, {"format", "flowed"}}},
      {"attachment; filename=my file.txt", "attachment", {{"filename", "my file.txt"}}},
      {"text/plain; ; bare; charset=a;", "text/plain", {{"charset", "a"}}},
      // RFC 2231: charset, continuations, mixed encoded/plain sections.
      {"attachment; filename*=iso-8859-1'en'caf%E9.txt",
       "attachment",
       {{"filename", "caf\xc3\xa9.txt"}}},
      {"attachment; filename*0*=utf-8''%C3%A9t%C3; filename*1*=%A9; filename*2=\" x.pdf\"",
       "attachment",
       {{"filename", "\xc3\xa9t\xc3\xa9 x.pdf"}}},
      {"attachment; filename*1=b; filename*0=a", "attachment", {{"filename", "ab"}}},
      {"text/plain; charset*=ansi-x3.4-1968''us-ascii", "text/plain", {{"charset", "us-ascii"}}},
      // Quoted extended value (not allowed, but sent): still decoded.
      {"multipart/signed; boundary*=\"ansi-x3.4-1968''EeQf\"",
       "multipart/signed",
       {{"boundary", "EeQf"}}},
      // The RFC 2231 form wins over a plain duplicate.
      {"attachment; filename=old.txt; filename*=utf-8''new.txt",
       "attachment",
       {{"filename", "new.txt"}}},
      {"attachment; filename*=utf-8''bad%zz%4", "attachment", {{"filename", "bad%zz%4"}}},
      {"text/plain; name=\"unterminated", "text/plain", {{"name", "unterminated"}}},
  };
  for (const Case& c : cases) {
    MimeParamValue got = ParseMimeParams(c.in);
    EXPECT_EQ(got.value, c.value) << c.in;
    EXPECT_EQ(got.params, c.params) << c.in;
  }
}

// ---------------------------------------------------------------------------
// Headers

TEST(DecodeMessage, HeadersUnfoldedNamesKept) {
  DecodedMessage m = DecodeMessage(
      "Subject: hello\r\n  world\r\nX-Mixed-Case:   v\r\nTo:\r\n a@b\r\n\r\nbody\r\n");
  ASSERT_EQ(m.root.headers.size(), 3u);
  EXPECT_EQ(m.root.headers[0].name, "Subject");
  EXPECT_EQ(m.root.headers[0].value, "hello  world");
  EXPECT_EQ(m.root.headers[1].name, "X-Mixed-Case");
  EXPECT_EQ(m.root.headers[1].value, "v");
  EXPECT_EQ(m.root.headers[2].value, "a@b");
  EXPECT_EQ(m.root.Find("x-mixed-case"), &m.root.headers[1]);
  EXPECT_EQ(m.root.Find("Cc"), nullptr);
  EXPECT_EQ(m.root.body, "body\r\n");
  EXPECT_EQ(m.root.content_type, "text/plain");
  EXPECT_EQ(m.root.transfer_encoding, "7bit");
  EXPECT_THAT(m.defects, IsEmpty());
}

TEST(DecodeMessage, LfOnlyAndEightBitHeaders) {
  DecodedMessage m = DecodeMessage("Subject: caf\xe9\nFrom: x\n\nbody\n");
  ASSERT_EQ(m.root.headers.size(), 2u);
  EXPECT_EQ(m.root.headers[0].value, "caf\xe9");
  EXPECT_EQ(m.root.body, "body\n");
}

TEST(DecodeMessage, MissingBlankLineStartsBody) {
  DecodedMessage m = DecodeMessage("Subject: x\nthis line has no colon\nmore\n");
  ASSERT_EQ(m.root.headers.size(), 1u);
  EXPECT_EQ(m.root.body, "this line has no colon\nmore\n");
  EXPECT_TRUE(HasDefect(m, "without colon"));
}

TEST(DecodeMessage, HeadersOnly) {
  DecodedMessage m = DecodeMessage("Subject: x\r\nTo: y");
  ASSERT_EQ(m.root.headers.size(), 2u);
  EXPECT_EQ(m.root.headers[1].value, "y");
  EXPECT_EQ(m.root.body, "");
}

TEST(DecodeMessage, LeadingContinuationAndEnvelopeLine) {
  DecodedMessage m = DecodeMessage("From someone Mon Jan 1\n  stray\nSubject: s\n\nb");
  ASSERT_EQ(m.root.headers.size(), 2u);
  EXPECT_EQ(m.root.headers[0].name, "");
  EXPECT_EQ(m.root.headers[0].value, "stray");  // kept: no text may vanish
  EXPECT_EQ(m.root.headers[1].value, "s");
  EXPECT_TRUE(HasDefect(m, "continuation"));
}

TEST(DecodeMessage, ContentTypeDefaults) {
  DecodedMessage m = DecodeMessage("Content-Type: text\n\nx");
  EXPECT_EQ(m.root.content_type, "text/plain");  // invalid: RFC 2045 5.2
  EXPECT_TRUE(HasDefect(m, "invalid Content-Type"));

  m = DecodeMessage(
      "Content-Type: multipart/digest; boundary=d\n\n--d\n\nFrom: a\nSubject: inner\n\nhi\n"
      "--d\nContent-Type: text/plain\n\nplain\n--d--\n");
  ASSERT_EQ(m.root.children.size(), 2u);
  EXPECT_EQ(m.root.children[0].content_type, "message/rfc822");
  ASSERT_EQ(m.root.children[0].children.size(), 1u);
  EXPECT_EQ(m.root.children[0].children[0].Find("subject")->value, "inner");
  EXPECT_EQ(m.root.children[0].children[0].body, "hi");
  EXPECT_EQ(m.root.children[1].content_type, "text/plain");
  EXPECT_THAT(m.defects, IsEmpty());
}

TEST(DecodeMessage, ParamsAndTransferEncoding) {
  DecodedMessage m = DecodeMessage(
      "Content-Type: TEXT/Plain; CHARSET=\"ISO-8859-1\"; name*=utf-8''%C3%A9.txt\n"
      "Content-Transfer-Encoding: Quoted-Printable (comment)\n\ncaf=E9=\n!\n");
  EXPECT_EQ(m.root.content_type, "text/plain");
  EXPECT_EQ(m.root.Param("charset"), "ISO-8859-1");
  EXPECT_EQ(m.root.Param("name"), "\xc3\xa9.txt");
  EXPECT_EQ(m.root.Param("missing"), "");
  EXPECT_EQ(m.root.transfer_encoding, "quoted-printable");
  EXPECT_EQ(m.root.body, "caf\xe9!\n");
}

TEST(DecodeMessage, UnknownTransferEncodingKeptAsIs) {
  DecodedMessage m = DecodeMessage("Content-Transfer-Encoding: x-rot13\n\nnop");
  EXPECT_EQ(m.root.body, "nop");
  EXPECT_TRUE(HasDefect(m, "unknown Content-Transfer-Encoding"));
}

TEST(DecodeMessage, BoundaryMayStartWithSpace) {
  DecodedMessage m =
      DecodeMessage("Content-Type: multipart/mixed; boundary=\" b \"\n\n-- b\n\none\n-- b--\n");
  ASSERT_EQ(m.root.children.size(), 1u);
  EXPECT_EQ(m.root.children[0].body, "one");
}

TEST(DecodeMessage, Uuencode) {
  DecodedMessage m =
      DecodeMessage("Content-Transfer-Encoding: x-uuencode\n\nbegin 644 f.txt\n#0V%T\n`\nend\n");
  EXPECT_EQ(m.root.body, "Cat");
}

// ---------------------------------------------------------------------------
// Multipart

constexpr char kSimpleMultipart[] =
    "Content-Type: multipart/mixed; boundary=\"xyz\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--xyz\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "one\r\n"
    "\r\n"
    "--xyz \t\r\n"  // transport padding after the boundary
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "AAEC\r\n"
    "--xyz--  \r\n"
    "epilogue\r\n";

TEST(DecodeMessage, Multipart) {
  DecodedMessage m = DecodeMessage(kSimpleMultipart);
  EXPECT_THAT(m.defects, IsEmpty());
  EXPECT_EQ(m.root.content_type, "multipart/mixed");
  EXPECT_EQ(m.root.preamble, "preamble");
  EXPECT_EQ(m.root.epilogue, "epilogue\r\n");
  EXPECT_EQ(m.root.body, "");
  ASSERT_EQ(m.root.children.size(), 2u);
  // The CRLF before a boundary belongs to the boundary.
  EXPECT_EQ(m.root.children[0].body, "one\r\n");
  EXPECT_EQ(m.root.children[1].body, std::string("\0\1\2", 3));
}

TEST(DecodeMessage, NotQuiteBoundariesAreContent) {
  DecodedMessage m = DecodeMessage(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb\n--b-\n --b\n--b--x\n--b--\n");
  ASSERT_EQ(m.root.children.size(), 1u);
  EXPECT_EQ(m.root.children[0].body, "--bb\n--b-\n --b\n--b--x");
}

TEST(DecodeMessage, NestedMultipartAndOuterBoundaryEndsInner) {
  DecodedMessage m = DecodeMessage(
      "Content-Type: multipart/mixed; boundary=outer\n\n"
      "--outer\n"
      "Content-Type: multipart/alternative; boundary=inner\n\n"
      "--inner\n\ntext\n"
      "--inner\nContent-Type: text/html\n\n<p>html</p>\n"
      "--outer\n\nlast\n"
      "--outer--\n");
  ASSERT_EQ(m.root.children.size(), 2u);
  const MimePart& alt = m.root.children[0];
  ASSERT_EQ(alt.children.size(), 2u);
  EXPECT_EQ(alt.children[0].body, "text");
  EXPECT_EQ(alt.children[1].body, "<p>html</p>");
  EXPECT_EQ(m.root.children[1].body, "last");
  EXPECT_TRUE(HasDefect(m, "part 1: multipart without closing boundary"));
}

TEST(DecodeMessage, InnerMultipartReusingOuterBoundaryIsALeaf) {
  // The outer boundary ends the inner part before it can open (as Python).
  DecodedMessage m = DecodeMessage(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: multipart/alternative; boundary=b\n\n"
      "--b\n\nfirst\n--b\n\nsecond\n--b--\n");
  ASSERT_EQ(m.root.children.size(), 3u);
  EXPECT_EQ(m.root.children[0].content_type, "multipart/alternative");
  EXPECT_THAT(m.root.children[0].children, IsEmpty());
  EXPECT_EQ(m.root.children[2].body, "second");
  EXPECT_TRUE(HasDefect(m, "part 1: multipart without opening boundary"));
}

TEST(DecodeMessage, MissingClosingBoundaryKeepsContent) {
  DecodedMessage m =
      DecodeMessage("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\n\nsecret\n");
  ASSERT_EQ(m.root.children.size(), 2u);
  EXPECT_EQ(m.root.children[1].body, "secret");
  EXPECT_TRUE(HasDefect(m, "without closing boundary"));
}

TEST(DecodeMessage, MultipartWithoutBoundaryIsOneLeaf) {
  DecodedMessage m = DecodeMessage("Content-Type: multipart/mixed\n\nall of it\n");
  EXPECT_EQ(m.root.content_type, "multipart/mixed");
  EXPECT_THAT(m.root.children, IsEmpty());
  EXPECT_EQ(m.root.body, "all of it\n");
  EXPECT_TRUE(HasDefect(m, "without boundary"));

  m = DecodeMessage("Content-Type: multipart/mixed; boundary=b\n\nno parts here\n");
  EXPECT_EQ(m.root.body, "no parts here\n");
  EXPECT_TRUE(HasDefect(m, "without opening boundary"));
}

TEST(DecodeMessage, MessageRfc822IsOneChild) {
  DecodedMessage m = DecodeMessage(
      "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
      "Content-Type: MESSAGE/RFC822\n\n"
      "Subject: inner\nContent-Type: multipart/alternative; boundary=c\n\n"
      "--c\n\ninner text\n--c--\n"
      "--b--\n");
  ASSERT_EQ(m.root.children.size(), 1u);
  const MimePart& msg = m.root.children[0];
  EXPECT_EQ(msg.content_type, "message/rfc822");
  ASSERT_EQ(msg.children.size(), 1u);
  EXPECT_EQ(msg.children[0].Find("Subject")->value, "inner");
  ASSERT_EQ(msg.children[0].children.size(), 1u);
  EXPECT_EQ(msg.children[0].children[0].body, "inner text");
  EXPECT_THAT(m.defects, IsEmpty());
}

TEST(DecodeMessage, EncodedMessageRfc822IsDecodedAndParsed) {
  // "Subject: s\n\nhidden\n" in base64.
  DecodedMessage m = DecodeMessage(
      "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
      "U3ViamVjdDogcwoKaGlkZGVuCg==\n");
  ASSERT_EQ(m.root.children.size(), 1u);
  EXPECT_EQ(m.root.children[0].body, "hidden\n");
  EXPECT_TRUE(HasDefect(m, "encapsulated message with Content-Transfer-Encoding"));
}

TEST(DecodeMessage, DeliveryStatusIsOneLeaf) {
  DecodedMessage m = DecodeMessage(
      "Content-Type: message/delivery-status\n\nReporting-MTA: dns; x\n\n"
      "Final-Recipient: rfc822; a@b\n");
  EXPECT_THAT(m.root.children, IsEmpty());
  EXPECT_EQ(m.root.body, "Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b\n");
}

// ---------------------------------------------------------------------------
// Limits and hostile input

std::string NestedMultiparts(size_t levels) {
  std::string head, tail;
  for (size_t i = 0; i < levels; ++i) {
    std::string b = "b" + std::to_string(i);
    head += "Content-Type: multipart/mixed; boundary=" + b + "\n\n--" + b + "\n";
    tail = "\n--" + b + "--\n" + tail;
  }
  return head + "\ndeepest" + tail;
}

TEST(DecodeMessage, DepthLimit) {
  DecodeLimits limits;
  limits.max_depth = 5;
  DecodedMessage m = DecodeMessage(NestedMultiparts(10), limits);
  const MimePart* p = &m.root;
  size_t depth = 0;
  while (!p->children.empty()) {
    p = &p->children[0];
    ++depth;
  }
  EXPECT_EQ(depth, 5u);
  EXPECT_EQ(p->content_type, "multipart/mixed");
  EXPECT_NE(p->body.find("deepest"), std::string::npos);  // kept, undecoded
  EXPECT_TRUE(HasDefect(m, "nesting deeper than the limit"));

  m = DecodeMessage(NestedMultiparts(10));
  EXPECT_THAT(m.defects, IsEmpty());
  EXPECT_EQ(Leaves(m.root).size(), 1u);
  EXPECT_EQ(Leaves(m.root)[0]->body, "deepest");
}

TEST(DecodeMessage, DepthLimitOnMessageRfc822) {
  std::string msg = "Subject: deepest\n\nhello";
  for (int i = 0; i < 4; ++i) msg = "Content-Type: message/rfc822\n\n" + msg;
  DecodeLimits limits;
  limits.max_depth = 2;
  DecodedMessage m = DecodeMessage(msg, limits);
  ASSERT_EQ(m.root.children.size(), 1u);
  ASSERT_EQ(m.root.children[0].children.size(), 1u);
  const MimePart& leaf = m.root.children[0].children[0];
  EXPECT_THAT(leaf.children, IsEmpty());
  EXPECT_EQ(leaf.body,
            "Content-Type: message/rfc822\n\nSubject: deepest\n\nhello");  // raw, undecoded
  EXPECT_TRUE(HasDefect(m, "part 1.1: nesting deeper than the limit"));
}

TEST(DecodeMessage, PartLimit) {
  std::string msg = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 20; ++i) msg += "--b\n\npart" + std::to_string(i) + "\n";
  msg += "--b--\n";
  DecodeLimits limits;
  limits.max_parts = 5;  // the root and four children
  DecodedMessage m = DecodeMessage(msg, limits);
  ASSERT_EQ(m.root.children.size(), 4u);
  EXPECT_EQ(m.root.children[3].body, "part3");
  EXPECT_NE(m.root.epilogue.find("part19"), std::string::npos);
  EXPECT_TRUE(HasDefect(m, "more parts than the limit"));
}

double SecondsToDecode(const std::string& msg) {
  auto start = std::chrono::steady_clock::now();
  DecodedMessage m = DecodeMessage(msg);
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
  return d.count();
}

TEST(DecodeMessage, HostileInputStaysFast) {
  // Thousands of nested multiparts: bounded by max_depth, linear scanning.
  EXPECT_LT(SecondsToDecode(NestedMultiparts(5000)), 2.0);
  // A 4 MB header line and a 4 MB run of encoded-word starts.
  std::string long_header = "Subject: " + std::string(4 << 20, 'a') + "\n\nbody";
  EXPECT_LT(SecondsToDecode(long_header), 2.0);
  std::string words;
  for (int i = 0; i < (1 << 19); ++i) words += "=?a?q?";
  auto start = std::chrono::steady_clock::now();
  DecodeHeaderText(words);
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - start;
  EXPECT_LT(d.count(), 2.0);
  // Encoded-words that cycle through many charsets (each switch must not
  // reload an iconv module).
  std::string cycling;
  for (int i = 0; i < 20000; ++i) {
    cycling += "=?iso-8859-" + std::to_string(i % 16 + 1) + "?q?a=E9?= x ";
  }
  start = std::chrono::steady_clock::now();
  DecodeHeaderText(cycling);
  d = std::chrono::steady_clock::now() - start;
  EXPECT_LT(d.count(), 2.0);
  // Many lines that look like boundaries of deeply nested multiparts.
  std::string nested = NestedMultiparts(32);
  std::string filler = std::string(1 << 20, '-') + "\n";
  for (int i = 0; i < 100000; ++i) filler += "--b1x\n";
  nested.insert(nested.find("deepest"), filler);
  EXPECT_LT(SecondsToDecode(nested), 2.0);
  // Many defects are summarised, not listed one by one.
  std::string many = "Content-Type: multipart/mixed; boundary=b\n\n";
  for (int i = 0; i < 1000; ++i) many += "--b\nContent-Type: bad\n\nx\n";
  DecodedMessage m = DecodeMessage(many);
  EXPECT_LE(m.defects.size(), 101u);
  EXPECT_TRUE(HasDefect(m, "more defects not listed"));
}

// ---------------------------------------------------------------------------
// Python's email package as an independent parser, over cpython's test data.

// The fields compared per leaf, as tests/golden/mime_walk.py prints them.
struct WalkLeaf {
  std::string content_type;
  std::optional<std::string> charset, filename;
  size_t len = 0;
  std::string sha256;
};

struct Walk {
  std::optional<std::string> subject_hex;
  std::vector<WalkLeaf> leaves;
};

std::optional<std::string> OptString(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return j.get<std::string>();
}

std::optional<std::string> ParamIfPresent(
    const std::vector<std::pair<std::string, std::string>>& params, std::string_view name) {
  for (const auto& [k, v] : params) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Our decoder's walk, in the terms of mime_walk.py.
Walk OurWalk(std::string_view bytes) {
  Walk w;
  DecodedMessage m = DecodeMessage(bytes);
  if (const HeaderField* s = m.root.Find("Subject")) {
    w.subject_hex = Hex(DecodeHeaderText(s->value));
  }
  for (const MimePart* p : Leaves(m.root)) {
    WalkLeaf leaf;
    leaf.content_type = p->content_type;
    if (auto cs = ParamIfPresent(p->params, "charset")) leaf.charset = Lower(*cs);
    // Python's get_filename(): Content-Disposition filename, else Content-Type name.
    std::optional<std::string> filename;
    if (const HeaderField* cd = p->Find("Content-Disposition")) {
      filename = ParamIfPresent(ParseMimeParams(cd->value).params, "filename");
    }
    if (!filename) filename = ParamIfPresent(p->params, "name");
    if (filename) leaf.filename = Strip(*filename);
    leaf.len = p->body.size();
    leaf.sha256 = Sha256Hex(p->body);
    w.leaves.push_back(std::move(leaf));
  }
  return w;
}

// Runs mime_walk.py once over all files; file name -> Python's walk.
std::map<std::string, Walk> PythonWalks(const std::vector<std::string>& paths) {
  std::string cmd = "/usr/bin/python3 '" + SourceDir() + "/tests/golden/mime_walk.py'";
  for (const std::string& p : paths) cmd += " '" + p + "'";
  std::map<std::string, Walk> out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  if (pclose(f) != 0) return {};
  Walk* cur = nullptr;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    nlohmann::json j = nlohmann::json::parse(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (j.contains("file")) {
      cur = &out[j["file"].get<std::string>()];
      cur->subject_hex = OptString(j["subject_hex"]);
    } else if (cur != nullptr) {
      WalkLeaf leaf;
      leaf.content_type = j["content_type"];
      leaf.charset = OptString(j["charset"]);
      leaf.filename = OptString(j["filename"]);
      leaf.len = j["len"];
      leaf.sha256 = j["sha256"];
      cur->leaves.push_back(std::move(leaf));
    }
  }
  return out;
}

// Where Python's result legitimately differs from ours. Each entry names the
// Python leaves it covers; the test fails if an entry no longer matches a
// real difference, so the list cannot go stale.
struct KnownDifference {
  std::string_view file;
  size_t python_leaf;            // first Python leaf concerned
  size_t python_leaves;          // how many Python leaves the difference spans
  size_t our_leaves;             // how many of our leaves stand for them
  std::string_view field;        // the one differing field, or "" when leaves are replaced
  std::string_view our_type;     // replaced leaves: the content type each of ours has
  std::string_view python_type;  // replaced leaves: the content type each of Python's has
  std::string_view reason;
};

constexpr KnownDifference kKnownDifferences[] = {
    // Outer and inner multipart share one boundary; the inner finds no opening
    // boundary and is a leaf. Python keeps the line break before the next
    // (outer) boundary in that leaf's payload ("\n"); RFC 2046 5.1.1 gives it
    // to the boundary, so our payload is empty.
    {"msg_15.txt", 0, 1, 1, "payload", "", "",
     "Python keeps the CRLF before a boundary in a multipart-without-opening-boundary leaf"},
    // Quoted-printable "Some removed test. " with a trailing space: RFC 2045
    // 6.7 (3) says trailing white space on an encoded line was added in
    // transport and must be deleted; Python's quopri keeps it.
    {"msg_15.txt", 1, 1, 1, "payload", "", "",
     "Python keeps trailing white space on quoted-printable lines (RFC 2045 6.7 rule 3)"},
    // message/delivery-status (RFC 3464) holds blocks of report fields, not a
    // message. Python turns each block into a headers-only sub-message (empty
    // text/plain leaves); we keep the report as one leaf with all its text, so
    // a consumer (the guard, scope) sees every address in it.
    {"msg_16.txt", 1, 2, 1, "", "message/delivery-status", "text/plain",
     "Python splits message/delivery-status into headers-only sub-messages"},
    {"msg_43.txt", 1, 26, 1, "", "message/delivery-status", "text/plain",
     "Python splits message/delivery-status into headers-only sub-messages"},
};

std::string Describe(const WalkLeaf& l) {
  return l.content_type + " charset=" + l.charset.value_or("(none)") +
         " filename=" + l.filename.value_or("(none)") + " len=" + std::to_string(l.len) +
         " sha256=" + l.sha256.substr(0, 12);
}

std::vector<std::string> DifferingFields(const WalkLeaf& a, const WalkLeaf& b) {
  std::vector<std::string> out;
  if (a.content_type != b.content_type) out.push_back("content_type");
  if (a.charset != b.charset) out.push_back("charset");
  if (a.filename != b.filename) out.push_back("filename");
  if (a.len != b.len || a.sha256 != b.sha256) out.push_back("payload");
  return out;
}

TEST(DecodeMessage, AgreesWithPythonEmailPackage) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/python3"))
      << "Python's email package is the independent checker (Debian python3)";
  std::string dir = SharedDir() + "/vectors/cpython-email-data";
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("msg_") && name.ends_with(".txt")) paths.push_back(e.path().string());
  }
  std::sort(paths.begin(), paths.end());
  ASSERT_EQ(paths.size(), 47u);
  std::map<std::string, Walk> python = PythonWalks(paths);
  ASSERT_EQ(python.size(), paths.size()) << "mime_walk.py failed";

  std::vector<bool> used(std::size(kKnownDifferences), false);
  size_t agree = 0;
  for (const std::string& path : paths) {
    std::string file = std::filesystem::path(path).filename().string();
    auto data = ReadFile(path);
    ASSERT_TRUE(data.ok()) << path;
    Walk ours = OurWalk(data.value());
    const Walk& py = python[file];
    bool same = true;
    EXPECT_EQ(ours.subject_hex, py.subject_hex) << file << ": Subject";
    same = same && ours.subject_hex == py.subject_hex;

    size_t i = 0, j = 0;  // Python leaf, our leaf
    while (i < py.leaves.size() || j < ours.leaves.size()) {
      const KnownDifference* known = nullptr;
      for (size_t k = 0; k < std::size(kKnownDifferences); ++k) {
        if (kKnownDifferences[k].file == file && kKnownDifferences[k].python_leaf == i) {
          known = &kKnownDifferences[k];
          used[k] = true;
        }
      }
      if (known != nullptr && known->field.empty()) {
        // Replaced leaves: both sides must still be what the entry says.
        ASSERT_LE(i + known->python_leaves, py.leaves.size()) << file;
        ASSERT_LE(j + known->our_leaves, ours.leaves.size()) << file;
        for (size_t k = i; k < i + known->python_leaves; ++k) {
          EXPECT_EQ(py.leaves[k].content_type, known->python_type) << file << ": " << known->reason;
        }
        for (size_t k = j; k < j + known->our_leaves; ++k) {
          EXPECT_EQ(ours.leaves[k].content_type, known->our_type) << file << ": " << known->reason;
        }
        i += known->python_leaves;
        j += known->our_leaves;
        same = false;
        continue;
      }
      if (i >= py.leaves.size() || j >= ours.leaves.size()) {
        ADD_FAILURE() << file << ": Python has " << py.leaves.size() << " leaves, we have "
                      << ours.leaves.size();
        same = false;
        break;
      }
      std::vector<std::string> diff = DifferingFields(ours.leaves[j], py.leaves[i]);
      if (known != nullptr) {
        EXPECT_THAT(diff, ElementsAre(std::string(known->field)))
            << file << " leaf " << i << ": known difference no longer as listed (" << known->reason
            << ")\n  ours:   " << Describe(ours.leaves[j])
            << "\n  python: " << Describe(py.leaves[i]);
        same = false;
      } else {
        EXPECT_THAT(diff, IsEmpty())
            << file << " leaf " << i << "\n  ours:   " << Describe(ours.leaves[j])
            << "\n  python: " << Describe(py.leaves[i]);
        same = same && diff.empty();
      }
      ++i;
      ++j;
    }
    if (same) ++agree;
  }
  for (size_t k = 0; k < used.size(); ++k) {
    EXPECT_TRUE(used[k]) << "unused known difference for " << kKnownDifferences[k].file;
  }
  std::printf(
      "[          ] %zu of %zu messages agree with Python in every leaf; %zu known "
      "differences\n",
      agree, paths.size(), std::size(kKnownDifferences));
}

}  // namespace
}  // namespace sealmail
