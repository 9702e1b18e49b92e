// DKIM (RFC 6376) signing and verification, with rsa-sha256 and
// ed25519-sha256 (RFC 8463), and DMARC relaxed alignment of a From domain
// with a signing domain (RFC 7489 §3.1.1, organisational domain from the
// Public Suffix List via libpsl).
//
// Secrets stay here (STYLE.md §12): this folder is the only code that reads
// key files or holds key bytes. Private keys are loaded into OpenSSL EVP_PKEY
// objects; nothing outside can get their bytes, only sign with them or derive
// the public half. Ed25519 signing is libsodium's (2.3-2.4x OpenSSL 3.0's
// speed here): each signing thread also keeps a copy of the key, expanded for
// libsodium, in sodium_malloc memory (guard pages, no core dumps, wiped when
// freed).
//
// Who owns what:
//  - DkimPrivateKey / DkimPublicKey are cheap handles: copies share one
//    immutable EVP_PKEY (reference-counted).
//  - DkimSigner owns its options and a key handle; it is immutable after
//    Create.
//
// Thread-safety: every type here is immutable after construction, and every
// function is safe to call from several threads at once. DkimSigner::Sign
// uses the shared EVP_PKEY read-only and keeps its signing context per
// thread, so one signer may serve a whole thread pool.
//
// Line ends: Sign requires CRLF line ends (what goes on the wire) and refuses
// a message with a bare CR or LF. VerifyDkim accepts LF-only files as stored
// by many tools (each bare LF is read as CRLF, as dkimpy and OpenDKIM do).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

struct evp_pkey_st;

namespace sealmail {

struct Campaign;

enum class DkimAlgorithm {
  kRsaSha256,
  kEd25519Sha256,
  kRsaSha1,  // verification only, and never accepted (RFC 8301); see kRefusedAlgorithm
};
std::string_view DkimAlgorithmName(DkimAlgorithm a);  // "rsa-sha256", ...
// "rsa-sha256" or "ed25519-sha256" (what a signer may use).
Result<DkimAlgorithm> ParseSigningAlgorithm(std::string_view name);

enum class DkimKeyType { kRsa, kEd25519 };
std::string_view DkimKeyTypeName(DkimKeyType t);  // "rsa", "ed25519" (the k= value)

enum class DkimCanon { kSimple, kRelaxed };
struct DkimCanonPair {
  DkimCanon header = DkimCanon::kRelaxed;
  DkimCanon body = DkimCanon::kRelaxed;
};
// "relaxed/relaxed", "simple/simple", "relaxed/simple", "relaxed" (body
// simple, RFC 6376 §3.5 c=) ...
Result<DkimCanonPair> ParseDkimCanon(std::string_view text);
std::string DkimCanonName(DkimCanonPair c);

class DkimPublicKey {
 public:
  // The value of a DNS TXT record at SELECTOR._domainkey.DOMAIN
  // ("v=DKIM1; k=rsa; p=..."). Strict: a malformed tag list, a v= other than
  // DKIM1 (or not first), an unknown k=, an h= without sha256, an s= without
  // email or *, p= that is not base64 or not a key of type k=, and a revoked
  // key (empty p=) are refused with a reason that names the tag.
  static Result<DkimPublicKey> FromRecord(std::string_view record);
  // "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo) or
  // "-----BEGIN RSA PUBLIC KEY-----" (PKCS#1).
  static Result<DkimPublicKey> FromPem(std::string_view pem);
  // A file holding a TXT record value, a public key PEM or a private key (its
  // public half). Errors name the path.
  static Result<DkimPublicKey> Load(const std::string& path);

  DkimKeyType type() const { return type_; }
  int bits() const { return bits_; }
  bool testing() const { return testing_; }  // record t=y
  bool strict() const { return strict_; }    // record t=s: i= domain must equal d=
  // The TXT record value to publish: "v=DKIM1; k=rsa; p=<SPKI DER base64>"
  // (ed25519: the raw 32-byte key, RFC 8463 §4.2).
  std::string RecordText() const;
  bool SameKey(const DkimPublicKey& other) const;

