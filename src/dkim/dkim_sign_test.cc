#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/hash.h"
#include "dkim/dkim_internal.h"
#include "dkim/dkim_test_util.h"

namespace sealmail {
namespace {

using dkimtest::Key;
using dkimtest::OneKey;

constexpr int64_t kNow = 1795600000;

// Shaped like sealmail's own output: folded non-ASCII subject, multipart.
const std::string kMessage =
    "From: Example Exchange <support@example.com>\r\n"
    "Reply-To: support@example.com\r\n"
    "To: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>\r\n"
    "Subject: =?UTF-8?Q?Changes_to_the_EX-50_index_=E2=80=94_J=C3=BCrgen=2C_here_is?=\r\n"
    " =?UTF-8?Q?_what_changes_for_you?=\r\n"
    "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
    "Message-ID: <0123456789abcdef0123456789abcdef.index-change@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "List-Unsubscribe: <mailto:unsubscribe@example.com>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hello J=C3=BCrgen,\r\n"
    "\r\n"
    "the index changes  on 1 December.\t \r\n"
    "\r\n"
    "\r\n";

struct SignSetup {
  const char* name;
  const char* key_type;
  int bits;
  DkimAlgorithm alg;
  DkimCanonPair canon;
};

const SignSetup kSetups[] = {
    {"rsa1024-relaxed", "RSA", 1024, DkimAlgorithm::kRsaSha256, {}},
    {"rsa2048-relaxed", "RSA", 2048, DkimAlgorithm::kRsaSha256, {}},
    {"rsa2048-simple",
     "RSA",
     2048,
     DkimAlgorithm::kRsaSha256,
     {DkimCanon::kSimple, DkimCanon::kSimple}},
    {"rsa4096-relaxed", "RSA", 4096, DkimAlgorithm::kRsaSha256, {}},
    {"ed25519-relaxed", "ED25519", 0, DkimAlgorithm::kEd25519Sha256, {}},
    {"ed25519-simple",
     "ED25519",
     0,
     DkimAlgorithm::kEd25519Sha256,
     {DkimCanon::kSimple, DkimCanon::kSimple}},
};

DkimSigner MakeSigner(const SignSetup& s, DkimPrivateKey key, std::string identity = "",
                      int64_t expire = 0) {
  DkimSignerOptions o;
  o.domain = "example.com";
  o.selector = "s2026";
  o.algorithm = s.alg;
  o.canon = s.canon;
  o.identity = identity;
  o.expire_seconds = expire;
  auto signer = DkimSigner::Create(std::move(key), o);
  if (!signer.ok()) std::abort();
  return *signer;
}

DkimVerdict VerifyWith(const std::string& signed_msg, const DkimPublicKey& key,
                       std::string expected_domain = "", int64_t now = kNow) {
  DkimVerifyOptions vo;
  vo.key_lookup = OneKey("example.com", "s2026", key);
  vo.now_unix = now;
  vo.expected_domain = std::move(expected_domain);
  auto v = VerifyDkim(signed_msg, vo);
  EXPECT_EQ(v.size(), 1u);
  return v.at(0);
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t p = s.find(from);
  if (p == std::string::npos) std::abort();
  return s.replace(p, from.size(), to);
}

TEST(DkimSignTest, RoundTripEveryAlgorithmAndCanonicalization) {
  for (const SignSetup& s : kSetups) {
    SCOPED_TRACE(s.name);
    DkimSigner signer = MakeSigner(s, Key(s.key_type, s.bits));
    auto out = signer.SignMessage(kMessage, kNow);
    ASSERT_TRUE(out.ok()) << out.status().message();
    DkimVerdict v = VerifyWith(*out, signer.PublicKey(), "example.com");
    EXPECT_EQ(v.result, DkimResult::kPass) << v.reason;
    EXPECT_EQ(v.sig.domain, "example.com");
    EXPECT_EQ(v.sig.selector, "s2026");
    EXPECT_EQ(v.sig.timestamp, kNow);
    EXPECT_EQ(v.sig.canon, DkimCanonName(s.canon));
  }
}

// Each thread keeps a signing context for the last key it signed with:
// signers of different keys and algorithms, used in turn on one thread and
// on several, and a key made after another is gone, each sign with their
// own key (a context kept for the wrong key fails verification).
TEST(DkimSignTest, SignersTakingTurnsEachSignWithTheirOwnKey) {
  // Two of each algorithm, side by side: the same algorithm twice in a row.
  std::vector<DkimSigner> signers;
  signers.push_back(MakeSigner(kSetups[1], Key("RSA", 2048)));
  signers.push_back(MakeSigner(kSetups[1], Key("RSA", 2048)));
  signers.push_back(MakeSigner(kSetups[4], Key("ED25519")));
  signers.push_back(MakeSigner(kSetups[4], Key("ED25519")));
  auto check_all = [&]() {
    for (int turn = 0; turn < 3; ++turn) {
      for (const DkimSigner& signer : signers) {
        auto out = signer.SignMessage(kMessage, kNow);
        ASSERT_TRUE(out.ok()) << out.status().message();
        EXPECT_EQ(VerifyWith(*out, signer.PublicKey()).result, DkimResult::kPass);
        size_t i = static_cast<size_t>(&signer - signers.data());
        EXPECT_NE(VerifyWith(*out, signers[i ^ 1].PublicKey()).result, DkimResult::kPass);
      }
    }
  };
  check_all();
  std::thread other(check_all);
  other.join();
  // This thread signs with the first RSA key last; then that signer and its
  // key go, and a new RSA key is made: it could take the old key's address
  // only if the context kept for it did not hold the old key.
  DkimPrivateKey first = Key("RSA", 2048);
  std::shared_ptr<EVP_PKEY> first_key = DkimKeyAccess::Shared(first);
  signers[0] = MakeSigner(kSetups[1], std::move(first));
  long held = first_key.use_count();  // this test's copy and the signer's
  ASSERT_TRUE(signers[0].SignMessage(kMessage, kNow).ok());
  EXPECT_EQ(first_key.use_count(), held + 1);  // and the context kept for this thread
  signers.erase(signers.begin());
  EXPECT_EQ(first_key.use_count(), 2);  // this test's copy and the context's
  signers.insert(signers.begin(), MakeSigner(kSetups[1], Key("RSA", 2048)));
  check_all();
}

TEST(DkimSignTest, HeaderFieldShape) {
  DkimSigner signer = MakeSigner(kSetups[1], Key("RSA", 2048));
  auto h = signer.Sign(kMessage, kNow);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;", 0), 0u)
      << *h;
  ASSERT_GE(h->size(), 2u);
  EXPECT_EQ(h->substr(h->size() - 2), "\r\n");
  // Folded: every line at most 78 columns, continuation lines start with SP.
  size_t pos = 0, lines = 0;
  while (pos < h->size()) {
    size_t eol = h->find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - pos, 78u) << h->substr(pos, eol - pos);
    if (lines > 0) {
      EXPECT_EQ((*h)[pos], ' ');
    }
    ++lines;
    pos = eol + 2;
  }
  EXPECT_GE(lines, 6u);
  // Every signed field present, From twice, nothing else.
  auto v = VerifyWith(*h + kMessage, signer.PublicKey());
  std::vector<std::string> want = {"from",
                                   "from",
                                   "to",
                                   "subject",
                                   "date",
                                   "message-id",
                                   "mime-version",
                                   "content-type",
                                   "content-transfer-encoding",
                                   "reply-to",
                                   "list-unsubscribe",
                                   "list-unsubscribe-post"};
  EXPECT_EQ(v.sig.headers, want);
}

TEST(DkimSignTest, OnlyPresentFieldsAreSigned) {
  DkimSigner signer = MakeSigner(kSetups[4], Key("ED25519"));
  std::string m = "From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\n\r\nhi\r\n";
  auto out = signer.SignMessage(m, kNow);
  ASSERT_TRUE(out.ok());
  auto v = VerifyWith(*out, signer.PublicKey());
  EXPECT_EQ(v.result, DkimResult::kPass) << v.reason;
  EXPECT_EQ(v.sig.headers, (std::vector<std::string>{"from", "from", "to", "subject"}));
}

TEST(DkimSignTest, IdentityAndExpiry) {
  DkimSigner signer = MakeSigner(kSetups[4], Key("ED25519"), "@news.example.com", 3600);
  auto out = signer.SignMessage(kMessage, kNow);
  ASSERT_TRUE(out.ok());
  auto v = VerifyWith(*out, signer.PublicKey(), "", kNow + 10);
  EXPECT_EQ(v.result, DkimResult::kPass) << v.reason;
  EXPECT_EQ(v.sig.identity, "@news.example.com");
  EXPECT_EQ(v.sig.expires, kNow + 3600);
  auto late = VerifyWith(*out, signer.PublicKey(), "", kNow + 3601);
  EXPECT_EQ(late.result, DkimResult::kExpired) << late.reason;
  EXPECT_NE(late.reason.find("expired at"), std::string::npos);
}

// Table of tampering, for both key types: each must fail with its reason.
TEST(DkimSignTest, TamperingIsNamed) {
  struct Tamper {
    const char* name;
    std::string (*change)(std::string);
    DkimResult rsa, ed25519;  // Ed25519 cannot tell "other key" from "changed header"
  };
  const Tamper tampers[] = {
      {"body text", [](std::string m) { return Replace(m, "1 December", "2 December"); },
       DkimResult::kBodyChanged, DkimResult::kBodyChanged},
      {"body appended", [](std::string m) { return m + "P.S. click here\r\n"; },
       DkimResult::kBodyChanged, DkimResult::kBodyChanged},
      {"subject",
       [](std::string m) {
         return Replace(m, "Subject: =?UTF-8?Q?Changes", "Subject: =?UTF-8?Q?Chang3s");
       },
       DkimResult::kHeaderChanged, DkimResult::kHeaderChanged},
      {"reply-to",
       [](std::string m) {
         return Replace(m, "Reply-To: support@example.com", "Reply-To: evil@example.net");
       },
       DkimResult::kHeaderChanged, DkimResult::kHeaderChanged},
      {"second From added on top",
       [](std::string m) { return "From: CEO <ceo@example.com>\r\n" + m; },
       DkimResult::kHeaderChanged, DkimResult::kHeaderChanged},
      {"signature replaced by garbage",
       [](std::string m) {
         size_t b = m.find(" b=") + 3;
         m[b] = m[b] == 'A' ? 'B' : 'A';
         return m;
       },
       DkimResult::kKeyMismatch, DkimResult::kHeaderChanged},
  };
  for (const SignSetup& s : {kSetups[1], kSetups[4]}) {
    DkimSigner signer = MakeSigner(s, Key(s.key_type, s.bits));
    std::string good = *signer.SignMessage(kMessage, kNow);
    for (const Tamper& t : tampers) {
      SCOPED_TRACE(std::string(s.name) + ": " + t.name);
      auto v = VerifyWith(t.change(good), signer.PublicKey());
      EXPECT_EQ(v.result, s.key_type[0] == 'R' ? t.rsa : t.ed25519)
          << DkimResultName(v.result) << ": " << v.reason;
    }
  }
}

TEST(DkimSignTest, HarmlessChangesStillVerifyUnderRelaxed) {
  for (const SignSetup& s : {kSetups[1], kSetups[2]}) {
    SCOPED_TRACE(s.name);
    DkimSigner signer = MakeSigner(s, Key(s.key_type, s.bits));
    std::string good = *signer.SignMessage(kMessage, kNow);
    bool relaxed = s.canon.header == DkimCanon::kRelaxed;
    // A relay adds trace fields on top: never breaks a signature.
    auto v1 =
        VerifyWith("Received: from relay by mx; Wed, 25 Nov 2026\r\n" + good, signer.PublicKey());
    EXPECT_EQ(v1.result, DkimResult::kPass) << v1.reason;
    // Refolding a header and trailing whitespace in the body: relaxed only.
    auto v2 =
        VerifyWith(Replace(good, "Subject: =?UTF-8", "subject:   =?UTF-8"), signer.PublicKey());
    EXPECT_EQ(v2.result, relaxed ? DkimResult::kPass : DkimResult::kHeaderChanged) << v2.reason;
    auto v3 = VerifyWith(Replace(good, "Hello J=C3=BCrgen,", "Hello  J=C3=BCrgen,  "),
                         signer.PublicKey());
    EXPECT_EQ(v3.result, relaxed ? DkimResult::kPass : DkimResult::kBodyChanged) << v3.reason;
    // LF line ends (a file saved by a mail client) read as CRLF.
    std::string lf;
    for (size_t i = 0; i < good.size(); ++i) {
      if (!(good[i] == '\r' && i + 1 < good.size() && good[i + 1] == '\n')) lf.push_back(good[i]);
    }
    auto v4 = VerifyWith(lf, signer.PublicKey());
    EXPECT_EQ(v4.result, DkimResult::kPass) << v4.reason;
  }
}

TEST(DkimSignTest, WrongDomainAndOtherKeys) {
  DkimSigner signer = MakeSigner(kSetups[1], Key("RSA", 2048));
  std::string good = *signer.SignMessage(kMessage, kNow);
  auto wrong = VerifyWith(good, signer.PublicKey(), "example.net");
  EXPECT_EQ(wrong.result, DkimResult::kWrongDomain);
  EXPECT_EQ(wrong.reason, "signed by d=example.com, not by example.net");

  auto other_rsa = VerifyWith(good, Key("RSA", 2048).PublicKey());
  EXPECT_EQ(other_rsa.result, DkimResult::kKeyMismatch) << other_rsa.reason;
  auto other_size = VerifyWith(good, Key("RSA", 1024).PublicKey());
  EXPECT_EQ(other_size.result, DkimResult::kKeyMismatch) << other_size.reason;
  auto other_type = VerifyWith(good, Key("ED25519").PublicKey());
  EXPECT_EQ(other_type.result, DkimResult::kKeyMismatch) << other_type.reason;

  DkimVerifyOptions none;
  none.key_lookup = OneKey("example.com", "other", signer.PublicKey());
  auto missing = VerifyDkim(good, none);
  EXPECT_EQ(missing.at(0).result, DkimResult::kKeyUnavailable);
  EXPECT_EQ(missing.at(0).reason, "no key for s2026._domainkey.example.com");

  auto unsigned_msg = VerifyWith(kMessage, signer.PublicKey());
  EXPECT_EQ(unsigned_msg.result, DkimResult::kNoSignature);
}

TEST(DkimSignTest, RefusesWhatCannotBeSigned) {
  DkimSigner signer = MakeSigner(kSetups[4], Key("ED25519"));
  auto no_from = signer.Sign("To: a@example.org\r\n\r\nx\r\n", kNow);
  EXPECT_EQ(no_from.status().code(), Status::Code::kInvalid);
  EXPECT_NE(no_from.status().message().find("no From"), std::string::npos);
  // Regression (found by dkim_verify_fuzz): a leading continuation line would
  // fold into the DKIM-Signature put on top of it.
  auto leading_ws = signer.Sign(" x\r\nFrom: a@example.com\r\n\r\nx\r\n", kNow);
  EXPECT_EQ(leading_ws.status().code(), Status::Code::kInvalid);
  auto bare_lf_head = signer.Sign("From: a@example.com\nTo: b@example.org\r\n\r\nx\r\n", kNow);
  EXPECT_EQ(bare_lf_head.status().code(), Status::Code::kInvalid);
  auto bare_lf_body = signer.Sign("From: a@example.com\r\n\r\nx\ny\r\n", kNow);
  EXPECT_EQ(bare_lf_body.status().code(), Status::Code::kInvalid);
  EXPECT_NE(bare_lf_body.status().message().find("bare CR or LF in the body"), std::string::npos);
}

TEST(DkimSignTest, CreateChecksKeyAndOptions) {
  struct Case {
    const char* name;
    const char* key_type;
    int bits;
    DkimAlgorithm alg;
    std::string domain, selector, identity;
    std::string want;  // empty: accepted; else a substring of the error
  } cases[] = {
      {"ok", "RSA", 2048, DkimAlgorithm::kRsaSha256, "example.com", "s1", "", ""},
      {"ed key for rsa", "ED25519", 0, DkimAlgorithm::kRsaSha256, "example.com", "s1", "",
       "needs an RSA key, but the key is an Ed25519 key"},
      {"rsa key for ed", "RSA", 2048, DkimAlgorithm::kEd25519Sha256, "example.com", "s1", "",
       "needs an Ed25519 key, but the key is a 2048-bit RSA key"},
      {"short rsa", "RSA", 768, DkimAlgorithm::kRsaSha256, "example.com", "s1", "",
       "1024 to 4096 bits"},
      {"sha1", "RSA", 2048, DkimAlgorithm::kRsaSha1, "example.com", "s1", "", "RFC 8301"},
      {"bad domain", "RSA", 2048, DkimAlgorithm::kRsaSha256, "exa mple.com", "s1", "",
       "not a domain name"},
      {"bad selector", "RSA", 2048, DkimAlgorithm::kRsaSha256, "example.com", "s;1", "",
       "selector"},
      {"identity elsewhere", "RSA", 2048, DkimAlgorithm::kRsaSha256, "example.com", "s1",
       "@example.net", "identity"},
      {"identity subdomain", "RSA", 2048, DkimAlgorithm::kRsaSha256, "example.com", "s1",
       "news@mail.example.com", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    DkimSignerOptions o;
    o.domain = c.domain;
    o.selector = c.selector;
    o.algorithm = c.alg;
    o.identity = c.identity;
    auto s = DkimSigner::Create(Key(c.key_type, c.bits), o);
    if (c.want.empty()) {
      EXPECT_TRUE(s.ok()) << s.status().message();
    } else {
      ASSERT_FALSE(s.ok());
      EXPECT_NE(s.status().message().find(c.want), std::string::npos) << s.status().message();
    }
  }
}

// One signer, several threads: every signature verifies.
TEST(DkimSignTest, ConcurrentSigningIsSafe) {
  for (const SignSetup& s : {kSetups[1], kSetups[4]}) {
    DkimSigner signer = MakeSigner(s, Key(s.key_type, s.bits));
    DkimPublicKey pub = signer.PublicKey();
    std::atomic<int> bad{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) {
          std::string m =
              Replace(kMessage, "juergen@", "juergen" + std::to_string(t * 100 + i) + "@");
          auto out = signer.SignMessage(m, kNow + i);
          if (!out.ok() || VerifyWith(*out, pub).result != DkimResult::kPass) ++bad;
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0) << s.name;
  }
}

TEST(DkimSignTest, EmptyBodyAndNoFinalCrlf) {
  const std::string head = "From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\n";
  for (const SignSetup& s : {kSetups[1], kSetups[2], kSetups[4], kSetups[5]}) {
    DkimSigner signer = MakeSigner(s, Key(s.key_type, s.bits));
    for (std::string m :
         {head, head + "\r\n", head + "\r\nno final crlf", head + "\r\ntrailing\r\n\r\n\r\n\r\n"}) {
      SCOPED_TRACE(std::string(s.name) + " " + testing::PrintToString(m));
      auto out = signer.SignMessage(m, kNow);
      ASSERT_TRUE(out.ok()) << out.status().message();
      EXPECT_EQ(VerifyWith(*out, signer.PublicKey()).result, DkimResult::kPass);
    }
  }
}

}  // namespace
}  // namespace sealmail

