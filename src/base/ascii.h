// ASCII-only case helpers (header names, DKIM tags, domains already in
// A-label form): bytes outside A-Z are left as they are.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sealmail {

inline char LowerAsciiChar(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerAsciiChar(c);
  return out;
}

// lowered is exactly s with ASCII letters lower-cased (no copy made).
inline bool IsLowerAsciiOf(std::string_view lowered, std::string_view s) {
  if (lowered.size() != s.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (lowered[i] != LowerAsciiChar(s[i])) return false;
  }
  return true;
}

inline bool EqualsCI(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAsciiChar(a[i]) != LowerAsciiChar(b[i])) return false;
  }
  return true;
}

}  // namespace sealmail
