// BuildMessage: one recipient's finished RFC 5322 message bytes.
//
// Structure: text/plain alone, or multipart/alternative (text, then html).
// Bodies are UTF-8 in quoted-printable, or base64 when that is shorter
// (mostly non-Latin text); headers use RFC 2047 encoded-words for non-ASCII
// text, never inside an address. CRLF line ends; no line over 998 octets.
// The multipart boundary starts with "=_", which quoted-printable and base64
// output can never contain, so no merge value can open a new MIME part.
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "address/address.h"

namespace sealmail {

struct MessageFields {
  const Mailbox* from = nullptr;      // required
  const Mailbox* reply_to = nullptr;  // optional
  std::string_view to;                // the recipient's normalised address
  std::string_view to_name;           // display name for To, may be empty
  std::string_view subject;           // rendered, one line
  std::string_view text;              // rendered text part
  std::string_view html;              // rendered html part, empty for none
  std::string_view message_id;        // "<...@...>"
  int64_t date_unix = 0;
  std::string_view unsubscribe_mailto;  // address for List-Unsubscribe mailto:
  std::string_view unsubscribe_url;     // https URL, empty for none
  // Bytes to reserve for the message, at most an upper estimate from the
  // parts (quoted-printable may double them; 0: that estimate). A message
  // that outgrows it grows as any string does (a copy each time).
  size_t reserve = 0;
};

std::string BuildMessage(const MessageFields& m);

// Deterministic Message-ID for (campaign, recipient key): the same recipient
// of the same campaign always gets the same id, so a message resent after a
// crash is recognisably the same message. "<hex32.campaign@domain>".
std::string MakeMessageId(std::string_view campaign, std::string_view recipient_key,
                          std::string_view domain);

}  // namespace sealmail
