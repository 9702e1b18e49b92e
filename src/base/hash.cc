#include "base/hash.h"

#include <openssl/evp.h>

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

}  // namespace

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