 private:
  friend class DkimPrivateKey;
  friend struct DkimKeyAccess;
  std::shared_ptr<evp_pkey_st> pkey_;
  DkimKeyType type_ = DkimKeyType::kRsa;
  int bits_ = 0;
  bool testing_ = false;
  bool strict_ = false;
};

class DkimPrivateKey {
 public:
  // PEM: PKCS#1 "RSA PRIVATE KEY", PKCS#8 "PRIVATE KEY" (RSA or Ed25519).
  // Encrypted PEM is refused (sealmail runs unattended; protect the file).
  // Also a raw 32-byte Ed25519 seed in base64 (the RFC 8463 / dkimpy form).
  // name labels error messages (usually the path).
  static Result<DkimPrivateKey> Parse(std::string_view text, std::string_view name);
  static Result<DkimPrivateKey> Load(const std::string& path);

  DkimKeyType type() const { return type_; }
  int bits() const { return bits_; }
  DkimPublicKey PublicKey() const;

 private:
  friend struct DkimKeyAccess;
  std::shared_ptr<evp_pkey_st> pkey_;
  DkimKeyType type_ = DkimKeyType::kRsa;
  int bits_ = 0;
};

// The DNS record an operator publishes for a key.
struct DkimDnsRecord {
  std::string name;                  // "s2026._domainkey.example.com." (fully qualified)
  std::string value;                 // "v=DKIM1; k=rsa; p=..."
  std::vector<std::string> strings;  // value split into <=255-octet character-strings
  std::string zone_line;             // name. IN TXT "..." "..." (BIND zone syntax)
};
DkimDnsRecord MakeDkimDnsRecord(const DkimPublicKey& key, std::string_view selector,
                                std::string_view domain);

struct DkimSignerOptions {
  std::string domain;    // d=, lower-case A-labels
  std::string selector;  // s=
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  DkimCanonPair canon;         // relaxed/relaxed by default
  std::string identity;        // i= ("@example.com", "user@sub.example.com"), empty for none
  int64_t expire_seconds = 0;  // x= = t= + this; 0 for no x=
};

class DkimSigner {
 public:
  // Checks the options (domain and selector syntax, i= within d=) and that
  // the key fits the algorithm: RSA of 1024..4096 bits for rsa-sha256,
  // Ed25519 for ed25519-sha256.
  static Result<DkimSigner> Create(DkimPrivateKey key, DkimSignerOptions options);

  // The DKIM-Signature header field (folded to <= 78 columns, ending in
  // CRLF) for `message`, signed at now_unix (t=). Signs these header fields
  // when present, in this order: From (listed twice so that a second From
  // cannot be added), To, Subject, Date, Message-ID, MIME-Version,
  // Content-Type, Content-Transfer-Encoding, Reply-To, List-Unsubscribe,
  // List-Unsubscribe-Post (h=from:from:to:...). kInvalid when the message
  // has no From header, a bare CR or LF, or starts with a continuation line;
  // kInternal when OpenSSL fails.
  Result<std::string> Sign(std::string_view message, int64_t now_unix) const;
  // Sign, then the header field followed by the message.
  Result<std::string> SignMessage(std::string_view message, int64_t now_unix) const;

  const DkimSignerOptions& options() const { return options_; }
  DkimPublicKey PublicKey() const { return key_.PublicKey(); }

