// DkimSigner: RFC 6376 §5 signing with rsa-sha256 and ed25519-sha256.
#include <openssl/rsa.h>
#include <sodium.h>

#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "dkim/dkim_internal.h"

namespace sealmail {
namespace {

// Signed when present, in this order, lower-case as in h= (field names
// compare case-insensitively). h= lists "from" once more: over-signing, RFC
// 6376 §8.15, so nobody can add a second From that a reader would see.
constexpr std::string_view kSignedFields[] = {
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
    "list-unsubscribe-post",
};
constexpr size_t kMaxColumns = 78;

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Builds a header field folded at tag boundaries (and inside h= and b=) so
// that no line exceeds kMaxColumns.
class Folder {
 public:
  Folder(std::string_view name, size_t reserve) : col_(name.size() + 1) {
    out_.reserve(reserve);
    out_.append(name);
    out_ += ':';
  }
  // The pieces of one token, preceded by a space (sep) or directly attached;
  // folds before it when it would not fit (the fold's CRLF SP is itself the
  // separator). keep_with: room to leave for what must follow on the line.
  void Add(std::initializer_list<std::string_view> pieces, bool sep, size_t keep_with = 0) {
    size_t len = 0;
    for (auto p : pieces) len += p.size();
    if (col_ + len + keep_with + (sep ? 1 : 0) > kMaxColumns && col_ > 1) {
      out_ += "\r\n ";
      col_ = 1;
    } else if (sep) {
      out_ += ' ';
      ++col_;
    }
    for (auto p : pieces) out_.append(p);
    col_ += len;
  }
  // A long value that may be broken anywhere (base64 allows FWS inside).
  void AddBreakable(std::string_view v) {
    while (!v.empty()) {
      if (col_ >= kMaxColumns) {
        out_ += "\r\n ";
        col_ = 1;
      }
      size_t n = std::min(v.size(), kMaxColumns - col_);
      out_.append(v.data(), n);
      col_ += n;
      v.remove_prefix(n);
    }
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
  size_t col_;
};

bool ValidIdentity(std::string_view i, std::string_view d) {
  size_t at = i.rfind('@');
  if (at == std::string_view::npos) return false;
  for (char c : i.substr(0, at)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view(".!#$%&'*+/?^_`{|}~-").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  std::string dom = LowerAscii(i.substr(at + 1));
  if (!ValidDkimDomain(dom, false)) return false;
  return dom == d ||
         (dom.size() > d.size() && dom.compare(dom.size() - d.size(), d.size(), d) == 0 &&
          dom[dom.size() - d.size() - 1] == '.');
}

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

std::string_view Number(char (&buf)[24], long long v) {
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // no format string to parse
  return std::string_view(buf, ec == std::errc() ? static_cast<size_t>(end - buf) : 0);
}

}  // namespace

std::string_view DkimAlgorithmName(DkimAlgorithm a) {
  switch (a) {
    case DkimAlgorithm::kRsaSha256:
      return "rsa-sha256";
    case DkimAlgorithm::kEd25519Sha256:
      return "ed25519-sha256";
    case DkimAlgorithm::kRsaSha1:
      return "rsa-sha1";
  }
  return "?";
}

Result<DkimAlgorithm> ParseSigningAlgorithm(std::string_view name) {
  if (name == "rsa-sha256") return DkimAlgorithm::kRsaSha256;
  if (name == "ed25519-sha256") return DkimAlgorithm::kEd25519Sha256;
  return Status::Invalid("unknown DKIM algorithm \"" + std::string(name) +
                         "\" (expected rsa-sha256 or ed25519-sha256)");
}

Result<DkimCanonPair> ParseDkimCanon(std::string_view text) {
  auto one = [](std::string_view s, DkimCanon* out) {
    if (s == "simple")
      *out = DkimCanon::kSimple;
    else if (s == "relaxed")
      *out = DkimCanon::kRelaxed;
    else
      return false;
    return true;
  };
  DkimCanonPair c;
  size_t slash = text.find('/');
  bool ok;
  if (slash == std::string_view::npos) {
    ok = one(text, &c.header);
    c.body = DkimCanon::kSimple;  // RFC 6376 §3.5: "c=relaxed" means relaxed/simple
  } else {
    ok = one(text.substr(0, slash), &c.header) && one(text.substr(slash + 1), &c.body);
  }
  if (!ok) {
    return Status::Invalid("unknown canonicalization \"" + std::string(text.substr(0, 40)) +
                           "\" (expected simple or relaxed, e.g. relaxed/relaxed)");
  }
  return c;
}

std::string DkimCanonName(DkimCanonPair c) {
  auto n = [](DkimCanon x) { return x == DkimCanon::kSimple ? "simple" : "relaxed"; };
  return std::string(n(c.header)) + "/" + n(c.body);
}

Result<DkimSigner> DkimSigner::Create(DkimPrivateKey key, DkimSignerOptions o) {
  o.domain = LowerAscii(o.domain);
  if (!ValidDkimDomain(o.domain, false)) {
    return Status::Invalid("domain \"" + o.domain + "\" is not a domain name (A-labels)");
  }
  if (!ValidDkimDomain(o.selector, true)) {
    return Status::Invalid("selector \"" + o.selector + "\" is not a valid DNS label sequence");
  }
  if (!o.identity.empty() && !ValidIdentity(o.identity, o.domain)) {
    return Status::Invalid("identity \"" + o.identity +
                           "\" must be an address or \"@domain\" "
                           "in " +
                           o.domain + " or a subdomain of it");
  }
  if (o.expire_seconds < 0) return Status::Invalid("negative expiry");
  std::string have = key.type() == DkimKeyType::kRsa
                         ? "a " + std::to_string(key.bits()) + "-bit RSA key"
                         : "an Ed25519 key";
  switch (o.algorithm) {
    case DkimAlgorithm::kRsaSha256:
      if (key.type() != DkimKeyType::kRsa) {
        return Status::Invalid("algorithm rsa-sha256 needs an RSA key, but the key is " + have);
      }
      if (key.bits() < 1024 || key.bits() > 4096) {
        return Status::Invalid("the key is " + have +
                               "; rsa-sha256 keys must have 1024 to "
                               "4096 bits (RFC 8301; 2048 recommended)");
      }
      break;
    case DkimAlgorithm::kEd25519Sha256:
      if (key.type() != DkimKeyType::kEd25519) {
        return Status::Invalid("algorithm ed25519-sha256 needs an Ed25519 key, but the key is " +
                               have);
      }
      break;
    case DkimAlgorithm::kRsaSha1:
      return Status::Invalid("rsa-sha1 must not be used for signing (RFC 8301)");
  }
  DkimSigner signer(std::move(key), std::move(o));
  signer.canon_name_ = DkimCanonName(signer.options_.canon);
  return signer;
}

namespace {

// libsodium's Ed25519 secret key (seed and public key, 64 bytes), in
// sodium_malloc memory: guard pages around it, left out of core dumps, locked
// out of swap where RLIMIT_MEMLOCK allows, wiped by sodium_free.
struct SodiumSecretKey {
  unsigned char* bytes = nullptr;
  SodiumSecretKey() = default;
  SodiumSecretKey(const SodiumSecretKey&) = delete;
  SodiumSecretKey& operator=(const SodiumSecretKey&) = delete;
  ~SodiumSecretKey() { Reset(); }
  void Reset() {
    sodium_free(bytes);
    bytes = nullptr;
  }
};

// A signing context set up for one key, per thread: setting one up fetches
// the algorithm from OpenSSL's provider every time (~3 µs for RSA, under a
// lock the compose threads share). RSA: a context after EVP_PKEY_sign_init
// with PKCS#1 v1.5 and SHA-256, used for many signatures. Ed25519: the key
// expanded for libsodium, whose signing takes 13 µs here against OpenSSL
// 3.0's 31 µs (its fixed-base multiplication uses a larger precomputed
// table); Ed25519 is deterministic, so both give the same bytes. Holding the
// key keeps its address from being taken by another key while the context
// refers to it.
struct SigningContext {
  std::shared_ptr<EVP_PKEY> key;  // null: not set up
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> rsa;
  SodiumSecretKey ed;
  void Reset() {
    key.reset();
    rsa.reset();
    ed.Reset();
  }
};

// Expands an OpenSSL Ed25519 key for libsodium, and checks that both derive
// the same public key from the seed.
bool SetUpSodiumKey(EVP_PKEY* pkey, SodiumSecretKey* out) {
  static const bool initialised = sodium_init() >= 0;
  if (!initialised) return false;
  unsigned char seed[crypto_sign_SEEDBYTES];
  unsigned char pub[crypto_sign_PUBLICKEYBYTES];
  unsigned char openssl_pub[crypto_sign_PUBLICKEYBYTES];
  size_t seed_len = sizeof seed, pub_len = sizeof openssl_pub;
  bool ok = EVP_PKEY_get_raw_private_key(pkey, seed, &seed_len) == 1 && seed_len == sizeof seed &&
            EVP_PKEY_get_raw_public_key(pkey, openssl_pub, &pub_len) == 1 &&
            pub_len == sizeof openssl_pub;
  if (ok) {
    out->bytes = static_cast<unsigned char*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
    ok = out->bytes != nullptr && crypto_sign_seed_keypair(pub, out->bytes, seed) == 0 &&
         sodium_memcmp(pub, openssl_pub, sizeof pub) == 0;
  }
  sodium_memzero(seed, sizeof seed);
  if (!ok) out->Reset();
  return ok;
}

SigningContext* SigningContextFor(const DkimPrivateKey& k, DkimAlgorithm alg) {
  thread_local SigningContext sc;
  EVP_PKEY* pkey = DkimKeyAccess::Get(k);
  if (pkey == nullptr) return nullptr;
  if (sc.key.get() == pkey && sc.algorithm == alg) return &sc;
  sc.Reset();
  if (alg == DkimAlgorithm::kRsaSha256) {
    sc.rsa.reset(EVP_PKEY_CTX_new(pkey, nullptr));
    if (!sc.rsa || EVP_PKEY_sign_init(sc.rsa.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(sc.rsa.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(sc.rsa.get(), DkimSha256()) != 1) {
      return nullptr;
    }
  } else if (!SetUpSodiumKey(pkey, &sc.ed)) {
    return nullptr;
  }
  sc.key = DkimKeyAccess::Shared(k);
  sc.algorithm = alg;
  return &sc;
}

}  // namespace

Result<std::string> DkimSigner::Sign(std::string_view message, int64_t now_unix) const {
  std::string out;
  SM_RETURN_IF_ERROR(SignInto(message, now_unix, 0, &out));
  return out;
}

Result<std::string> DkimSigner::SignMessage(std::string_view message, int64_t now_unix) const {
  std::string out;
  SM_RETURN_IF_ERROR(SignInto(message, now_unix, message.size(), &out));
  out.append(message);
  return out;
}

// Per message: one pass over the body (canonicalised and hashed together,
// from the message's own bytes), one over the signed fields, one EVP_MD_CTX
// and one signature; the rest is a few hundred bytes of string building.
Status DkimSigner::SignInto(std::string_view message, int64_t now_unix, size_t extra,
                            std::string* out) const {
  // A leading continuation line would fold into the DKIM-Signature we put on
  // top and change it (found by dkim_verify_fuzz).
  if (!message.empty() && (message[0] == ' ' || message[0] == '\t')) {
    return Status::Invalid("DKIM: the header block starts with a continuation line");
  }
  DkimMessageParts parts = SplitDkimMessage(message);
  if (parts.bare_cr_or_lf) {
    return Status::Invalid(
        "DKIM: a bare CR or LF in the header block; messages are signed with CRLF line ends");
  }
  bool present[std::size(kSignedFields)] = {};
  for (const auto& f : parts.fields) {
    for (size_t i = 0; i < std::size(kSignedFields); ++i) {
      if (EqualsIgnoreCase(f.name, kSignedFields[i])) present[i] = true;
    }
  }
  if (!present[0]) return Status::Invalid("DKIM: the message has no From header field");

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return Status::Internal("DKIM: out of memory");
  SM_ASSIGN_OR_RETURN(DkimBodyHash bh,
                      HashDkimBody(options_.canon.body, parts.body, DkimSha256(), -1, ctx.get()));
  if (bh.bare_cr_or_lf) {
    return Status::Invalid(
        "DKIM: a bare CR or LF in the body; messages are signed with CRLF line ends");
  }

  Folder f("DKIM-Signature", 640 + extra);
  char num[24];
  f.Add({"v=1;"}, true);
  f.Add({"a=", DkimAlgorithmName(options_.algorithm), ";"}, true);
  f.Add({"c=", canon_name_, ";"}, true);
  f.Add({"d=", options_.domain, ";"}, true);
  f.Add({"s=", options_.selector, ";"}, true);
  if (!options_.identity.empty()) f.Add({"i=", options_.identity, ";"}, true);
  f.Add({"t=", Number(num, now_unix), ";"}, true);
  if (options_.expire_seconds > 0) {
    f.Add({"x=", Number(num, now_unix + options_.expire_seconds), ";"}, true);
  }
  // h=from:from:to:...; folded only after a ':' (FWS is allowed there).
  std::string_view names[std::size(kSignedFields) + 1];
  size_t n = 0;
  names[n++] = "from";
  for (size_t i = 0; i < std::size(kSignedFields); ++i) {
    if (present[i]) names[n++] = kSignedFields[i];
  }
  for (size_t i = 0; i < n; ++i)
    f.Add({i == 0 ? "h=" : "", names[i], i + 1 < n ? ":" : ";"}, i == 0);
  std::string bh64 =
      Base64Encode(reinterpret_cast<const uint8_t*>(bh.digest.data()), bh.digest.size());
  f.Add({"bh=", bh64, ";"}, true);
  f.Add({"b="}, true, /*keep_with=*/12);

  // Header hash input (§3.7): the signed fields in h= order, selected as a
  // verifier selects them (so a message with two From fields is signed as it
  // will be checked), then this field with an empty b= and no final CRLF.
  std::string input;
  input.reserve(1024);
  AppendSignedFields(parts, std::span<const std::string_view>(names, n), options_.canon.header,
                     SIZE_MAX, &input);
  std::string& sig_field = f.str();
  CanonicalizeHeader(options_.canon.header, sig_field, sig_field.find(':'), &input);
  if (options_.canon.header == DkimCanon::kRelaxed) input.resize(input.size() - 2);

  unsigned char digest[32];
  unsigned int dlen = 0;
  if (EVP_DigestInit_ex(ctx.get(), DkimSha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), input.data(), input.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &dlen) != 1) {
    return Status::Internal("DKIM: header digest failed");
  }
  unsigned char sig[512];
  size_t siglen = sizeof sig;
  if (options_.algorithm == DkimAlgorithm::kRsaSha256) {
    SigningContext* sc = SigningContextFor(key_, options_.algorithm);
    if (sc == nullptr) return Status::Internal("DKIM: RSA signing setup failed");
    if (EVP_PKEY_sign(sc->rsa.get(), sig, &siglen, digest, dlen) != 1) {
      sc->Reset();  // set up afresh next time
      return Status::Internal("DKIM: RSA signing failed");
    }
  } else {
    // RFC 8463 §3: PureEdDSA over the SHA-256 of the header hash input.
    SM_RETURN_IF_ERROR(
        SignEd25519(key_, std::string_view(reinterpret_cast<char*>(digest), dlen), sig));
    siglen = crypto_sign_BYTES;
  }
  f.AddBreakable(Base64Encode(sig, siglen));
  sig_field += "\r\n";
  *out = std::move(sig_field);
  return Status::Ok();
}

Status SignEd25519(const DkimPrivateKey& key, std::string_view msg, unsigned char sig[64]) {
  SigningContext* sc = SigningContextFor(key, DkimAlgorithm::kEd25519Sha256);
  if (sc == nullptr) return Status::Internal("DKIM: Ed25519 signing setup failed");
  if (crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(msg.data()),
                           msg.size(), sc->ed.bytes) != 0) {
    sc->Reset();
    return Status::Internal("DKIM: Ed25519 signing failed");
  }
  return Status::Ok();
}

}  // namespace sealmail
