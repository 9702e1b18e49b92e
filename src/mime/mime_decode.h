// MIME decoder: turns RFC 5322 / MIME bytes back into headers and decoded
// parts, for the leak guard, `scope` and tests. Tolerant, like a receiving
// mail client: it never fails on malformed structure, it records a defect and
// goes on (so a hostile message cannot hide content by breaking the parser).
//
// Accepts CRLF or bare LF line ends. Bounded work: nesting depth and part
// count are limited (DecodeLimits); input beyond a limit stays undecoded in
// the parent and is reported as a defect.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sealmail {

struct HeaderField {
  // As written (case kept). Empty for a header block that starts with a
  // continuation line (a defect; the text is kept rather than dropped).
  std::string name;
  // Unfolded (CRLF/LF before WSP removed), raw (not RFC 2047 decoded),
  // trimmed of leading WSP.
  std::string value;
};

// A part is a leaf exactly when `children` is empty. Leaves include a
// multipart/* without a usable boundary (its text in `body`, a defect), a
// multipart or message at the depth limit (its raw bytes in `body`), and the
// report types message/delivery-status, message/disposition-notification and
// message/partial, which hold fields or fragments rather than a message.
struct MimePart {
  std::vector<HeaderField> headers;
  // Lower-case type/subtype; text/plain when absent or invalid, message/rfc822
  // when absent inside multipart/digest (RFC 2045 5.2, RFC 2046 5.1.5).
  std::string content_type = "text/plain";
  // Lower-case names; values unquoted, RFC 2231 decoded (to UTF-8 when the
  // value names a charset), not RFC 2047 decoded.
  std::vector<std::pair<std::string, std::string>> params;
  std::string transfer_encoding;  // lower-case, "7bit" when absent
  std::string body;               // leaf parts: transfer-decoded bytes (charset untouched)
  // multipart/*: the parts; message/rfc822 (and other message/* types): one
  // child, the inner message.
  std::vector<MimePart> children;
  // multipart only. Parts beyond DecodeLimits::max_parts stay, undecoded, in
  // the epilogue.
  std::string preamble, epilogue;

  // First header with this name (case-insensitive), or nullptr.
  const HeaderField* Find(std::string_view name) const;
  // Parameter value (name lower-case), or empty.
  std::string Param(std::string_view name) const;
};

struct DecodeLimits {
  size_t max_depth = 32;
  size_t max_parts = 10000;
};

struct DecodedMessage {
  MimePart root;
  std::vector<std::string> defects;  // human-readable, e.g. "multipart without closing boundary"
};

DecodedMessage DecodeMessage(std::string_view bytes, const DecodeLimits& limits = {});

// RFC 2047 encoded-words in an unstructured header value -> UTF-8 text.
// Charsets other than UTF-8/US-ASCII are converted with iconv; undecodable
// words are left as written.
std::string DecodeHeaderText(std::string_view raw);

// Content-Transfer-Encoding decoders. Lenient: invalid sequences are kept or
// skipped as RFC 2045 recommends; never fail.
std::string DecodeQuotedPrintable(std::string_view in);
std::string DecodeBase64(std::string_view in);

// Converts bytes in `charset` to UTF-8 (iconv); returns the input unchanged
// for utf-8/us-ascii/unknown charsets.
std::string ToUtf8(std::string_view charset, std::string_view bytes);

// A parameterised MIME header value (Content-Type, Content-Disposition).
struct MimeParamValue {
  std::string value;  // lower-case, comments and white space removed ("text/plain", "attachment")
  std::vector<std::pair<std::string, std::string>> params;  // as MimePart::params
};

// Parses `value *(";" attribute "=" value)` leniently: quoted strings,
// comments, RFC 2231 continuations and charsets (`filename*0*=utf-8''...`).
// Content-Disposition's filename is ParseMimeParams(field->value).params.
MimeParamValue ParseMimeParams(std::string_view raw);

}  // namespace sealmail
