// AudienceSet: every address of a campaign's audience, as a compact set of
// 64-bit hashes (open addressing, 8 bytes a slot, load ≤ 0.5: about 16 MB
// for 1,000,000 recipients, 32 MB with IDN twins). Lookups cost one hash and
// one or two cache misses, independent of the audience size.
//
// Hashes, not strings: a collision (about 1 in 10^13 per lookup at a million
// addresses) can only make the guard block a message it should have passed,
// never pass one it should block.
//
// Built once, then read-only: safe to share between threads after building.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "address/address.h"

namespace sealmail {

class AudienceSet {
 public:
  AudienceSet();

  // Adds a parsed address under every spelling the guard can meet in a
  // message: A-label and U-label domain, local part ASCII-lower-cased.
  void Add(const Address& a);
  // Adds an already lower-cased "local@domain" spelling (e.g. a token found
  // in a refused CSV row).
  void AddSpelling(std::string_view lowered);

  bool Contains(std::string_view lowered) const;
  static uint64_t HashOf(std::string_view lowered);
  bool ContainsHash(uint64_t h) const;

  size_t size() const { return count_; }
  size_t memory_bytes() const { return slots_.capacity() * sizeof(uint64_t); }

  // "local@domain" spellings of a (lower-cased local part, both domain forms).
  static std::vector<std::string> Spellings(const Address& a);

 private:
  void InsertHash(uint64_t h);
  void Grow();
  std::vector<uint64_t> slots_;  // 0 = empty
  size_t count_ = 0;
};

}  // namespace sealmail
