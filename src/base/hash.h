// Digests used for identifiers (Message-ID), the audit trail and the guard's
// proofs. Not for keys: key material lives only in src/dkim (STYLE.md §12).
//
// Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace sealmail {

std::array<uint8_t, 32> Sha256(std::string_view data);
// The SHA-256 of the concatenation of parts (no copy).
std::array<uint8_t, 32> Sha256Of(std::initializer_list<std::string_view> parts);
std::string Sha256Hex(std::string_view data);
std::string HexEncode(const uint8_t* data, size_t n);

// A 128-bit digest under a key drawn at random when the KeyedDigest is made:
// GMAC (the tag of AES-128-GCM over the bytes as additional data, one fixed
// nonce), i.e. GHASH under the secret H = AES_K(0), an almost-XOR-universal
// hash. For two different byte strings of up to L bytes that were fixed
// without knowing the key, the chance that their digests are equal is at
// most (ceil(L/16) + 1) / 2^128: below 2^-115 up to 64 KiB, 2^-108 up to
// 8 MiB. So it tells whether two strings of this process are the same, ~5x
// faster than SHA-256 here, as long as the key and the digests never leave
// the process (whoever saw them could build a collision). Not a MAC for
// anything stored or sent, and not for identifiers. The key is drawn here,
// protects nothing outside the process, and is not the operator's key
// material (which lives only in src/dkim). Poly1305 gives the same bound,
// but OpenSSL 3.0 runs it as AVX-512 code on this machine's CPU, which
// slowed the rest of the process by ~8 % (docs/performance.md).
class KeyedDigest {
 public:
  using Digest = std::array<uint8_t, 16>;
  KeyedDigest();  // a fresh random key
  // A known key: only for known-answer tests.
  static KeyedDigest WithKeyForTesting(const std::array<uint8_t, 16>& key);
  ~KeyedDigest();
  KeyedDigest(const KeyedDigest&) = delete;
  KeyedDigest& operator=(const KeyedDigest&) = delete;

  // The digest of the concatenation of parts (no copy). Thread-safe.
  Digest Of(std::initializer_list<std::string_view> parts) const;

 private:
  explicit KeyedDigest(const std::array<uint8_t, 16>& key);
  std::array<uint8_t, 16> key_;
  uint64_t id_;  // unique in this process: whose key a thread's context holds
};

// A fast 64-bit non-cryptographic hash (FNV-1a), for in-memory sets.
uint64_t Hash64(std::string_view data);

}  // namespace sealmail
