// Helpers shared by the mime_decode_*.cc files; not part of the component's
// contract.
#pragma once

#include <string>
#include <string_view>

namespace sealmail::mime_internal {

inline bool IsWsp(char c) { return c == ' ' || c == '\t'; }

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string AsciiLowerCopy(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string_view TrimWsp(std::string_view s);

// Value of a hex digit (either case), or -1.
int HexValue(char c);

// RFC 2047 "Q" encoded-text: '_' is a space, "=XX" an octet, the rest literal.
std::string DecodeQEncoding(std::string_view in);

// uuencode (x-uuencode), as mail clients still send it: the lines between
// "begin" and "end". Input without a "begin" line is returned unchanged.
std::string DecodeUuencode(std::string_view in);

// Decodes a body by its lower-case Content-Transfer-Encoding. Sets *known to
// false (and returns the input unchanged) for an encoding it does not know.
std::string TransferDecode(std::string_view cte, std::string_view raw, bool* known);

}  // namespace sealmail::mime_internal
