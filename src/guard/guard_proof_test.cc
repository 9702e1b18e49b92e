// GuardProofs: a message composed again is accepted on the proof of its first
// composition only when every byte that could hold an address is the same.
#include <gtest/gtest.h>

#include "address/address.h"
#include "guard/guard.h"

namespace sealmail {
namespace {

std::shared_ptr<AudienceSet> Audience() {
  auto set = std::make_shared<AudienceSet>();
  for (const char* a : {"jo@example.net", "al@example.net", "Kunde@bücher.example"}) {
    auto parsed = ParseAddress(a);
    EXPECT_TRUE(parsed.ok()) << a;
    set->Add(*parsed);
  }
  return set;
}

const char kDate1[] = "Date: Tue, 01 Dec 2026 07:28:09 +0000\r\n";
const char kDate2[] = "Date: Wed, 02 Dec 2026 19:00:00 +0000\r\n";
const char kDkim[] =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=s2026;\r\n"
    "\tt=1796000000; h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
    "\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==\r\n";

// The rest of the message, after its Date field.
std::string Rest(const std::string& to = "jo@example.net", const std::string& body = "hello") {
  return "From: Example <support@example.com>\r\nTo: " + to +
         "\r\nSubject: Hello\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
         "Content-Transfer-Encoding: 7bit\r\n\r\n" +
         body + "\r\n";
}

struct Fixture {
  Guard guard{{"support@example.com"}, Audience()};
  GuardProofs proofs;

