// Digests used for identifiers (Message-ID) and the audit trail. Not for keys:
// key material lives only in src/dkim (STYLE.md §12).
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

// A fast 64-bit non-cryptographic hash (FNV-1a), for in-memory sets.
uint64_t Hash64(std::string_view data);

}  // namespace sealmail
