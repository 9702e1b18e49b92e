// Verification (RFC 6376 §6) with reasons a person can act on.
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstring>
#include <ctime>

#include "base/ascii.h"
#include "dkim/dkim_internal.h"

namespace sealmail {
namespace {

std::string StripFws(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

std::string_view TrimFws(std::string_view s) {
  auto fws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && fws(s.front())) s.remove_prefix(1);
  while (!s.empty() && fws(s.back())) s.remove_suffix(1);
  return s;
}

// 1*max_digits DIGIT, as a non-negative int64.
bool ParseNumber(std::string_view s, size_t max_digits, int64_t* out) {
  if (s.empty() || s.size() > max_digits) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    if (v > (INT64_MAX - (c - '0')) / 10) return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

std::string Short(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
  }
  if (s.size() > 60) out += "...";
  return out;
}

std::string UtcTime(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  char buf[64];
  if (gmtime_r(&tt, &tm) == nullptr ||
      strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
    return std::to_string(t);
  }
  return buf;
}

bool InDomain(std::string_view dom, std::string_view d) {
  return dom == d || (dom.size() > d.size() && dom.substr(dom.size() - d.size()) == d &&
                      dom[dom.size() - d.size() - 1] == '.');
}

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

// The message with every bare LF read as CRLF, and an mbox "From " line
// dropped (how archives and many tools store mail).
std::string_view Normalise(std::string_view m, std::string* storage) {
  // "From sender date" (mbox), not "From : x" (a header field, obs syntax).
  size_t after = m.substr(0, 5) == "From " ? m.find_first_not_of(" \t", 5) : 0;
  if (after != 0 && after != std::string_view::npos && m[after] != ':') {
    size_t lf = m.find('\n');
    m = lf == std::string_view::npos ? std::string_view() : m.substr(lf + 1);
  }
  bool bare = false;
  for (size_t i = m.find('\n'); i != std::string_view::npos; i = m.find('\n', i + 1)) {
    if (i == 0 || m[i - 1] != '\r') {
      bare = true;
      break;
    }
  }
  if (!bare) return m;
  storage->reserve(m.size() + m.size() / 32);
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) storage->push_back('\r');
    storage->push_back(m[i]);
  }
  return *storage;
}

