// FindAddressTokens: the address finder shared by the leak guard and `scope`.
// Finds every token in text that looks like local@domain, in one linear pass
// (each byte is looked at a bounded number of times, whatever the input).
//
// Deliberately generous: a finder for a leak guard must over-report, never
// miss. The caller decides which tokens are audience members (see
// AddressCandidates for the spellings to try).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace sealmail {

struct AddressToken {
  std::string_view local;   // maximal run of atext and '.' before the '@' (≤ 64 octets kept)
  std::string_view domain;  // maximal run of letters, digits, '-', '.', UTF-8 after the '@'
  size_t offset = 0;        // of the '@' in the text
};

// Steps through the tokens of one text, in order: the loop behind
// FindAddressTokens, for callers that want no callback per token. text must
// outlive the cursor.
class AddressTokenCursor {
 public:
  explicit AddressTokenCursor(std::string_view text) : text_(text) {}
  // The next token whose local and domain parts are non-empty; false at the end.
  bool Next(AddressToken* out) { return Next(out, {}); }
  // The same, skipping tokens spelled exactly `skip` ("local@domain"). A
  // repeat of `skip` is recognised from its bytes and the two bytes around
  // them, without the left and right scans: cheap for text that repeats
  // one address (a support address in every paragraph).
  bool Next(AddressToken* out, std::string_view skip);
  // Next(out, token) for a `token` that a cursor returned, on any text, as
  // "local@domain": such a spelling can always be skipped, so it is not
  // checked again (that check was half of Next's instructions when every
  // call skips the last token met, as the guard's walk does).
  bool NextSkippingToken(AddressToken* out, std::string_view token);

 private:
  // skip_at: the '@' in skip, npos when skip cannot be skipped cheaply.
  bool Scan(AddressToken* out, std::string_view skip, size_t skip_at);

  std::string_view text_;
  size_t next_ = 0;         // where to look for the next '@'
  size_t prev_at_end_ = 0;  // left scans never cross the previous '@' or its domain
};

// Calls fn(const AddressToken&) for every token whose local and domain parts
// are non-empty. A template, not std::function: it runs for every '@' of
// every message the guard checks.
template <typename Fn>
void FindAddressTokens(std::string_view text, Fn&& fn) {
  AddressTokenCursor cursor(text);
  AddressToken t;
  while (cursor.Next(&t)) fn(t);
}

// The spellings of a token to look up, lower-cased (ASCII): the full token,
// every suffix of the local part that starts after a non-alphanumeric
// character ("mailto=jo@x" -> "jo@x"), times every prefix of the domain that
// ends at a dot boundary and keeps at least one dot ("x.com.Next" ->
// "x.com"). Calls fn with each "local@domain" (at most ~16 x 8 spellings).
void AddressCandidates(const AddressToken& t, const std::function<void(std::string_view)>& fn);

// Decodes HTML character references: &#64; &#x40; and the named ones that
// matter for addresses and text (&commat; &period; &amp; &lt; &gt; &quot;
// &apos; &nbsp;, &#NN without ';'). Unknown references stay as written.
std::string DecodeHtmlEntities(std::string_view text);

// Decodes %XX escapes (URLs, mailto: links). Invalid escapes stay.
std::string DecodePercent(std::string_view text);

}  // namespace sealmail