namespace sealmail {
namespace {

// Regression (found by dkim_verify_fuzz): with two From fields the signer
// hashed only the bottom one although h= names "from" twice, so its own
// signature did not verify. It now selects fields exactly as a verifier does.
TEST(DkimSignTest, TwoFromFieldsAreBothSigned) {
  DkimSigner signer = MakeSigner(kSetups[4], Key("ED25519"));
  std::string m =
      "From: first@example.com\r\nTo: a@example.org\r\nFrom: second@example.com\r\n\r\nx\r\n";
  auto out = signer.SignMessage(m, kNow);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(VerifyWith(*out, signer.PublicKey()).result, DkimResult::kPass);
  EXPECT_EQ(VerifyWith(Replace(*out, "first@", "other@"), signer.PublicKey()).result,
            DkimResult::kHeaderChanged);
}

}  // namespace
}  // namespace sealmail

namespace sealmail {
namespace {

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string SignEd25519Hex(const DkimPrivateKey& key, std::string_view msg) {
  unsigned char sig[64];
  Status s = SignEd25519(key, msg, sig);
  if (!s.ok()) return "error: " + s.message();
  return HexEncode(sig, sizeof sig);
}

// Ed25519 signing is libsodium's: RFC 8032 §7.1's known answers. TEST 1's
// key is dkimpy's file of it; TESTs 2 and 3 are written out from the RFC.
TEST(DkimSignTest, Ed25519MatchesRfc8032Vectors) {
  auto test1 = DkimPrivateKey::Load(dkimtest::Shared("dkimpy-testdata/rfc8032_7_1.key"));
  ASSERT_TRUE(test1.ok()) << test1.status().message();
  EXPECT_EQ(SignEd25519Hex(*test1, ""),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
            "701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  struct Vector {
    const char* seed;
    const char* message;
    const char* signature;
  };
  const Vector vectors[] = {
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f"
       "11d8c387b2eaeb4302aeeb00d291612bb0c00"},
      {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f76098"
       "4dc6594a7c15e9716ed28dc027beceea1ec40a"},
  };
  for (const Vector& v : vectors) {
    std::string seed = FromHex(v.seed);
    auto key = DkimPrivateKey::Parse(
        Base64Encode(reinterpret_cast<const uint8_t*>(seed.data()), seed.size()), "rfc8032");
    ASSERT_TRUE(key.ok()) << key.status().message();
    EXPECT_EQ(SignEd25519Hex(*key, FromHex(v.message)), v.signature) << v.seed;
  }
}

// And byte for byte what OpenSSL signs, for fresh keys and digests of every
// length DKIM could give (RFC 8463 signs a 32-byte SHA-256; the others are
// here to catch a length mix-up), with keys taking turns on one thread.
TEST(DkimSignTest, Ed25519MatchesOpenSsl) {
  std::vector<DkimPrivateKey> keys;
  for (int i = 0; i < 8; ++i) keys.push_back(dkimtest::Key("ED25519"));
  uint32_t x = 12345;
  for (int round = 0; round < 200; ++round) {
    const DkimPrivateKey& key = keys[static_cast<size_t>(round) % keys.size()];
    std::string msg(static_cast<size_t>(round % 70), '\0');
    for (char& c : msg) {
      x = x * 1103515245u + 12345u;
      c = static_cast<char>(x >> 24);
    }
    unsigned char want[64];
    size_t want_len = sizeof want;
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    ASSERT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, DkimKeyAccess::Get(key)), 1);
    ASSERT_EQ(EVP_DigestSign(ctx.get(), want, &want_len,
                             reinterpret_cast<const unsigned char*>(msg.data()), msg.size()),
              1);
    EXPECT_EQ(SignEd25519Hex(key, msg), HexEncode(want, want_len)) << "round " << round;
  }
}

// An RSA key cannot sign Ed25519: refused, not signed with a stale context.
TEST(DkimSignTest, Ed25519RefusesAnRsaKey) {
  DkimPrivateKey rsa = dkimtest::Key("RSA", 1024);
  EXPECT_EQ(SignEd25519Hex(rsa, "x").rfind("error: ", 0), 0u);
  DkimPrivateKey ed = dkimtest::Key("ED25519");
  EXPECT_EQ(SignEd25519Hex(ed, "x").size(), 128u);
  EXPECT_EQ(SignEd25519Hex(rsa, "x").rfind("error: ", 0), 0u);
}

}  // namespace
}  // namespace sealmail
