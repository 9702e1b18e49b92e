// Encoders for building messages: quoted-printable and base64 bodies, RFC 2047
// encoded-words and folding for header text, and RFC 5322 phrases for display
// names. Every output line ends in CRLF and stays within 78 octets where the
// input allows (never more than 998).
//
// Injection-proof by construction: header encoders never emit a bare CR or LF;
// text holding control characters is always put inside encoded-words.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace sealmail {

// Body text -> quoted-printable with CRLF hard breaks (any of CRLF, CR, LF in
// the input is a line break) and '=' soft breaks at 76 columns.
std::string EncodeQuotedPrintable(std::string_view text);
// The same, appended to *out (no temporary).
void AppendQuotedPrintable(std::string* out, std::string_view text);

// Bytes -> base64 in lines of 76 characters, each ending in CRLF.
std::string EncodeBase64Lines(std::string_view data);
// Bytes -> base64 on one line (no CRLF), e.g. for encoded-words.
std::string EncodeBase64(std::string_view data);

// A complete unstructured header field "Name: text\r\n", folded. Text that is
// printable ASCII is folded at spaces; anything else (non-ASCII, control
// characters, words too long to fold) becomes UTF-8 encoded-words.
std::string EncodeUnstructuredHeader(std::string_view name, std::string_view text);

// A display name as an RFC 5322 phrase: atoms as they are, a quoted-string
// when it has specials, encoded-words when it is not printable ASCII.
// The result contains no CR/LF; the caller folds between encoded-words only.
std::string EncodePhrase(std::string_view name);

// True when body text would need quoted-printable or base64 (non-ASCII, long
// lines, control characters).
bool NeedsTransferEncoding(std::string_view text);

// "Wed, 25 Nov 2026 11:55:50 +0000" (RFC 5322 §3.3, UTC).
std::string FormatRfc5322Date(int64_t unix_seconds);

}  // namespace sealmail
