// Internals of src/dkim shared by its .cc files, its tests and its fuzz
// target. Not for other components: include dkim/dkim.h.
//
// Pure functions over caller-owned bytes; thread-safe.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "dkim/dkim.h"

namespace sealmail {

struct DkimKeyAccess {
  static EVP_PKEY* Get(const DkimPublicKey& k) { return k.pkey_.get(); }
  static EVP_PKEY* Get(const DkimPrivateKey& k) { return k.pkey_.get(); }
  static std::shared_ptr<EVP_PKEY> Shared(const DkimPrivateKey& k) { return k.pkey_; }
  // Takes ownership of pkey (an RSA or Ed25519 key).
  static Result<DkimPublicKey> MakePublic(EVP_PKEY* pkey);
};

// Message digests fetched once (OpenSSL 3 implicit fetches per use are slow).
const EVP_MD* DkimSha256();
const EVP_MD* DkimSha1();

struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;

// ---- base64 (RFC 4648 §4, with padding) ----

std::string Base64Encode(const uint8_t* data, size_t n);
// Strict: only the base64 alphabet, correct '=' padding, no bits left over;
// white space (SP, HTAB, CR, LF) is skipped, as DKIM allows FWS in b=/bh=/p=.
// Written here rather than with EVP_DecodeBlock, which accepts garbage after
// padding and pads the output with zero bytes.
Result<std::string> Base64DecodeStrict(std::string_view in);

// ---- tag lists (RFC 6376 §3.2) ----

struct DkimTag {
  std::string name;    // as written (tag names are case-sensitive)
  std::string value;   // trimmed of surrounding white space
  size_t value_begin;  // offset just after '=' in the parsed text
  size_t spec_end;     // offset of the ';' that ends the tag-spec, or the text's end
};
// Strict tag-list parser: tag names ALPHA *(ALPHA / DIGIT / "_"), values of
// VALCHAR separated by white space, a tag at most once, empty tag-specs only
// as one trailing ';'. Errors say what and where ("tag 3: ...").
Result<std::vector<DkimTag>> ParseDkimTagList(std::string_view text);
const DkimTag* FindTag(const std::vector<DkimTag>& tags, std::string_view name);

// ---- header fields ----

struct DkimHeaderField {
  std::string_view raw;   // the whole field including its continuation lines and final CRLF
  std::string_view name;  // before the colon, trailing white space removed
  size_t colon = 0;       // offset of ':' in raw
};
struct DkimMessageParts {
  std::vector<DkimHeaderField> fields;  // top to bottom
  std::string_view body;                // after the blank line (empty if none)
  bool bare_cr_or_lf = false;           // in the header block
};
// Splits a CRLF message into header fields and body. Lines in the header
// block without a colon are skipped (a verifier cannot select them).
DkimMessageParts SplitDkimMessage(std::string_view message);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Appends the canonical form of one field (RFC 6376 §3.4.1/§3.4.2),
// including its final CRLF.
void CanonicalizeHeader(DkimCanon c, std::string_view raw, size_t colon, std::string* out);

// Appends the canonical fields named by h= (lower-case names), selecting for
// each name the bottom-most instance not yet used, as RFC 6376 §5.4.2 says;
// a name with no instance left adds nothing. The field at index `self` (the
// signature being verified) is never selected.
void AppendSignedFields(const DkimMessageParts& parts, std::span<const std::string_view> names,
                        DkimCanon c, size_t self, std::string* out);

// ---- body ----

struct DkimBodyHash {
  std::string digest;             // raw digest bytes
  uint64_t canonical_length = 0;  // the whole canonical body, before any l= limit
  bool bare_cr_or_lf = false;
};
// One pass over the body: canonicalise (§3.4.3/§3.4.4) and hash, without a
// canonical copy or regular expressions. limit < 0: whole body; else l=.
// ctx: a context to use (re-initialised here), or null for a fresh one.
Result<DkimBodyHash> HashDkimBody(DkimCanon c, std::string_view body, const EVP_MD* md,
                                  int64_t limit = -1, EVP_MD_CTX* ctx = nullptr);
// The canonical body itself (for tests).
std::string CanonicalizeBody(DkimCanon c, std::string_view body);

// ---- DKIM-Signature ----

struct DkimParsedSignature {
  DkimSignatureInfo info;
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  DkimCanonPair canon;
  std::string b;                             // decoded signature
  std::string bh;                            // decoded body hash
  size_t b_value_begin = 0, b_spec_end = 0;  // where b='s value sits in the parsed text
};
// Parses the value of a DKIM-Signature header field (everything after the
// colon, without the final CRLF). On failure *refused is set when the
// signature is well-formed but uses something we do not accept (a=, q=, v=),
// cleared when it is malformed.
Result<DkimParsedSignature> ParseDkimSignature(std::string_view value, bool* refused);

// PureEdDSA Ed25519 (RFC 8032 §5.1.6) of msg with key's seed, by libsodium
// (the key is expanded once a thread). Deterministic: the same 64 bytes as
// OpenSSL's EVP_DigestSign.
Status SignEd25519(const DkimPrivateKey& key, std::string_view msg, unsigned char sig[64]);

// Domain-name syntax for d= and selectors: dot-separated labels of letters,
// digits, '-' (and '_' when allow_underscore), no empty label, <= 253 octets.
bool ValidDkimDomain(std::string_view d, bool allow_underscore);

}  // namespace sealmail
