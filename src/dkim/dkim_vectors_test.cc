// Golden vectors: signed messages made by other implementations verify with
// their published keys (../shared/vectors/, see its README for origins).
#include <gtest/gtest.h>

#include <map>

#include "dkim/dkim_internal.h"
#include "dkim/dkim_test_util.h"

namespace sealmail {
namespace {

using dkimtest::ReadOrDie;
using dkimtest::Shared;

// A key table: "selector._domainkey.domain" -> record text.
DkimKeyLookup Table(std::map<std::string, std::string> records) {
  return [records](std::string_view d, std::string_view s) -> Result<DkimPublicKey> {
    std::string name = std::string(s) + "._domainkey." + std::string(d);
    auto it = records.find(name);
    if (it == records.end()) return Status::NotFound("no key for " + name);
    return DkimPublicKey::FromRecord(it->second);
  };
}

std::vector<DkimVerdict> Verify(const std::string& file, std::map<std::string, std::string> keys,
                                int64_t now = 1795600000) {
  DkimVerifyOptions o;
  o.key_lookup = Table(std::move(keys));
  o.now_unix = now;
  return VerifyDkim(ReadOrDie(file), o);
}

const std::string kRfc = "dkim-rfc8463/";
const std::string kPy = "dkimpy-testdata/";

// RFC 8463 appendix A: one message, an ed25519-sha256 and an rsa-sha256
// signature, c=simple/simple, LF line ends as stored.
TEST(DkimVectorsTest, Rfc8463BothSignaturesVerify) {
  auto keys = std::map<std::string, std::string>{
      {"brisbane._domainkey.football.example.com",
       ReadOrDie(Shared(kRfc + "brisbane._domainkey.football.example.com.txt"))},
      {"test._domainkey.football.example.com",
       ReadOrDie(Shared(kRfc + "test._domainkey.football.example.com.txt"))},
  };
  for (const std::string& f : {kRfc + "signed.eml", kPy + "rfc6376.signed.msg"}) {
    SCOPED_TRACE(f);
    auto v = Verify(Shared(f), keys);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].result, DkimResult::kPass) << v[0].reason;
    EXPECT_EQ(v[0].sig.algorithm, "ed25519-sha256");
    EXPECT_EQ(v[0].sig.selector, "brisbane");
    EXPECT_EQ(v[1].result, DkimResult::kPass) << v[1].reason;
    EXPECT_EQ(v[1].sig.algorithm, "rsa-sha256");
    EXPECT_EQ(v[1].sig.canon, "simple/simple");
    EXPECT_EQ(v[1].sig.headers.size(), 8u);
  }
  auto rsa_only = Verify(Shared(kPy + "rfc6376.signed.rsa.msg"), keys);
  ASSERT_EQ(rsa_only.size(), 1u);
  EXPECT_EQ(rsa_only[0].result, DkimResult::kPass) << rsa_only[0].reason;
}

// The RFC's body hash, recomputed from the unsigned message.
TEST(DkimVectorsTest, Rfc8463BodyHash) {
  std::string m = ReadOrDie(Shared(kRfc + "unsigned.eml"));
  std::string crlf;
  for (char c : m) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  auto parts = SplitDkimMessage(crlf);
  auto h = HashDkimBody(DkimCanon::kSimple, parts.body, DkimSha256());
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(Base64Encode(reinterpret_cast<const uint8_t*>(h->digest.data()), h->digest.size()),
            "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
}

// Tampering with the RFC's message gives the right reason for both algorithms.
TEST(DkimVectorsTest, Rfc8463Tampered) {
  auto keys = std::map<std::string, std::string>{
      {"brisbane._domainkey.football.example.com",
       ReadOrDie(Shared(kRfc + "brisbane._domainkey.football.example.com.txt"))},
      {"test._domainkey.football.example.com",
       ReadOrDie(Shared(kRfc + "test._domainkey.football.example.com.txt"))},
  };
  std::string m = ReadOrDie(Shared(kRfc + "signed.eml"));
  DkimVerifyOptions o;
  o.key_lookup = Table(keys);
  std::string body = m;
  body.replace(body.find("We lost"), 7, "We won!");
  for (const auto& v : VerifyDkim(body, o)) EXPECT_EQ(v.result, DkimResult::kBodyChanged);
  std::string head = m;
  head.replace(head.find("Is dinner ready?"), 16, "Is lunch ready??");
  for (const auto& v : VerifyDkim(head, o)) EXPECT_EQ(v.result, DkimResult::kHeaderChanged);
  // Against the wrong domain, both are refused before any key is looked up.
  o.expected_domain = "example.com";
  for (const auto& v : VerifyDkim(m, o)) {
    EXPECT_EQ(v.result, DkimResult::kWrongDomain);
    EXPECT_EQ(v.reason, "signed by d=football.example.com, not by example.com");
  }
}

// Exim's ed25519 relaxed/relaxed signature (dkimpy's ed25519test2.msg).
TEST(DkimVectorsTest, EximEd25519Verifies) {
  auto v = Verify(Shared(kPy + "ed25519test2.msg"),
                  {{"sed._domainkey.test.ex", ReadOrDie(Shared(kPy + "eximtest.dns"))}});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].result, DkimResult::kPass) << v[0].reason;
  EXPECT_EQ(v[0].sig.canon, "relaxed/relaxed");
}

