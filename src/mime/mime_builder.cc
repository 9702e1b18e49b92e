#include "mime/mime_builder.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "base/hash.h"
#include "mime/mime_encode.h"

namespace sealmail {
namespace {

// Non-ASCII share above which base64 is shorter than quoted-printable
// (QP spends 3 bytes per 8-bit byte, base64 4/3 per byte).
bool PreferBase64(std::string_view text) {
  // Eight bytes at a time: the high bits of a word, counted (this ran once
  // per part per message, byte by byte, at ~3 % of `send`'s CPU). Counted by
  // a multiply that sums the eight 0/1 bytes into the top one: without
  // -mpopcnt, __builtin_popcountll is a libgcc call (1.7 % of `send`).
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  size_t high = 0, i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, text.data() + i, 8);
    high += static_cast<size_t>((((w >> 7) & kOnes) * kOnes) >> 56);
  }
  for (; i < text.size(); ++i) high += static_cast<unsigned char>(text[i]) >= 0x80;
  return high * 6 > text.size();
}

// in_multipart: the CRLF before the next delimiter belongs to the delimiter
// (RFC 2046 §5.1.1), so one is always added after the content; a body that
// ends in a line break keeps it.
void AppendPart(std::string* out, std::string_view subtype, std::string_view body,
                bool in_multipart) {
  *out += "Content-Type: text/";
  *out += subtype;
  *out += "; charset=utf-8\r\n";
  if (PreferBase64(body)) {
    // Normalise line ends first: the decoded text must read the same everywhere.
    std::string crlf;
    crlf.reserve(body.size() + body.size() / 32);
    for (size_t i = 0; i < body.size(); ++i) {
      char c = body[i];
      if (c == '\r') {
        crlf += "\r\n";
        if (i + 1 < body.size() && body[i + 1] == '\n') ++i;
      } else if (c == '\n') {
        crlf += "\r\n";
      } else {
        crlf += c;
      }
    }
    *out += "Content-Transfer-Encoding: base64\r\n\r\n";
    *out += EncodeBase64Lines(crlf);
  } else {
    *out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
    const size_t start = out->size();
    AppendQuotedPrintable(out, body);
    const size_t n = out->size() - start;
    if (in_multipart || n < 2 || out->compare(out->size() - 2, 2, "\r\n") != 0) {
      *out += "\r\n";
    }
  }
}

// "Phrase <addr>" or "addr", appended. Here and in BuildMessage pieces go
// straight into the message: the temporaries of `a + b + c` cost 16 % of
// BuildMessage's instructions.
void AppendMailbox(std::string* out, const Mailbox& m) {
  const bool phrase = !m.display_name.empty();
  if (phrase) {
    *out += EncodePhrase(m.display_name);
    *out += " <";
  }
  *out += m.address.local;
  *out += '@';
  *out += m.address.domain;
  if (phrase) *out += '>';
}

}  // namespace

std::string MakeMessageId(std::string_view campaign, std::string_view recipient_key,
                          std::string_view domain) {
  std::string seed(campaign);
  seed += '\n';
  seed += recipient_key;
  std::string id = "<";
  id.append(Sha256Hex(seed), 0, 32);
  id += '.';
  id += campaign;
  id += '@';
  id += domain;
  id += '>';
  return id;
}

std::string BuildMessage(const MessageFields& m) {
  std::string out;
  const size_t estimate = 512 + m.text.size() * 2 + m.html.size() * 2;
  out.reserve(m.reserve > 0 ? std::min(m.reserve, estimate) : estimate);
  out += "Date: ";
  out += FormatRfc5322Date(m.date_unix);
  // From / Reply-To: phrase (possibly encoded-words) and the address itself,
  // which is never encoded. A long phrase folds between its encoded-words.
  out += "\r\nFrom: ";
  AppendMailbox(&out, *m.from);
  out += "\r\n";
  if (m.reply_to != nullptr) {
    out += "Reply-To: ";
    AppendMailbox(&out, *m.reply_to);
    out += "\r\n";
  }
  out += "To: ";
  if (!m.to_name.empty()) {
    out += EncodePhrase(m.to_name);
    out += " <";
    out += m.to;
    out += ">";
  } else {
    out += m.to;
  }
  out += "\r\n";
  out += EncodeUnstructuredHeader("Subject", m.subject);
  out += "Message-ID: ";
  out += m.message_id;
  out += "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "List-Unsubscribe: <mailto:";
  out += m.unsubscribe_mailto;
  out += "?subject=unsubscribe>";
  if (!m.unsubscribe_url.empty()) {
    out += ",\r\n <";
    out += m.unsubscribe_url;
    out += ">\r\n";
    // RFC 8058: one-click only with an HTTPS URI to POST to.
    out += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
  } else {
    out += "\r\n";
  }
  if (m.html.empty()) {
    AppendPart(&out, "plain", m.text, false);
    return out;
  }
  // "=_" never occurs in quoted-printable or base64 output, so no part can
  // hold the boundary. Its other 24 characters: the hash a Message-ID of
  // MakeMessageId already starts with (no second SHA-256 per message), or a
  // hash of any other Message-ID.
  std::string_view id = m.message_id;
  // (A loop, not find_first_not_of, which calls memchr once per character.)
  bool hex_id = id.size() > 25 && id[0] == '<';
  for (size_t i = 1; hex_id && i <= 24; ++i) {
    hex_id = (id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f');
  }
  char boundary_bytes[29] = "=_sm_";
  if (hex_id)
    std::memcpy(boundary_bytes + 5, id.data() + 1, 24);
  else
    std::memcpy(boundary_bytes + 5, Sha256Hex(id).data(), 24);
  const std::string_view boundary(boundary_bytes, 29);
  out += "Content-Type: multipart/alternative;\r\n boundary=\"";
  out += boundary;
  out += "\"\r\n\r\n--";
  out += boundary;
  out += "\r\n";
  AppendPart(&out, "plain", m.text, true);
  out += "--";
  out += boundary;
  out += "\r\n";
  AppendPart(&out, "html", m.html, true);
  out += "--";
  out += boundary;
  out += "--\r\n";
  return out;
}

}  // namespace sealmail
