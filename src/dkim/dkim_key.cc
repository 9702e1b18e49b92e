// Keys: PEM and raw-seed private keys, public keys from PEM or DNS TXT
// records, the record an operator publishes, and strict base64.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstring>

#include "base/check.h"
#include "base/file.h"
#include "dkim/dkim_internal.h"

namespace sealmail {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free); }

// The reason OpenSSL gave, without its file/line noise; clears the queue.
std::string OpenSslReason() {
  unsigned long e = ERR_peek_last_error();
  std::string r;
  if (e != 0) {
    const char* s = ERR_reason_error_string(e);
    if (s != nullptr) r = s;
  }
  ERR_clear_error();
  return r;
}

int RefusePassword(char*, int, int, void*) { return -1; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// DER SubjectPublicKeyInfo, or (RSA only) a bare PKCS#1 RSAPublicKey, which
// some DKIM records carry. The whole buffer must be consumed.
EVP_PKEY* ParsePublicDer(std::string_view der, bool allow_pkcs1_rsa) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* k = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (k != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return k;
  }
  EVP_PKEY_free(k);
  ERR_clear_error();
  if (!allow_pkcs1_rsa) return nullptr;
  p = reinterpret_cast<const unsigned char*>(der.data());
  k = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der.size()));
  if (k != nullptr && p == reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return k;
  }
  EVP_PKEY_free(k);
  ERR_clear_error();
  return nullptr;
}

Result<DkimKeyType> KeyTypeOf(EVP_PKEY* k) {
  switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA:
      return DkimKeyType::kRsa;
    case EVP_PKEY_ED25519:
      return DkimKeyType::kEd25519;
    default:
      return Status::Invalid(std::string("a ") + OBJ_nid2sn(EVP_PKEY_get_base_id(k)) +
                             " key; DKIM uses RSA or Ed25519 keys");
  }
}

}  // namespace

const EVP_MD* DkimSha256() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

const EVP_MD* DkimSha1() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return md;
}

std::string Base64Encode(const uint8_t* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

Result<std::string> Base64DecodeStrict(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int nbits = 0, quantum = 0, pad = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++pad;
      ++quantum;
      if (pad > 2) return Status::Invalid("too much '=' padding");
      continue;
    }
    if (pad > 0) return Status::Invalid("data after '=' padding");
    int v = Base64Value(c);
    if (v < 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "invalid character 0x%02X at offset %zu", c, i);
      return Status::Invalid(buf);
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    ++quantum;
    if (nbits >= 8) {
      nbits -= 8;
      out.push_back(static_cast<char>((acc >> nbits) & 0xFF));
    }
  }
  if (quantum % 4 != 0) return Status::Invalid("length is not a multiple of 4");
  if (nbits > 0 && (acc & ((1u << nbits) - 1)) != 0) {
    return Status::Invalid("non-zero bits after the last byte");
  }
  if (pad == 1 && nbits != 2) return Status::Invalid("wrong '=' padding");
  if (pad == 2 && nbits != 4) return Status::Invalid("wrong '=' padding");
  return out;
}

std::string_view DkimKeyTypeName(DkimKeyType t) {
  return t == DkimKeyType::kRsa ? "rsa" : "ed25519";
}

Result<DkimPublicKey> DkimKeyAccess::MakePublic(EVP_PKEY* pkey) {
  auto owned = Own(pkey);
  SM_ASSIGN_OR_RETURN(DkimKeyType type, KeyTypeOf(pkey));
  DkimPublicKey k;
  k.pkey_ = std::move(owned);
  k.type_ = type;
  k.bits_ = type == DkimKeyType::kRsa ? EVP_PKEY_get_bits(pkey) : 256;
  return k;
}

// ---- private keys ----