DkimVerdict VerifyOne(const DkimMessageParts& parts, size_t sig_index,
                      const DkimVerifyOptions& opts) {
  DkimVerdict v;
  const DkimHeaderField& field = parts.fields[sig_index];
  std::string_view value = field.raw.substr(field.colon + 1);
  if (value.size() >= 2 && value.substr(value.size() - 2) == "\r\n") value.remove_suffix(2);
  bool refused = false;
  auto parsed = ParseDkimSignature(value, &refused);
  if (!parsed.ok()) {
    v.result = refused ? DkimResult::kRefusedAlgorithm : DkimResult::kMalformed;
    v.reason = "DKIM-Signature: " + parsed.status().message();
    return v;
  }
  const DkimParsedSignature& sig = *parsed;
  v.sig = sig.info;
  const std::string where = "d=" + sig.info.domain + " s=" + sig.info.selector;

  if (!opts.expected_domain.empty() && sig.info.domain != LowerAscii(opts.expected_domain)) {
    v.result = DkimResult::kWrongDomain;
    v.reason = "signed by d=" + sig.info.domain + ", not by " + LowerAscii(opts.expected_domain);
    return v;
  }
  if (!opts.key_lookup) {
    v.result = DkimResult::kKeyUnavailable;
    v.reason = "no key source for " + where;
    return v;
  }
  auto key = opts.key_lookup(sig.info.domain, sig.info.selector);
  if (!key.ok()) {
    v.result = key.status().code() == Status::Code::kNotFound ? DkimResult::kKeyUnavailable
                                                              : DkimResult::kBadKey;
    v.reason = key.status().message();
    return v;
  }
  v.key_bits = key->bits();
  v.key_testing = key->testing();
  bool rsa_alg = sig.algorithm != DkimAlgorithm::kEd25519Sha256;
  if (rsa_alg != (key->type() == DkimKeyType::kRsa)) {
    v.result = DkimResult::kKeyMismatch;
    v.reason = "a=" + sig.info.algorithm + " but the key for " + where + " is " +
               std::string(DkimKeyTypeName(key->type()));
    return v;
  }
  if (key->type() == DkimKeyType::kRsa && key->bits() < 1024) {
    v.result = DkimResult::kBadKey;
    v.reason = "the key for " + where + " has " + std::to_string(key->bits()) +
               " bits; RFC 8301 forbids accepting RSA keys under 1024 bits";
    return v;
  }
  if (key->strict() && !sig.info.identity.empty()) {
    std::string idom = sig.info.identity.substr(sig.info.identity.rfind('@') + 1);
    if (idom != sig.info.domain) {
      v.result = DkimResult::kMalformed;
      v.reason = "i=" + Short(sig.info.identity) +
                 " is a subdomain of d=, which the key "
                 "record's t=s forbids";
      return v;
    }
  }
  const EVP_MD* md = sig.algorithm == DkimAlgorithm::kRsaSha1 ? DkimSha1() : DkimSha256();

  // Body.
  auto bh = HashDkimBody(sig.canon.body, parts.body, md, sig.info.body_length);
  if (!bh.ok()) {
    v.result = DkimResult::kBadKey;
    v.reason = bh.status().message();
    return v;
  }
  if (sig.info.body_length >= 0) {
    uint64_t l = static_cast<uint64_t>(sig.info.body_length);
    if (l > bh->canonical_length) {
      v.result = DkimResult::kBodyChanged;
      v.reason = "the body is shorter than the signed length l=" + std::to_string(l) +
                 ": it was changed after signing";
      return v;
    }
    v.unsigned_body_bytes = bh->canonical_length - l;
  }
  if (bh->digest != sig.bh) {
    v.result = DkimResult::kBodyChanged;
    v.reason = "the body was changed after signing (its hash does not match bh=)";
    return v;
  }

  // Header fields in h= order: for each name the bottom-most instance not
  // yet used; a name with none left contributes nothing (§5.4.2).
  std::string input;
  input.reserve(1024);
  std::vector<std::string_view> names(sig.info.headers.begin(), sig.info.headers.end());
  AppendSignedFields(parts, names, sig.canon.header, sig_index, &input);
  std::string self(field.raw.substr(0, field.colon + 1));
  self.append(value.substr(0, sig.b_value_begin));
  self.append(value.substr(sig.b_spec_end));
  CanonicalizeHeader(sig.canon.header, self, field.colon, &input);
  if (sig.canon.header == DkimCanon::kRelaxed) input.resize(input.size() - 2);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &dlen, md, nullptr) != 1) {
    v.result = DkimResult::kBadKey;
    v.reason = "header digest failed";
    return v;
  }

  EVP_PKEY* pkey = DkimKeyAccess::Get(*key);
  if (key->type() == DkimKeyType::kRsa) {
    // Recover the signed digest rather than only checking it: a signature
    // that does not even decrypt to a PKCS#1 DigestInfo was made with another
    // key; one that does, but over another digest, covers changed headers.
    size_t want = static_cast<size_t>(EVP_PKEY_get_size(pkey));
    if (sig.b.size() != want) {
      v.result = DkimResult::kKeyMismatch;
      v.reason = "the signature is " + std::to_string(sig.b.size() * 8) +
                 " bits but the key "
                 "for " +
                 where + " is " + std::to_string(key->bits()) + ": it was made with another key";
      return v;
    }
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new(pkey, nullptr));
    unsigned char rec[EVP_MAX_MD_SIZE + 64];
    size_t rlen = sizeof rec;
    bool ok = ctx && EVP_PKEY_verify_recover_init(ctx.get()) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx.get(), md) == 1 &&
              EVP_PKEY_verify_recover(ctx.get(), rec, &rlen,
                                      reinterpret_cast<const unsigned char*>(sig.b.data()),
                                      sig.b.size()) == 1;
    ERR_clear_error();
    if (!ok) {
      v.result = DkimResult::kKeyMismatch;
      v.reason =
          "the signature was not made with the key for " + where + " (or its b= was altered)";
      return v;
    }
    if (rlen != dlen || std::memcmp(rec, digest, dlen) != 0) {
      v.result = DkimResult::kHeaderChanged;
      v.reason =
          "a signed header field was changed after signing (the signature does not "
          "match the fields in h=)";
      return v;
    }
  } else {
    if (sig.b.size() != 64) {
      v.result = DkimResult::kMalformed;
      v.reason =
          "an ed25519-sha256 signature must be 64 bytes, b= has " + std::to_string(sig.b.size());
      return v;
    }
    // RFC 8463: PureEdDSA over the SHA-256 digest of the header hash input.
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey) == 1 &&
              EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.b.data()),
                               sig.b.size(), digest, dlen) == 1;
    ERR_clear_error();
    if (!ok) {
      // Ed25519 cannot tell the two apart: say both.
      v.result = DkimResult::kHeaderChanged;
      v.reason =
          "the signature does not match: a signed header field was changed after "
          "signing, or it was made with another key than the one for " +
          where;
      return v;
    }
  }
  if (sig.algorithm == DkimAlgorithm::kRsaSha1) {
    v.result = DkimResult::kRefusedAlgorithm;
    v.reason = "the rsa-sha1 signature is valid, but RFC 8301 forbids accepting rsa-sha1";
    return v;
  }
  if (sig.info.expires >= 0 && sig.info.expires < opts.now_unix) {
    v.result = DkimResult::kExpired;
    v.reason = "the signature is valid but expired at " + UtcTime(sig.info.expires) + " (x=)";
    return v;
  }
  v.result = DkimResult::kPass;
  v.reason = "valid signature by " + where + " (" + sig.info.algorithm + ", " +
             std::to_string(key->bits()) + "-bit key)";
  return v;
}

}  // namespace

