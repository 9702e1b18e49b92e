// Header field values: MIME parameters (RFC 2045 §5.1, RFC 2231) and RFC 2047
// encoded-words. Hand-written, single pass over the value: no std::regex
// (slow, and backtracking on hostile input), and no kept library parses MIME
// parameters.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mime/mime_decode.h"
#include "mime/mime_decode_internal.h"

namespace sealmail {
namespace {

using mime_internal::AsciiLowerCopy;
using mime_internal::HexValue;
using mime_internal::IsWsp;
using mime_internal::TrimWsp;

bool IsLineBreak(char c) { return c == '\r' || c == '\n'; }

// Skips a comment starting at s[*i] == '(' (nested, with quoted-pairs); an
// unterminated comment runs to the end.
void SkipComment(std::string_view s, size_t* i) {
  int level = 0;
  for (; *i < s.size(); ++*i) {
    char c = s[*i];
    if (c == '\\') {
      ++*i;
    } else if (c == '(') {
      ++level;
    } else if (c == ')' && --level == 0) {
      ++*i;
      return;
    }
  }
}

// Reads a quoted-string starting at s[*i] == '"'; returns its content with
// quoted-pairs resolved. An unterminated string runs to the end.
std::string ReadQuoted(std::string_view s, size_t* i) {
  // Runs of plain characters are appended whole: a character at a time, the
  // string grew through three allocations for a boundary (issue #9).
  std::string out;
  for (++*i; *i < s.size(); ++*i) {
    size_t run = *i;
    while (run < s.size() && s[run] != '"' && s[run] != '\\' && !IsLineBreak(s[run])) ++run;
    out.append(s.substr(*i, run - *i));
    *i = run;
    if (*i == s.size()) break;
    char c = s[*i];
    if (c == '"') {
      ++*i;
      return out;
    }
    if (c == '\\' && *i + 1 < s.size()) c = s[++*i];
    if (!IsLineBreak(c)) out.push_back(c);
  }
  return out;
}

// Reads an unquoted item up to `stop` (or ';'), dropping comments, line
// breaks and surrounding white space. Lenient on purpose: real mail has
// unquoted values with spaces and tspecials ("name=my file.txt",
// "boundary=----=_Part_1").
std::string ReadBare(std::string_view s, size_t* i, char stop) {
  std::string out;
  while (*i < s.size() && s[*i] != ';' && s[*i] != stop) {
    size_t run = *i;  // appended whole, as in ReadQuoted
    while (run < s.size() && s[run] != ';' && s[run] != stop && s[run] != '(' &&
           !IsLineBreak(s[run])) {
      ++run;
    }
    out.append(s.substr(*i, run - *i));
    *i = run;
    if (*i == s.size() || s[*i] == ';' || s[*i] == stop) break;
    if (s[*i] == '(') {
      SkipComment(s, i);
      continue;
    }
    ++*i;  // a line break
  }
  return std::string(TrimWsp(out));
}

void SkipCfws(std::string_view s, size_t* i) {
  while (*i < s.size()) {
    char c = s[*i];
    if (IsWsp(c) || IsLineBreak(c)) {
      ++*i;
    } else if (c == '(') {
      SkipComment(s, i);
    } else {
      break;
    }
  }
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct RawParam {
  std::string name;  // lower-case, as written ("filename*0*")
  std::string value;
};

// One RFC 2231 section of a parameter: name*N or name*N* or name*.
struct Section {
  uint32_t index = 0;
  bool encoded = false;
  std::string value;
};

// Splits "base*N*" into its parts; false for a plain name.
bool SplitRfc2231Name(std::string_view name, std::string* base, Section* sec) {
  size_t star = name.find('*');
  if (star == std::string_view::npos || star == 0) return false;
  std::string_view rest = name.substr(star + 1);
  sec->encoded = false;
  sec->index = 0;
  if (rest.empty()) {  // name*
    sec->encoded = true;
  } else {
    if (rest.back() == '*') {
      sec->encoded = true;
      rest.remove_suffix(1);
    }
    // Section numbers: a few digits (no one splits a value into 10^6 pieces).
    if (rest.empty() || rest.size() > 6) return false;
    for (char c : rest) {
      if (c < '0' || c > '9') return false;
      sec->index = sec->index * 10 + static_cast<uint32_t>(c - '0');
    }
  }
  *base = std::string(name.substr(0, star));
  return true;
}

// Joins the sections of one RFC 2231 parameter and converts it to UTF-8.
std::string JoinSections(std::vector<Section> sections) {
  std::stable_sort(sections.begin(), sections.end(),
                   [](const Section& a, const Section& b) { return a.index < b.index; });
  std::string charset, bytes;
  bool first = true;
  uint32_t last_index = 0;
  for (const Section& s : sections) {
    if (!first && s.index == last_index) continue;  // duplicate section: first wins
    std::string_view v = s.value;
    if (first && s.encoded) {
      // charset'language'text
      size_t q1 = v.find('\'');
      size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
      if (q2 != std::string_view::npos) {
        charset = std::string(v.substr(0, q1));
        v.remove_prefix(q2 + 1);
      }
    }
    bytes += s.encoded ? PercentDecode(v) : std::string(v);
    first = false;
    last_index = s.index;
  }
  return charset.empty() ? bytes : ToUtf8(charset, bytes);
}

std::vector<std::pair<std::string, std::string>> AssembleParams(std::vector<RawParam> raw) {
  // Order of first appearance; RFC 2231 sections gathered under their base name.
  std::vector<std::pair<std::string, std::string>> out;
  // Without a '*' in any name (almost every message) there is nothing to
  // gather: the same result without the map (the guard parses ~6 of these
  // per message).
  if (std::none_of(raw.begin(), raw.end(),
                   [](const RawParam& p) { return p.name.find('*') != std::string::npos; })) {
    out.reserve(raw.size());
    for (RawParam& p : raw) out.emplace_back(std::move(p.name), std::move(p.value));
    return out;
  }
  std::map<std::string, size_t> rfc2231_slot;  // base name -> index in out
  std::vector<std::vector<Section>> sections;  // parallel to out; empty for plain
  for (RawParam& p : raw) {
    std::string base;
    Section sec;
    if (SplitRfc2231Name(p.name, &base, &sec)) {
      sec.value = std::move(p.value);
      auto [it, inserted] = rfc2231_slot.emplace(base, out.size());
      if (inserted) {
        out.emplace_back(base, "");
        sections.emplace_back();
      }
      sections[it->second].push_back(std::move(sec));
    } else {
      out.emplace_back(std::move(p.name), std::move(p.value));
      sections.emplace_back();
    }
  }
  // The RFC 2231 form is the precise one: a plain duplicate of it is dropped.
  std::vector<std::pair<std::string, std::string>> result;
  result.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!sections[i].empty()) {
      out[i].second = JoinSections(std::move(sections[i]));
    } else if (rfc2231_slot.count(out[i].first)) {
      continue;
    }
    result.push_back(std::move(out[i]));
  }
  return result;
}

}  // namespace