Result<DkimPrivateKey> DkimPrivateKey::Parse(std::string_view text, std::string_view name) {
  auto fail = [&](const std::string& why) {
    return Status::Invalid(std::string(name) + ": " + why);
  };
  std::string_view t = Trim(text);
  EVP_PKEY* raw = nullptr;
  if (t.find("-----BEGIN") != std::string_view::npos) {
    if (t.find("BEGIN ENCRYPTED PRIVATE KEY") != std::string_view::npos ||
        t.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos) {
      return fail(
          "the private key is encrypted; sealmail signs unattended, so store it "
          "unencrypted and readable only by the sending user (chmod 600)");
    }
    if (t.find("PRIVATE KEY-----") == std::string_view::npos) {
      return fail(
          "not a private key (expected \"-----BEGIN PRIVATE KEY-----\" or "
          "\"-----BEGIN RSA PRIVATE KEY-----\")");
    }
    BioPtr bio(BIO_new_mem_buf(t.data(), static_cast<int>(t.size())));
    if (!bio) return Status::Internal("BIO_new_mem_buf failed");
    raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, RefusePassword, nullptr);
    if (raw == nullptr) {
      std::string why = OpenSslReason();
      return fail("not a readable PEM private key" + (why.empty() ? "" : " (" + why + ")"));
    }
  } else {
    // A raw Ed25519 seed in base64 (RFC 8463 appendix A, dkimpy's key files).
    auto seed = Base64DecodeStrict(t);
    if (!seed.ok() || seed->size() != 32) {
      return fail("not a PEM private key, nor a base64 Ed25519 seed of 32 bytes");
    }
    raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(seed->data()), 32);
    OPENSSL_cleanse(seed->data(), seed->size());
    if (raw == nullptr) return fail("Ed25519 seed refused: " + OpenSslReason());
  }
  DkimPrivateKey k;
  k.pkey_ = Own(raw);
  auto type = KeyTypeOf(raw);
  if (!type.ok()) return fail(type.status().message());
  k.type_ = *type;
  k.bits_ = k.type_ == DkimKeyType::kRsa ? EVP_PKEY_get_bits(raw) : 256;
  return k;
}

Result<DkimPrivateKey> DkimPrivateKey::Load(const std::string& path) {
  SM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto k = Parse(text, path);
  OPENSSL_cleanse(text.data(), text.size());
  return k;
}

DkimPublicKey DkimPrivateKey::PublicKey() const {
  // Round-trip through SubjectPublicKeyInfo so the public handle holds no
  // private material at all.
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey_.get(), &der);
  SM_CHECK(len > 0);  // a loaded key always has a public half
  const unsigned char* p = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, len);
  OPENSSL_free(der);
  SM_CHECK(pub != nullptr);
  auto k = DkimKeyAccess::MakePublic(pub);
  SM_CHECK(k.ok());
  return *k;
}

// ---- public keys ----

Result<DkimPublicKey> DkimPublicKey::FromPem(std::string_view pem) {
  std::string_view t = Trim(pem);
  BioPtr bio(BIO_new_mem_buf(t.data(), static_cast<int>(t.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    ERR_clear_error();
    return Status::Invalid("not a PEM block");
  }
  std::string label = name;
  std::string der(reinterpret_cast<char*>(data), static_cast<size_t>(len));
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  EVP_PKEY* k = nullptr;
  if (label == "PUBLIC KEY")
    k = ParsePublicDer(der, false);
  else if (label == "RSA PUBLIC KEY")
    k = ParsePublicDer(der, true);
  else
    return Status::Invalid("a PEM \"" + label + "\", expected \"PUBLIC KEY\"");
  if (k == nullptr) return Status::Invalid("PEM \"" + label + "\" does not hold a valid key");
  return DkimKeyAccess::MakePublic(k);
}

Result<DkimPublicKey> DkimPublicKey::FromRecord(std::string_view record) {
  auto tags = ParseDkimTagList(record);
  if (!tags.ok()) return Status::Invalid("key record: " + tags.status().message());
  const DkimTag* v = FindTag(*tags, "v");
  if (v != nullptr) {
    if (&(*tags)[0] != v) return Status::Invalid("key record: v= must be the first tag");
    if (v->value != "DKIM1") {
      return Status::Invalid("key record: bad v=\"" + v->value.substr(0, 40) +
                             "\" (expected DKIM1)");
    }
  }
  DkimKeyType type = DkimKeyType::kRsa;
  if (const DkimTag* k = FindTag(*tags, "k")) {
    if (k->value == "rsa")
      type = DkimKeyType::kRsa;
    else if (k->value == "ed25519")
      type = DkimKeyType::kEd25519;
    else {
      return Status::Invalid("key record: unknown key type k=" + k->value.substr(0, 40) +
                             " (expected rsa or ed25519)");
    }
  }
  auto list_has = [](std::string_view list, std::string_view want) {
    size_t pos = 0;
    while (pos <= list.size()) {
      size_t end = list.find(':', pos);
      if (end == std::string_view::npos) end = list.size();
      if (Trim(list.substr(pos, end - pos)) == want) return true;
      pos = end + 1;
    }
    return false;
  };
  if (const DkimTag* h = FindTag(*tags, "h")) {
    if (!list_has(h->value, "sha256")) {
      return Status::Invalid("key record: h=" + h->value.substr(0, 40) + " does not allow sha256");
    }
  }
  if (const DkimTag* s = FindTag(*tags, "s")) {
    if (!list_has(s->value, "*") && !list_has(s->value, "email")) {
      return Status::Invalid("key record: s=" + s->value.substr(0, 40) +
                             ": the key is not for email");
    }
  }
  DkimPublicKey out;
  if (const DkimTag* t = FindTag(*tags, "t")) {
    out.testing_ = list_has(t->value, "y");
    out.strict_ = list_has(t->value, "s");
  }
  const DkimTag* p = FindTag(*tags, "p");
  if (p == nullptr) return Status::Invalid("key record: no p= tag");
  std::string compact;
  for (char c : p->value) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') compact.push_back(c);
  }
  if (compact.empty()) return Status::Invalid("key record: empty p=: the key has been revoked");
  auto der = Base64DecodeStrict(compact);
  if (!der.ok())
    return Status::Invalid("key record: p= is not valid base64: " + der.status().message());
  EVP_PKEY* key = nullptr;
  if (type == DkimKeyType::kRsa) {
    key = ParsePublicDer(*der, true);
    if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
      EVP_PKEY_free(key);
      return Status::Invalid("key record: p= is not a DER-encoded RSA public key (" +
                             std::to_string(der->size()) + " bytes)");
    }
  } else {
    if (der->size() != 32) {
      return Status::Invalid("key record: p= for k=ed25519 must be 32 bytes, got " +
                             std::to_string(der->size()));
    }
    key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                      reinterpret_cast<const unsigned char*>(der->data()), 32);
    if (key == nullptr) return Status::Invalid("key record: p= is not an Ed25519 key");
  }
  SM_ASSIGN_OR_RETURN(DkimPublicKey made, DkimKeyAccess::MakePublic(key));
  made.testing_ = out.testing_;
  made.strict_ = out.strict_;
  return made;
}

