// Helpers for src/dkim's tests: fresh keys and test-data paths.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "base/file.h"
#include "dkim/dkim.h"

namespace sealmail::dkimtest {

// A fresh private key as PKCS#8 PEM ("RSA" with bits, or "ED25519").
inline std::string GenerateKeyPem(const char* type, int bits = 0) {
  EVP_PKEY* k = bits > 0 ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, static_cast<size_t>(bits))
                         : EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(k);
  return pem;
}

inline DkimPrivateKey Key(const char* type, int bits = 0) {
  auto k = DkimPrivateKey::Parse(GenerateKeyPem(type, bits), "test key");
  if (!k.ok()) std::abort();
  return *k;
}

inline std::string Shared(const std::string& rel) {
  return std::string(SEALMAIL_SHARED_DIR) + "/vectors/" + rel;
}

inline std::string ReadOrDie(const std::string& path) {
  auto s = ReadFile(path);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().message().c_str());
    std::abort();
  }
  return *s;
}

// A key lookup that answers one (domain, selector) with one key.
inline DkimKeyLookup OneKey(std::string domain, std::string selector, DkimPublicKey key) {
  return [=](std::string_view d, std::string_view s) -> Result<DkimPublicKey> {
    if (d == domain && s == selector) return key;
    return Status::NotFound("no key for " + std::string(s) + "._domainkey." + std::string(d));
  };
}

}  // namespace sealmail::dkimtest