MimeParamValue ParseMimeParams(std::string_view raw) {
  MimeParamValue out;
  size_t i = 0;
  SkipCfws(raw, &i);
  // The value itself: every non-space, non-comment character up to ';',
  // lower-cased, written into room for all that is left (then trimmed).
  out.value.resize(raw.size() - std::min(i, raw.size()));
  size_t n = 0;
  while (i < raw.size() && raw[i] != ';') {
    char c = raw[i];
    if (c == '(') {
      SkipComment(raw, &i);
      continue;
    }
    if (!IsWsp(c) && !IsLineBreak(c)) out.value[n++] = mime_internal::AsciiLower(c);
    ++i;
  }
  out.value.resize(n);
  std::vector<RawParam> params;
  while (i < raw.size()) {
    ++i;  // ';'
    SkipCfws(raw, &i);
    std::string name = AsciiLowerCopy(ReadBare(raw, &i, '='));
    std::string value;
    bool has_value = i < raw.size() && raw[i] == '=';
    if (has_value) {
      ++i;
      SkipCfws(raw, &i);
      if (i < raw.size() && raw[i] == '"') {
        value = ReadQuoted(raw, &i);
        // Anything between the closing quote and ';' is junk; skip it.
        while (i < raw.size() && raw[i] != ';') {
          if (raw[i] == '(') {
            SkipComment(raw, &i);
          } else {
            ++i;
          }
        }
      } else {
        value = ReadBare(raw, &i, ';');
      }
    }
    // Bare attributes carry nothing; names with spaces are not names.
    if (!has_value || name.empty() || name.find_first_of(" \t") != std::string::npos) continue;
    params.push_back({std::move(name), std::move(value)});
  }
  out.params = AssembleParams(std::move(params));
  return out;
}

