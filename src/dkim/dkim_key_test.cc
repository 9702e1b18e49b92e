#include <gtest/gtest.h>

#include "dkim/dkim_internal.h"
#include "dkim/dkim_test_util.h"

namespace sealmail {
namespace {

using dkimtest::ReadOrDie;
using dkimtest::Shared;

std::string Dkimpy(const std::string& f) { return Shared("dkimpy-testdata/" + f); }

// Records shipped with dkimpy: good ones load, malformed ones are refused
// with a reason naming the problem.
TEST(DkimKeyTest, RecordsFromDkimpy) {
  struct Case {
    std::string file;
    std::string want;  // empty: loads; else a substring of the refusal
    DkimKeyType type = DkimKeyType::kRsa;
    int bits = 0;
  } cases[] = {
      {"test.txt", "", DkimKeyType::kRsa, 1024},
      {"test2.txt", "", DkimKeyType::kRsa, 1024},  // no k=: rsa is the default
      {"1024_testkey_wo_markers.pub.txt", "", DkimKeyType::kRsa, 1024},
      {"1024_testkey_wo_markers.pub.rsa.txt", "", DkimKeyType::kRsa, 1024},  // bare PKCS#1
      {"2048_testkey_wo_markers.pub.txt", "", DkimKeyType::kRsa, 2048},
      {"2048_testkey_wo_markers.pub.rsa.txt", "", DkimKeyType::kRsa, 2048},
      {"2048_testkey_PKCS8.key.pub.txt", "", DkimKeyType::kRsa, 2048},
      {"ed25519test.dns", "", DkimKeyType::kEd25519, 256},
      {"eximtest.dns", "", DkimKeyType::kEd25519, 256},
      {"badk.txt", "unknown key type k=ed25519-sha256"},
      {"badversion.txt", "bad v=\"DKIM1: g=*\" (expected DKIM1)"},
      {"test_bad.txt", "p= is not a DER-encoded RSA public key"},
      {"test_tlsrpt.txt", "s=tlsrpt: the key is not for email"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.file);
    auto k = DkimPublicKey::FromRecord(ReadOrDie(Dkimpy(c.file)));
    if (c.want.empty()) {
      ASSERT_TRUE(k.ok()) << k.status().message();
      EXPECT_EQ(k->type(), c.type);
      EXPECT_EQ(k->bits(), c.bits);
    } else {
      ASSERT_FALSE(k.ok());
      EXPECT_NE(k.status().message().find(c.want), std::string::npos) << k.status().message();
    }
  }
}

TEST(DkimKeyTest, MalformedRecords) {
  struct Case {
    std::string record, want;
  } cases[] = {
      {"v=DKIM1; k=rsa; p=", "empty p=: the key has been revoked"},
      {"v=DKIM1; k=rsa; p= ", "revoked"},
      {"v=DKIM1; k=rsa", "no p= tag"},
      {"k=rsa; v=DKIM1; p=AAAA", "v= must be the first tag"},
      {"v=DKIM2; p=AAAA", "bad v=\"DKIM2\""},
      {"v=DKIM1; k=dsa; p=AAAA", "unknown key type k=dsa"},
      {"v=DKIM1; p=MIGf!!", "p= is not valid base64"},
      {"v=DKIM1; p=MIGfMA0", "p= is not valid base64"},
      {"v=DKIM1; h=sha1; p=AAAA", "h=sha1 does not allow sha256"},
      {"v=DKIM1; k=ed25519; p=AAAA", "must be 32 bytes, got 3"},
      {"v=DKIM1; k=rsa; p=AAAA", "not a DER-encoded RSA public key"},
      {"v=DKIM1; p=AAAA; p=AAAA", "p= appears twice"},
      {"v=DKIM1;; p=AAAA", "empty tag"},
      {"garbage", "expected '='"},
  };
  for (const auto& c : cases) {
    auto k = DkimPublicKey::FromRecord(c.record);
    ASSERT_FALSE(k.ok()) << c.record;
    EXPECT_NE(k.status().message().find(c.want), std::string::npos)
        << c.record << " -> " << k.status().message();
    EXPECT_EQ(k.status().message().rfind("key record: ", 0), 0u);
  }
}

TEST(DkimKeyTest, RecordFlagsAndServiceTypes) {
  std::string p = DkimPublicKey::FromRecord(ReadOrDie(Dkimpy("test.txt")))->RecordText();
  std::string pvalue = p.substr(p.find("p="));
  auto k = DkimPublicKey::FromRecord("v=DKIM1; t=y:s; s=email:tlsrpt; h=sha1:sha256; " + pvalue);
  ASSERT_TRUE(k.ok()) << k.status().message();
  EXPECT_TRUE(k->testing());
  EXPECT_TRUE(k->strict());
  EXPECT_TRUE(DkimPublicKey::FromRecord("s=*; " + pvalue).ok());
}

// Private keys in every accepted form; the public half matches the record
// published for it.
TEST(DkimKeyTest, PrivateKeyFormsMatchTheirRecords) {
  struct Case {
    std::string key, record;
    DkimKeyType type;
    int bits;
  } cases[] = {
      {Dkimpy("test.private"), Dkimpy("test.txt"), DkimKeyType::kRsa, 1024},
      {Dkimpy("1024_testkey.key"), Dkimpy("1024_testkey_wo_markers.pub.txt"), DkimKeyType::kRsa,
       1024},
      {Dkimpy("2048_testkey.key"), Dkimpy("2048_testkey_wo_markers.pub.txt"), DkimKeyType::kRsa,
       2048},
      {Dkimpy("2048_testkey.key"), Dkimpy("2048_testkey_wo_markers.pub.rsa.txt"), DkimKeyType::kRsa,
       2048},
      {Dkimpy("2048_testkey_PKCS8.key"), Dkimpy("2048_testkey_PKCS8.key.pub.txt"),
       DkimKeyType::kRsa, 2048},
      {Dkimpy("ed25519test.key"), Dkimpy("ed25519test.dns"), DkimKeyType::kEd25519, 256},
      {Shared("dkim-rfc8463/brisbane.ed25519.seed.b64"),
       Shared("dkim-rfc8463/brisbane._domainkey.football.example.com.txt"), DkimKeyType::kEd25519,
       256},
      {Shared("dkim-rfc8463/test.rsa.private.pem"),
       Shared("dkim-rfc8463/test._domainkey.football.example.com.txt"), DkimKeyType::kRsa, 1024},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    auto priv = DkimPrivateKey::Load(c.key);
    ASSERT_TRUE(priv.ok()) << priv.status().message();
    EXPECT_EQ(priv->type(), c.type);
    EXPECT_EQ(priv->bits(), c.bits);
    auto rec = DkimPublicKey::FromRecord(ReadOrDie(c.record));
    ASSERT_TRUE(rec.ok()) << rec.status().message();
    EXPECT_TRUE(priv->PublicKey().SameKey(*rec));
    // And the record we would publish reads back as the same key.
    auto again = DkimPublicKey::FromRecord(priv->PublicKey().RecordText());
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->SameKey(*rec));
    // Load() of a record file and of the private key file agree.
    auto from_record = DkimPublicKey::Load(c.record);
    ASSERT_TRUE(from_record.ok()) << from_record.status().message();
    EXPECT_TRUE(from_record->SameKey(*rec));
    auto from_key = DkimPublicKey::Load(c.key);
    ASSERT_TRUE(from_key.ok()) << from_key.status().message();
    EXPECT_TRUE(from_key->SameKey(*rec));
  }
}

TEST(DkimKeyTest, RefusedPrivateKeys) {
  std::string ec = dkimtest::GenerateKeyPem("EC", 0);
  struct Case {
    std::string text, want;
  } cases[] = {
      {"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
       "encrypted"},
      {"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", "not a private key"},
      {"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
       "not a readable PEM private key"},
      {"hello", "nor a base64 Ed25519 seed"},
      {"AAAA", "nor a base64 Ed25519 seed"},
      {"", "nor a base64 Ed25519 seed"},
  };
  for (const auto& c : cases) {
    auto k = DkimPrivateKey::Parse(c.text, "k.pem");
    ASSERT_FALSE(k.ok()) << c.text;
    EXPECT_EQ(k.status().message().rfind("k.pem: ", 0), 0u) << k.status().message();
    EXPECT_NE(k.status().message().find(c.want), std::string::npos) << k.status().message();
  }
  EXPECT_FALSE(DkimPrivateKey::Load("/nonexistent/key.pem").ok());
}

TEST(DkimKeyTest, PublicPemForms) {
  auto priv = DkimPrivateKey::Load(Dkimpy("2048_testkey.key"));
  ASSERT_TRUE(priv.ok());
  // SubjectPublicKeyInfo and PKCS#1 PEM, written by OpenSSL itself.
  DkimPublicKey pub = priv->PublicKey();
  EVP_PKEY* pk = DkimKeyAccess::Get(pub);
  for (bool pkcs1 : {false, true}) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (pkcs1) {
      unsigned char* der = nullptr;
      int len = i2d_PublicKey(pk, &der);
      PEM_write_bio(bio, "RSA PUBLIC KEY", "", der, len);
      OPENSSL_free(der);
    } else {
      PEM_write_bio_PUBKEY(bio, pk);
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    auto k = DkimPublicKey::FromPem(std::string(data, static_cast<size_t>(len)));
    BIO_free(bio);
    ASSERT_TRUE(k.ok()) << k.status().message();
    EXPECT_TRUE(k->SameKey(priv->PublicKey()));
  }
  EXPECT_FALSE(
      DkimPublicKey::FromPem("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
          .ok());
}

TEST(DkimKeyTest, DnsRecordIsSplitIntoCharacterStrings) {
  for (int bits : {1024, 2048, 4096}) {
    auto key = dkimtest::Key("RSA", bits).PublicKey();
    DkimDnsRecord r = MakeDkimDnsRecord(key, "s2026", "example.com");
    EXPECT_EQ(r.name, "s2026._domainkey.example.com.");
    EXPECT_EQ(r.value.rfind("v=DKIM1; k=rsa; p=MI", 0), 0u);
    std::string joined;
    for (const auto& s : r.strings) {
      EXPECT_LE(s.size(), 255u);
      joined += s;
    }
    EXPECT_EQ(joined, r.value);
    EXPECT_EQ(r.strings.size(), (r.value.size() + 254) / 255);
    EXPECT_EQ(r.zone_line.rfind("s2026._domainkey.example.com. IN TXT \"v=DKIM1; k=rsa; p=", 0),
              0u);
    EXPECT_TRUE(DkimPublicKey::FromRecord(r.value)->SameKey(key));
  }
  auto ed = dkimtest::Key("ED25519").PublicKey();
  DkimDnsRecord r = MakeDkimDnsRecord(ed, "e1", "example.com");
  EXPECT_EQ(r.value.rfind("v=DKIM1; k=ed25519; p=", 0), 0u);
  EXPECT_EQ(r.value.size(), 22u + 44u);
  EXPECT_EQ(r.strings.size(), 1u);
}

TEST(DkimKeyTest, OrganizationalDomain) {
  struct Case {
    std::string in, want;
  } cases[] = {
      {"example.com", "example.com"},
      {"mail.news.example.com", "example.com"},
      {"Example.COM.", "example.com"},
      {"example.co.uk", "example.co.uk"},
      {"a.b.example.co.uk", "example.co.uk"},
      {"co.uk", "co.uk"},                      // a public suffix is its own (no registrable domain)
      {"alice.github.io", "alice.github.io"},  // private section of the list
      {"x.alice.github.io", "alice.github.io"},
      {"mail.example", "mail.example"},    // unknown TLD: the "*" rule
      {"a.b.xn--fiqs8s", "b.xn--fiqs8s"},  // IDN TLD in A-labels
      {"[192.0.2.1]", "[192.0.2.1]"},
  };
  for (const auto& c : cases) EXPECT_EQ(OrganizationalDomain(c.in), c.want) << c.in;
  EXPECT_TRUE(DkimAligned("news.example.com", "example.com"));
  EXPECT_TRUE(DkimAligned("example.com", "mail.example.com"));
  EXPECT_FALSE(DkimAligned("example.com", "example.net"));
  EXPECT_FALSE(DkimAligned("example.co.uk", "other.co.uk"));
  EXPECT_FALSE(DkimAligned("alice.github.io", "bob.github.io"));
}

}  // namespace
}  // namespace sealmail