Result<DkimPublicKey> DkimPublicKey::Load(const std::string& path) {
  SM_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::string_view t = Trim(text);
  // A private key: PEM, or a base64 Ed25519 seed (no tags, so no "p=").
  if (t.find("PRIVATE KEY-----") != std::string_view::npos ||
      (t.find("-----BEGIN") == std::string_view::npos && t.find("p=") == std::string_view::npos)) {
    auto priv = DkimPrivateKey::Parse(t, path);
    OPENSSL_cleanse(text.data(), text.size());
    if (!priv.ok()) return priv.status();
    return priv->PublicKey();
  }
  if (t.find("-----BEGIN") != std::string_view::npos) {
    auto k = FromPem(t);
    if (!k.ok()) return k.status().WithPrefix(path);
    return k;
  }
  // A TXT record, possibly in zone-file form: keep what is inside quotes.
  std::string record;
  if (t.find('"') != std::string_view::npos) {
    bool in = false;
    for (char c : t) {
      if (c == '"')
        in = !in;
      else if (in)
        record.push_back(c);
    }
  } else {
    record = std::string(t);
  }
  auto k = FromRecord(record);
  if (!k.ok()) return k.status().WithPrefix(path);
  return k;
}

std::string DkimPublicKey::RecordText() const {
  std::string p;
  if (type_ == DkimKeyType::kEd25519) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    SM_CHECK(EVP_PKEY_get_raw_public_key(pkey_.get(), raw, &len) == 1);
    p = Base64Encode(raw, len);
  } else {
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(pkey_.get(), &der);
    SM_CHECK(len > 0);
    p = Base64Encode(der, static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  return "v=DKIM1; k=" + std::string(DkimKeyTypeName(type_)) + "; p=" + p;
}

bool DkimPublicKey::SameKey(const DkimPublicKey& other) const {
  if (!pkey_ || !other.pkey_) return false;
  return EVP_PKEY_eq(pkey_.get(), other.pkey_.get()) == 1;
}

DkimDnsRecord MakeDkimDnsRecord(const DkimPublicKey& key, std::string_view selector,
                                std::string_view domain) {
  DkimDnsRecord r;
  r.name = std::string(selector) + "._domainkey." + std::string(domain) + ".";
  r.value = key.RecordText();
  // RFC 1035 §3.3: a character-string is at most 255 octets; resolvers
  // concatenate the strings of one TXT record (RFC 6376 §3.6.2.2).
  for (size_t i = 0; i < r.value.size(); i += 255) r.strings.push_back(r.value.substr(i, 255));
  r.zone_line = r.name + " IN TXT";
  for (const auto& s : r.strings) r.zone_line += " \"" + s + "\"";
  return r;
}

}  // namespace sealmail
