// SMTP replies (RFC 5321 §4.2) and the one parser for them.
//
// A reply is one or more lines "CCC-text" ending with "CCC text" (or a bare
// "CCC"); the enhanced status code of RFC 3463 ("4.2.1"), when the first line
// carries one, is kept apart from the text. The parser takes bytes as they
// arrive and says how many it consumed; it never reads past one reply, so
// pipelined replies are taken one at a time from the same buffer.
//
// Pure functions on strings: thread-safe, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sealmail {

struct SmtpReply {
  int code = 0;              // 200..599
  std::string enhanced;      // "2.1.5" or empty
  std::vector<std::string> lines;  // text after "CCC-"/"CCC ", one per line

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
  // "250 2.1.5 Ok" style, lines joined with " / ", for state and logs.
  std::string ToString() const;
};

enum class SmtpParse { kNeedMore, kDone, kMalformed };

// Maximum bytes of one reply before it counts as malformed (RFC 5321 allows
// 512 per line; servers send long EHLO lists, so allow many lines).
inline constexpr size_t kMaxSmtpReplyBytes = 64 * 1024;

// Parses one complete reply from the front of `in`. kDone: *out is the reply
// and *consumed the bytes it used. kNeedMore: no complete reply yet.
// kMalformed: *out->lines[0] says why (for the operator), *consumed is 0.
SmtpParse ParseSmtpReply(std::string_view in, SmtpReply* out, size_t* consumed);

// The message bytes as DATA content (RFC 5321 §4.5.2): lines that start with
// "." get another "."; bare LF becomes CRLF; a final CRLF is added when
// missing; then ".\r\n" ends it.
std::string DotStuff(std::string_view message);

// True when the message needs SMTPUTF8 (RFC 6531): any 8-bit byte in the
// header block, or in the envelope addresses.
bool NeedsSmtpUtf8(std::string_view message, std::string_view from, std::string_view rcpt);
// True when any byte of the message is 8-bit (BODY=8BITMIME).
bool HasEightBit(std::string_view s);

}  // namespace sealmail