// Gmail's 2013 signature with degenerate folding (Debian bug #711751). The
// key is the one dkimpy's test suite uses for it (test_dkim.py), kept in
// testdata/ (zlib licence, as dkimpy).
TEST(DkimVectorsTest, GmailDegenerateFoldingVerifies) {
  std::string record = ReadOrDie(std::string(SEALMAIL_SOURCE_DIR) +
                                 "/src/dkim/testdata/20120113._domainkey.gmail.com.txt");
  auto v = Verify(Shared(kPy + "test2.message"), {{"20120113._domainkey.gmail.com", record}});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].result, DkimResult::kPass) << v[0].reason;
  EXPECT_EQ(v[0].key_bits, 2048);
}

// "d=legitimate.com(.attacker.com": refused as malformed, not looked up.
TEST(DkimVectorsTest, BadDomainIsMalformed) {
  auto v = Verify(
      Shared(kPy + "test.message.baddomain"),
      {{"test._domainkey.legitimate.com(.attacker.com", ReadOrDie(Shared(kPy + "test.txt"))}});
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].result, DkimResult::kMalformed);
  EXPECT_NE(v[0].reason.find("d=legitimate.com(.attacker.com is not a domain name"),
            std::string::npos)
      << v[0].reason;
}

// A signature that verifies until its key record is one of dkimpy's
// malformed ones: the verdict is kBadKey with the record's reason.
TEST(DkimVectorsTest, MalformedKeyRecordsAreRefused) {
  struct Case {
    std::string record_file, want;
  } cases[] = {
      {"badk.txt", "unknown key type k=ed25519-sha256"},
      {"badversion.txt", "bad v="},
      {"test_bad.txt", "not a DER-encoded RSA public key"},
      {"test_tlsrpt.txt", "not for email"},
  };
  for (const auto& c : cases) {
    auto v =
        Verify(Shared(kPy + "rfc6376.signed.rsa.msg"),
               {{"test._domainkey.football.example.com", ReadOrDie(Shared(kPy + c.record_file))}});
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].result, DkimResult::kBadKey) << c.record_file;
    EXPECT_NE(v[0].reason.find(c.want), std::string::npos) << v[0].reason;
  }
}

// Messages from dkimpy's data, signed here with dkimpy's keys, verify with
// the published records (incl. Windows-1258 bytes in headers and an mbox).
TEST(DkimVectorsTest, DkimpyMessagesSignedWithDkimpyKeys) {
  struct Case {
    std::string key, record;
    DkimAlgorithm alg;
  } keys[] = {
      {"test.private", "test.txt", DkimAlgorithm::kRsaSha256},
      {"2048_testkey_PKCS8.key", "2048_testkey_PKCS8.key.pub.txt", DkimAlgorithm::kRsaSha256},
      {"ed25519test.key", "ed25519test.dns", DkimAlgorithm::kEd25519Sha256},
  };
  for (const std::string msg :
       {"test.message", "rfc6376.msg", "rfc6376.w1258.msg", "test_extra.message", "message.mbox"}) {
    std::string m = ReadOrDie(Shared(kPy + msg));
    std::string crlf;
    for (size_t i = 0; i < m.size(); ++i) {
      if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) crlf += '\r';
      crlf += m[i];
    }
    for (const auto& k : keys) {
      for (DkimCanonPair canon :
           {DkimCanonPair{}, DkimCanonPair{DkimCanon::kSimple, DkimCanon::kSimple}}) {
        SCOPED_TRACE(msg + " " + k.key + " " + DkimCanonName(canon));
        DkimSignerOptions o;
        o.domain = "example.com";
        o.selector = "test";
        o.algorithm = k.alg;
        o.canon = canon;
        auto signer = DkimSigner::Create(*DkimPrivateKey::Load(Shared(kPy + k.key)), o);
        ASSERT_TRUE(signer.ok()) << signer.status().message();
        auto out = signer->SignMessage(crlf, 1795600000);
        ASSERT_TRUE(out.ok()) << out.status().message();
        DkimVerifyOptions vo;
        vo.key_lookup = Table({{"test._domainkey.example.com", ReadOrDie(Shared(kPy + k.record))}});
        auto v = VerifyDkim(*out, vo);  // ours first; message.mbox keeps its own below
        ASSERT_GE(v.size(), 1u);
        EXPECT_EQ(v[0].result, DkimResult::kPass) << v[0].reason;
      }
    }
  }
}

}  // namespace
}  // namespace sealmail
