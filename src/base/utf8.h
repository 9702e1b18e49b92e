// UTF-8 validation, shared by every parser that accepts text from outside.
#pragma once

#include <cstddef>
#include <string_view>

namespace sealmail {

// True when s is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Offset of the first byte that makes s invalid UTF-8, or s.size() if valid.
size_t FirstInvalidUtf8(std::string_view s);

// True when every byte is < 0x80.
bool IsAscii(std::string_view s);

}  // namespace sealmail