  // Preflight's check of the first composition (remembered), then Seal.
  void Prove(const std::string& msg, const std::string& rcpt = "jo@example.net") {
    auto got = guard.Check(msg, "support@example.com", {rcpt}, rcpt, "<m@x>", nullptr, &proofs);
    ASSERT_TRUE(got.ok()) << got.status().message();
  }
  Result<GuardedMessage> Again(const std::string& msg, const std::string& rcpt = "jo@example.net",
                               std::vector<GuardViolation>* v = nullptr) {
    return guard.CheckReusing(proofs, msg, "support@example.com", {rcpt}, rcpt, "<m@x>", v);
  }
};

TEST(GuardProofTest, ReusesTheProofOfTheSameBytesWithANewDateAndASignature) {
  Fixture f;
  f.Prove(kDate1 + Rest());
  f.proofs.Seal();
  EXPECT_EQ(f.proofs.size(), 1u);
  for (const std::string& again :
       {std::string(kDate1) + Rest(), kDate2 + Rest(), kDkim + std::string(kDate2) + Rest(),
        kDkim + std::string(kDkim) + kDate1 + Rest()}) {
    auto got = f.Again(again);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_TRUE(got->proof_reused()) << again;
    EXPECT_EQ(got->bytes(), again);
    // What the full check records for the audit trail, the same.
    auto full = f.guard.Check(again, "support@example.com", {"jo@example.net"}, "jo@example.net",
                              "<m@x>", nullptr);
    ASSERT_TRUE(full.ok());
    EXPECT_FALSE(full->proof_reused());
    EXPECT_EQ(got->found(), full->found());
    EXPECT_EQ(got->found(), std::vector<std::string>{"jo@example.net"});
  }
}

TEST(GuardProofTest, ChecksInFullWhatTheProofDoesNotCover) {
  Fixture f;
  f.Prove(kDate1 + Rest());
  f.Prove(kDate1 + Rest("al@example.net"), "al@example.net");
  f.proofs.Seal();
  struct Case {
    std::string name, msg;
    int passes;  // under the full check: 1 or 0; -1: whatever it says
  } cases[] = {
      {"a byte of the body", kDate1 + Rest("jo@example.net", "hellO"), true},
      {"another member in the body", kDate1 + Rest("jo@example.net", "al@example.net"), false},
      {"a field added after Date", kDate1 + std::string("Cc: x@y.example\r\n") + Rest(), false},
      {"no Date", Rest(), true},
      {"Date not first", Rest() + kDate1, true},
      {"folded Date", "Date: Tue, 01 Dec 2026\r\n 07:28:09 +0000\r\n" + Rest(), true},
      {"an address in Date", "Date: Tue, 01 Dec 2026 al@example.net\r\n" + Rest(), false},
      {"%XX in Date", "Date: Tue, 01 Dec 2026 al%40example.net\r\n" + Rest(), false},
      {"an entity in Date", "Date: Tue, 01 Dec 2026 al&#64;example.net\r\n" + Rest(), false},
      {"encoded-word in Date", "Date: =?UTF-8?Q?al=40example.net?=\r\n" + Rest(), false},
      {"8-bit in Date", "Date: Tue, 01 Dec 2026 \xc3\xa9\r\n" + Rest(), true},
      {"an address in the signature",
       "DKIM-Signature: v=1; i=al@example.net; b=x\r\n" + std::string(kDate1) + Rest(), false},
      // A bare LF would let a signature field end early and a Cc begin.
      {"bare LF in the signature",
       "DKIM-Signature: v=1; b=x\nCc: someone\r\n" + std::string(kDate1) + Rest(), -1},
      {"bare CR in the signature", "DKIM-Signature: v=1;\rb=x\r\n" + std::string(kDate1) + Rest(),
       -1},
      {"white space alone on a continuation line",
       "DKIM-Signature: v=1;\r\n \r\n b=x\r\n" + std::string(kDate1) + Rest(), -1},
      {"a signature after Date", kDate1 + std::string(kDkim) + Rest(), true},
  };
  for (const auto& c : cases) {
    std::vector<GuardViolation> v;
    auto got = f.Again(c.msg, "jo@example.net", &v);
    auto full = f.guard.Check(c.msg, "support@example.com", {"jo@example.net"}, "jo@example.net",
                              "<m@x>", nullptr);
    EXPECT_EQ(got.ok(), full.ok()) << c.name;
    if (c.passes >= 0) {
      EXPECT_EQ(got.ok(), c.passes == 1) << c.name << ": " << got.status().message();
    }
    if (got.ok()) {
      EXPECT_FALSE(got->proof_reused()) << c.name;
    } else {
      EXPECT_FALSE(v.empty()) << c.name;
    }
  }
}

// The varying parts are judged 16 bytes at a time where they are ordinary
// (CannotSpellAnAddress): a byte that spoils a proof is found at every
// place of a long signature, in and across the blocks, and the bytes
// allowed there (folding, '=' before anything but '?') never spoil it.
TEST(GuardProofTest, EveryPlaceOfALongSignatureIsJudged) {
  Fixture f;
  f.Prove(kDate1 + Rest());
  f.proofs.Seal();
  const std::string value = " v=1; a=ed25519-sha256; d=example.com; s=s2026; bh=47DEQpj8HBSa+/TImW";
  auto with = [&](size_t at, const std::string& piece) {
    std::string v = value;
    v.insert(at, piece);
    return "DKIM-Signature:" + v + "\r\n" + kDate2 + Rest();
  };
  for (size_t at = 0; at <= value.size(); ++at) {
    for (const std::string& spoils :
         {std::string("@"), std::string("%"), std::string("&"), std::string("=?"),
          std::string("\r"), std::string("\n"), std::string("\x7f"), std::string("\x80"),
          std::string("\x01"), std::string("\n\r")}) {
      const std::string msg = with(at, spoils);
      auto got = f.Again(msg);
      EXPECT_FALSE(got.ok() && got->proof_reused())
          << "at " << at << ": " << testing::PrintToString(spoils);
    }
    // (A '?' is fine too, but not after the '=' of a tag: "=?" spoils.)
    const bool after_equals = at > 0 && value[at - 1] == '=';
    for (const std::string& fine :
         {std::string("="), std::string("\t"), std::string("\r\n\tx"), std::string("=\r\n ="),
          std::string(after_equals ? "x" : "?=")}) {
      const std::string msg = with(at, fine);
      auto got = f.Again(msg);
      ASSERT_TRUE(got.ok()) << got.status().message();
      EXPECT_TRUE(got->proof_reused()) << "at " << at << ": " << testing::PrintToString(fine);
    }
  }
}

// Found by guard_proof_fuzz: the first composition's Date value held a bare
// LF and a To field after it, which its full check counted; a second
// composition with an ordinary Date has no To at all and must be blocked.
TEST(GuardProofTest, NoProofWhenTheFirstCompositionsVaryingPartsAreNotInert) {
  Fixture f;
  const std::string rest = "\r\nFrom: support@example.com\r\nSubject: s\r\n\r\nbody\r\n";
  auto first = f.guard.Check("Date: Tue\nTo: jo@example.net" + rest, "support@example.com",
                             {"jo@example.net"}, "jo@example.net", "<m@x>", nullptr, &f.proofs);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(f.proofs.size(), 0u);
  f.proofs.Seal();
  std::vector<GuardViolation> v;
  auto got = f.Again("Date: Wed" + rest, "jo@example.net", &v);
  EXPECT_FALSE(got.ok());
  EXPECT_FALSE(v.empty());
}

TEST(GuardProofTest, AProofVouchesOnlyForItsRecipientItsGuardAndOnceSealed) {
  const std::string msg = kDate1 + Rest();
  {
    Fixture f;  // not sealed: nothing is reused
    f.Prove(msg);
    auto got = f.Again(msg);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->proof_reused());
  }
  {
    Fixture f;  // another recipient (and envelope) for the same bytes
    f.Prove(msg);
    f.proofs.Seal();
    std::vector<GuardViolation> v;
    auto got = f.Again(msg, "al@example.net", &v);
    EXPECT_FALSE(got.ok());  // To names jo, not al: the full check says so
    EXPECT_FALSE(v.empty());
    auto envelope =
        f.guard.CheckReusing(f.proofs, msg, "support@example.com",
                             {"jo@example.net", "al@example.net"}, "jo@example.net", "<m@x>", &v);
    EXPECT_FALSE(envelope.ok());
  }
  {
    Fixture f, other;  // proofs of another guard
    f.Prove(msg);
    f.proofs.Seal();
    auto got = other.guard.CheckReusing(f.proofs, msg, "support@example.com", {"jo@example.net"},
                                        "jo@example.net", "<m@x>", nullptr);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->proof_reused());
  }
  {
    Fixture f;  // a message without the recipient's address: nothing found, as in full
    const std::string anon = kDate1 + Rest("undisclosed-recipients:;");
    auto first = f.guard.Check(anon, "support@example.com", {"jo@example.net"}, "jo@example.net",
                               "<m@x>", nullptr, &f.proofs);
    EXPECT_FALSE(first.ok());  // To must hold exactly the recipient: never proven
    EXPECT_EQ(f.proofs.size(), 0u);
  }
}