namespace {

struct EncodedWord {
  std::string charset;  // as written, without an RFC 2231 language suffix
  std::string bytes;    // decoded octets
  size_t end = 0;       // index just past "?="
};

// Parses "=?charset?E?text?=" at s[i]. Scanning stops at the third '?' or at
// white space, so trying every "=?" in a value stays linear.
bool ParseEncodedWord(std::string_view s, size_t i, EncodedWord* w) {
  if (s.substr(i, 2) != "=?") return false;
  size_t cs = i + 2;
  size_t q1 = cs;
  while (q1 < s.size() && s[q1] != '?' && !IsWsp(s[q1]) && q1 - cs < 76) ++q1;
  if (q1 >= s.size() || s[q1] != '?' || q1 == cs) return false;
  if (q1 + 2 >= s.size() || s[q1 + 2] != '?') return false;
  char enc = mime_internal::AsciiLower(s[q1 + 1]);
  if (enc != 'b' && enc != 'q') return false;
  size_t text = q1 + 3;
  size_t q3 = text;
  while (q3 < s.size() && s[q3] != '?' && !IsWsp(s[q3])) ++q3;
  if (q3 + 1 >= s.size() || s[q3] != '?' || s[q3 + 1] != '=') return false;
  std::string_view charset = s.substr(cs, q1 - cs);
  charset = charset.substr(0, charset.find('*'));  // RFC 2231 §5: charset*language
  std::string_view encoded = s.substr(text, q3 - text);
  w->charset = std::string(charset);
  w->bytes = enc == 'b' ? DecodeBase64(encoded) : mime_internal::DecodeQEncoding(encoded);
  w->end = q3 + 2;
  return true;
}

}  // namespace

std::string DecodeHeaderText(std::string_view raw) {
  // Unfold: a header value's line breaks carry no text.
  std::string s;
  s.reserve(raw.size());
  for (char c : raw) {
    if (!IsLineBreak(c)) s.push_back(c);
  }

  std::string out;
  out.reserve(s.size());
  // Adjacent words in one charset are joined before conversion: encoders
  // split multi-byte characters across words.
  std::string pending_charset, pending_bytes;
  bool in_word_run = false;  // the last token was an encoded-word
  auto flush = [&] {
    if (!pending_bytes.empty()) out += ToUtf8(pending_charset, pending_bytes);
    pending_bytes.clear();
    pending_charset.clear();
  };
  size_t i = 0;
  EncodedWord w;
  while (i < s.size()) {
    if (s[i] == '=' && ParseEncodedWord(s, i, &w)) {
      if (!in_word_run || !mime_internal::EqualsIgnoreCase(w.charset, pending_charset)) {
        flush();
        pending_charset = w.charset;
      }
      pending_bytes += w.bytes;
      in_word_run = true;
      i = w.end;
      continue;
    }
    if (in_word_run && IsWsp(s[i])) {
      // White space between two encoded-words is not displayed (RFC 2047 §6.2).
      size_t j = i;
      while (j < s.size() && IsWsp(s[j])) ++j;
      if (j < s.size() && s[j] == '=' && ParseEncodedWord(s, j, &w)) {
        i = j;
        continue;
      }
      flush();
      in_word_run = false;
      out.append(s, i, j - i);
      i = j;
      continue;
    }
    if (in_word_run) {
      flush();
      in_word_run = false;
    }
    out.push_back(s[i]);
    ++i;
  }
  flush();
  return out;
}

}  // namespace sealmail
