#include "base/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include "base/check.h"

namespace sealmail {

namespace {

// OpenSSL 3 looks EVP_sha256() up in its provider tables (under a lock) on
// every use, and EVP_Digest allocates a context per call: with several
// digests per message both showed in the send loop's profile. So the
// algorithm is fetched once and each thread keeps one context.
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    SM_CHECK(m != nullptr);
    return m;
  }();
  return md;
}

struct CtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

const EVP_CIPHER* Aes128Gcm() {
  static const EVP_CIPHER* cipher = [] {
    const EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
    SM_CHECK(c != nullptr);
    return c;
  }();
  return cipher;
}

uint64_t NextKeyedDigestId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

}  // namespace

KeyedDigest::KeyedDigest() : id_(NextKeyedDigestId()) {
  SM_CHECK(RAND_bytes(key_.data(), static_cast<int>(key_.size())) == 1);
}

KeyedDigest::KeyedDigest(const std::array<uint8_t, 16>& key)
    : key_(key), id_(NextKeyedDigestId()) {}

KeyedDigest KeyedDigest::WithKeyForTesting(const std::array<uint8_t, 16>& key) {
  return KeyedDigest(key);
}

KeyedDigest::~KeyedDigest() { OPENSSL_cleanse(key_.data(), key_.size()); }

KeyedDigest::Digest KeyedDigest::Of(std::initializer_list<std::string_view> parts) const {
  // One context per thread, keyed (AES key schedule and GHASH tables) only
  // when it last served another KeyedDigest; otherwise only the nonce is set
  // again, which starts a new tag.
  struct Cached {
    uint64_t id = 0;
    std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree> ctx{EVP_CIPHER_CTX_new()};
  };
  thread_local Cached cached;
  static constexpr unsigned char kNonce[12] = {};
  EVP_CIPHER_CTX* ctx = cached.ctx.get();
  SM_CHECK(ctx != nullptr);
  if (cached.id != id_) {
    cached.id = 0;
    SM_CHECK(EVP_EncryptInit_ex2(ctx, Aes128Gcm(), key_.data(), kNonce, nullptr) == 1);
    cached.id = id_;
  } else {
    SM_CHECK(EVP_EncryptInit_ex2(ctx, nullptr, nullptr, kNonce, nullptr) == 1);
  }
  int len = 0;
  for (std::string_view p : parts) {
    while (!p.empty()) {  // EVP takes an int length
      const size_t n = std::min<size_t>(p.size(), size_t{1} << 30);
      SM_CHECK(EVP_EncryptUpdate(ctx, nullptr, &len,
                                 reinterpret_cast<const unsigned char*>(p.data()),
                                 static_cast<int>(n)) == 1);
      p.remove_prefix(n);
    }
  }
  SM_CHECK(EVP_EncryptFinal_ex(ctx, nullptr, &len) == 1);
  Digest out{};
  SM_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, static_cast<int>(out.size()),
                               out.data()) == 1);
  return out;
}

std::array<uint8_t, 32> Sha256Of(std::initializer_list<std::string_view> parts) {
  thread_local std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  SM_CHECK(ctx != nullptr);
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  SM_CHECK(EVP_DigestInit_ex2(ctx.get(), Sha256Md(), nullptr) == 1);
  for (std::string_view p : parts) SM_CHECK(EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1);
  SM_CHECK(EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1);
  SM_CHECK(len == out.size());
  return out;
}

std::array<uint8_t, 32> Sha256(std::string_view data) { return Sha256Of({data}); }

std::string HexEncode(const uint8_t* data, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kHex[data[i] >> 4];
    s[2 * i + 1] = kHex[data[i] & 15];
  }
  return s;
}

std::string Sha256Hex(std::string_view data) {
  auto d = Sha256(data);
  return HexEncode(d.data(), d.size());
}

uint64_t Hash64(std::string_view data) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  // Final avalanche (splitmix64) so that the low bits are usable as buckets.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

}  // namespace sealmail