 private:
  DkimSigner(DkimPrivateKey key, DkimSignerOptions options)
      : key_(std::move(key)), options_(std::move(options)) {}
  // The header field into *out, reserving `extra` more bytes (the message).
  Status SignInto(std::string_view message, int64_t now_unix, size_t extra, std::string* out) const;
  DkimPrivateKey key_;
  DkimSignerOptions options_;
  std::string canon_name_;  // "relaxed/relaxed"
};

// ---- Verification ----------------------------------------------------------

enum class DkimResult {
  kPass,
  kNoSignature,       // no DKIM-Signature header field
  kMalformed,         // the DKIM-Signature's tags are invalid (reason names the tag)
  kRefusedAlgorithm,  // a= unknown, or rsa-sha1 (RFC 8301), or q= not dns/txt
  kWrongDomain,       // d= is not the domain we expected
  kKeyUnavailable,    // no key for this d=/s=
  kBadKey,            // the key record is malformed, revoked, too weak, or not for email
  kKeyMismatch,       // the signature was not made with this key (or key type differs from a=)
  kBodyChanged,       // bh= does not match the body
  kHeaderChanged,     // the signature does not match the signed header fields
  kExpired,           // valid, but x= is in the past
};
std::string_view DkimResultName(DkimResult r);  // "pass", "body changed", ...

struct DkimSignatureInfo {
  std::string algorithm;             // a= as written (lower-case)
  std::string domain;                // d=, lower-case
  std::string selector;              // s=
  std::string identity;              // i=, or empty
  std::string canon;                 // "relaxed/relaxed"
  std::vector<std::string> headers;  // h=, lower-case, in order
  int64_t timestamp = -1;            // t=, -1 when absent
  int64_t expires = -1;              // x=, -1 when absent
  int64_t body_length = -1;          // l=, -1 when absent
};

struct DkimVerdict {
  DkimResult result = DkimResult::kNoSignature;
  std::string reason;  // one line a person can act on
  DkimSignatureInfo sig;
  int key_bits = 0;
  bool key_testing = false;          // the key record says t=y
  uint64_t unsigned_body_bytes = 0;  // l= shorter than the body: bytes nobody signed
};

// Looks up the public key for (domain, selector): kNotFound for "no such
// key", any other error for a key that exists but is unusable (reason kept).
using DkimKeyLookup =
    std::function<Result<DkimPublicKey>(std::string_view domain, std::string_view selector)>;

struct DkimVerifyOptions {
  DkimKeyLookup key_lookup;
  int64_t now_unix = 0;
  std::string expected_domain;  // when set, another d= is kWrongDomain
  size_t max_signatures = 10;   // signatures beyond this are not examined
};

// One verdict per DKIM-Signature header field (top to bottom), or a single
// kNoSignature verdict. Never fails: every problem is a verdict with a reason.
std::vector<DkimVerdict> VerifyDkim(std::string_view message, const DkimVerifyOptions& options);

// ---- Alignment (DMARC relaxed, RFC 7489 §3.1.1) ----------------------------

// The organisational domain: the registrable domain per the Public Suffix
// List (libpsl, the system's newest list), or the domain itself when it is a
// public suffix or unknown. Input and output are lower-case A-labels.
std::string OrganizationalDomain(std::string_view domain);
// True when both have the same organisational domain.
bool DkimAligned(std::string_view from_domain, std::string_view signing_domain);

// ---- The campaign's [dkim] section ------------------------------------------

struct DkimCampaignCheck {
  bool configured = false;  // the campaign has a [dkim] section
  std::string domain, selector, algorithm;
  DkimKeyType key_type = DkimKeyType::kRsa;
  int key_bits = 0;
  std::string from_domain;
  std::string from_org, signing_org;  // organisational domains
  bool aligned = false;
  std::string problem;             // why the campaign may not be sent signed, empty when fine
  std::vector<std::string> notes;  // advice that does not block (1024-bit key, ...)
  DkimDnsRecord record;
};

// Loads the campaign's key and checks it against the algorithm (errors are
// kInvalid and name campaign.toml, [dkim] and the key file), then checks
// DMARC relaxed alignment of the From domain with d= (a misalignment is not
// an error: it is reported in `problem`).
Result<DkimCampaignCheck> CheckCampaignDkim(const Campaign& c);

// The campaign's signer, or nullopt when it has no [dkim] section. Errors as
// CheckCampaignDkim; does not check alignment.
Result<std::optional<DkimSigner>> MakeCampaignSigner(const Campaign& c);

}  // namespace sealmail