std::string_view DkimResultName(DkimResult r) {
  switch (r) {
    case DkimResult::kPass:
      return "pass";
    case DkimResult::kNoSignature:
      return "no signature";
    case DkimResult::kMalformed:
      return "malformed signature";
    case DkimResult::kRefusedAlgorithm:
      return "refused algorithm";
    case DkimResult::kWrongDomain:
      return "wrong domain";
    case DkimResult::kKeyUnavailable:
      return "no key";
    case DkimResult::kBadKey:
      return "bad key";
    case DkimResult::kKeyMismatch:
      return "key mismatch";
    case DkimResult::kBodyChanged:
      return "body changed";
    case DkimResult::kHeaderChanged:
      return "header changed";
    case DkimResult::kExpired:
      return "expired";
  }
  return "?";
}

Result<DkimParsedSignature> ParseDkimSignature(std::string_view value, bool* refused) {
  *refused = false;
  auto tags = ParseDkimTagList(value);
  if (!tags.ok()) return tags.status();
  auto get = [&](std::string_view n) { return FindTag(*tags, n); };
  for (const char* req : {"v", "a", "b", "bh", "d", "h", "s"}) {
    if (get(req) == nullptr) return Status::Invalid(std::string("no ") + req + "= tag");
  }
  DkimParsedSignature p;
  auto refuse = [&](std::string why) {
    *refused = true;
    return Status::Invalid(std::move(why));
  };
  if (get("v")->value != "1")
    return refuse("v=" + Short(get("v")->value) + " is not DKIM version 1");

  p.info.algorithm = LowerAscii(get("a")->value);
  if (p.info.algorithm == "rsa-sha256")
    p.algorithm = DkimAlgorithm::kRsaSha256;
  else if (p.info.algorithm == "ed25519-sha256")
    p.algorithm = DkimAlgorithm::kEd25519Sha256;
  else if (p.info.algorithm == "rsa-sha1")
    p.algorithm = DkimAlgorithm::kRsaSha1;
  else
    return refuse("unknown algorithm a=" + Short(get("a")->value));

  const DkimTag* b = get("b");
  auto bdec = Base64DecodeStrict(StripFws(b->value));
  if (!bdec.ok()) return Status::Invalid("b= is not valid base64: " + bdec.status().message());
  if (bdec->empty()) return Status::Invalid("b= is empty");
  p.b = std::move(*bdec);
  p.b_value_begin = b->value_begin;
  p.b_spec_end = b->spec_end;

  auto bhdec = Base64DecodeStrict(StripFws(get("bh")->value));
  if (!bhdec.ok()) return Status::Invalid("bh= is not valid base64: " + bhdec.status().message());
  size_t want = p.algorithm == DkimAlgorithm::kRsaSha1 ? 20 : 32;
  if (bhdec->size() != want) {
    return Status::Invalid("bh= holds " + std::to_string(bhdec->size()) + " bytes, expected " +
                           std::to_string(want));
  }
  p.bh = std::move(*bhdec);

  if (const DkimTag* c = get("c")) {
    auto canon = ParseDkimCanon(LowerAscii(c->value));
    if (!canon.ok()) return Status::Invalid("c=: " + canon.status().message());
    p.canon = *canon;
  } else {
    p.canon = {DkimCanon::kSimple, DkimCanon::kSimple};
  }
  p.info.canon = DkimCanonName(p.canon);

  p.info.domain = LowerAscii(get("d")->value);
  if (!ValidDkimDomain(p.info.domain, false)) {
    return Status::Invalid("d=" + Short(get("d")->value) + " is not a domain name");
  }
  p.info.selector = get("s")->value;
  if (!ValidDkimDomain(LowerAscii(p.info.selector), true)) {
    return Status::Invalid("s=" + Short(p.info.selector) + " is not a valid selector");
  }

  std::string_view h = get("h")->value;
  bool has_from = false;
  for (size_t pos = 0; pos <= h.size();) {
    size_t colon = h.find(':', pos);
    if (colon == std::string_view::npos) colon = h.size();
    std::string_view name = TrimFws(h.substr(pos, colon - pos));
    if (name.empty()) return Status::Invalid("h= has an empty header field name");
    for (char c : name) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x21 || u > 0x7E) {
        return Status::Invalid("h= has an invalid header field name \"" + Short(name) + "\"");
      }
    }
    p.info.headers.push_back(LowerAscii(name));
    if (p.info.headers.back() == "from") has_from = true;
    pos = colon + 1;
  }
  if (!has_from) return Status::Invalid("h= does not include From (RFC 6376 §5.4)");

  if (const DkimTag* i = get("i")) {
    std::string id = i->value;
    size_t at = id.rfind('@');
    if (at == std::string::npos) return Status::Invalid("i=" + Short(id) + " has no '@'");
    std::string idom = LowerAscii(id.substr(at + 1));
    if (!InDomain(idom, p.info.domain)) {
      return Status::Invalid("i=" + Short(id) + " is not in d=" + p.info.domain +
                             " or a subdomain of it");
    }
    p.info.identity = id;
  }
  if (const DkimTag* l = get("l")) {
    if (!ParseNumber(l->value, 76, &p.info.body_length)) {
      return Status::Invalid("l=" + Short(l->value) + " is not a length");
    }
  }
  if (const DkimTag* q = get("q")) {
    bool dns = false;
    std::string_view qv = q->value;
    for (size_t pos = 0; pos <= qv.size();) {
      size_t colon = qv.find(':', pos);
      if (colon == std::string_view::npos) colon = qv.size();
      if (LowerAscii(TrimFws(qv.substr(pos, colon - pos))) == "dns/txt") dns = true;
      pos = colon + 1;
    }
    if (!dns) return refuse("q=" + Short(qv) + ": only dns/txt keys are known");
  }
  if (const DkimTag* t = get("t")) {
    if (!ParseNumber(t->value, 12, &p.info.timestamp)) {
      return Status::Invalid("t=" + Short(t->value) + " is not a timestamp");
    }
  }
  if (const DkimTag* x = get("x")) {
    if (!ParseNumber(x->value, 12, &p.info.expires)) {
      return Status::Invalid("x=" + Short(x->value) + " is not a timestamp");
    }
    if (p.info.timestamp >= 0 && p.info.expires < p.info.timestamp) {
      return Status::Invalid("x= is earlier than t=");
    }
  }
  return p;
}

std::vector<DkimVerdict> VerifyDkim(std::string_view message, const DkimVerifyOptions& opts) {
  std::string storage;
  std::string_view m = Normalise(message, &storage);
  DkimMessageParts parts = SplitDkimMessage(m);
  std::vector<DkimVerdict> out;
  for (size_t i = 0; i < parts.fields.size(); ++i) {
    if (!EqualsIgnoreCase(parts.fields[i].name, "DKIM-Signature")) continue;
    if (out.size() == opts.max_signatures) break;
    out.push_back(VerifyOne(parts, i, opts));
  }
  if (out.empty()) {
    DkimVerdict v;
    v.result = DkimResult::kNoSignature;
    v.reason = "the message has no DKIM-Signature header field";
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace sealmail