TEST(GuardProofTest, LargeMessagesAreCheckedInFullBothTimes) {
  Fixture f;
  const std::string big = Rest("jo@example.net", std::string(GuardProofs::kMaxMessageBytes, 'x'));
  f.Prove(kDate1 + big);
  EXPECT_EQ(f.proofs.size(), 0u);  // above the limit: no proof made
  const std::string small = Rest("jo@example.net", std::string(2000, 'x'));
  f.Prove(kDate1 + small);
  EXPECT_EQ(f.proofs.size(), 1u);
  f.proofs.Seal();
  auto got = f.Again(kDkim + std::string(kDate2) + big);
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->proof_reused());
  got = f.Again(kDkim + std::string(kDate2) + small);  // the signature does not count
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->proof_reused());
}

// The proof keeps whether that spelling is the recipient lower-cased (then
// the second composition needs no parse); a domain in Unicode is not.
TEST(GuardProofTest, RecordsTheRecipientsCanonicalSpellingLikeTheFullCheck) {
  for (const std::string rcpt : {"Kunde@bücher.example", "Jo@Example.NET", "jo@example.net"}) {
    Fixture f;
    const std::string msg = kDate1 + Rest(rcpt);
    f.Prove(msg, rcpt);
    f.proofs.Seal();
    auto got = f.Again(kDkim + std::string(kDate2) + Rest(rcpt), rcpt);
    ASSERT_TRUE(got.ok()) << rcpt << ": " << got.status().message();
    EXPECT_TRUE(got->proof_reused()) << rcpt;
    auto full = f.guard.Check(msg, "support@example.com", {rcpt}, rcpt, "<m@x>", nullptr);
    ASSERT_TRUE(full.ok()) << rcpt;
    EXPECT_EQ(got->found(), full->found()) << rcpt;
    EXPECT_FALSE(got->found().empty()) << rcpt;
  }
}

}  // namespace
}  // namespace sealmail
