// The leak guard: proves that a finished message names exactly one recipient
// before any transport can see it (SPEC.md, DESIGN.md).
//
// GuardedMessage is the only thing a Transport accepts, and only Guard::Check
// can make one: its constructor is private and Guard is its only friend. So
// there is no path to a transport that skips the guard.
//
// What it proves, for all bytes of the finished message (DKIM header
// included):
//  - the envelope has exactly one recipient, and it is this message's;
//  - exactly one To, holding exactly that address; no Cc, Bcc, Resent-*;
//    From, Sender, Reply-To and Return-Path hold only the sender's own
//    addresses;
//  - no address of any other audience member appears anywhere: in any header
//    (RFC 2047 decoded), in any decoded part (quoted-printable, base64, any
//    charset, message/rfc822 inside), after HTML entity and percent decoding,
//    in the raw bytes; compared with the local part's ASCII letters in any
//    case, the domain in any case, as A-label or U-label.
// Cost is linear in the message size and independent of the audience size
// (AudienceSet lookups).
//
// Guard is immutable after construction and safe to share between threads.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "guard/audience_set.h"

namespace sealmail {

struct GuardViolation {
  std::string recipient;  // the message's recipient
  std::string where;      // e.g. "header To", "header Cc", "envelope"
  std::string what;       // e.g. "a second address: j***@example.com"
  std::string ToString() const;
};

class GuardedMessage {
 public:
  const std::string& bytes() const { return bytes_; }
  const std::string& envelope_from() const { return envelope_from_; }
  const std::string& recipient() const { return recipient_; }
  const std::string& message_id() const { return message_id_; }
  // Audience members whose address the message contains (lower-cased
  // spellings): normally only the recipient. Recorded in the audit trail.
  const std::vector<std::string>& found() const { return found_; }

  GuardedMessage(GuardedMessage&&) = default;
  GuardedMessage& operator=(GuardedMessage&&) = default;
  GuardedMessage(const GuardedMessage&) = delete;
  GuardedMessage& operator=(const GuardedMessage&) = delete;

 private:
  friend class Guard;
  GuardedMessage(std::string bytes, std::string envelope_from, std::string recipient,
                 std::string message_id)
      : bytes_(std::move(bytes)),
        envelope_from_(std::move(envelope_from)),
        recipient_(std::move(recipient)),
        message_id_(std::move(message_id)) {}
  std::string bytes_;
  std::string envelope_from_;
  std::string recipient_;
  std::string message_id_;
  std::vector<std::string> found_;
};

class Guard {
 public:
  // sender_addresses: the campaign's own addresses (From, Reply-To,
  // unsubscribe mailbox), normalised; the only ones allowed in From, Sender,
  // Reply-To and Return-Path. audience: every audience member (must not be
  // null; may be empty in unit tests of the header rules).
  Guard(std::vector<std::string> sender_addresses, std::shared_ptr<const AudienceSet> audience);

  // Checks the message; on success moves the bytes into a GuardedMessage.
  // On failure returns kBlocked and fills *violations (if given).
  Result<GuardedMessage> Check(std::string bytes, std::string envelope_from,
                               const std::vector<std::string>& envelope_recipients,
                               std::string_view recipient, std::string message_id,
                               std::vector<GuardViolation>* violations) const;

 private:
  std::set<std::string> sender_keys_;
  std::shared_ptr<const AudienceSet> audience_;
};

// "j***@example.com": enough to recognise, not enough to harvest.
std::string MaskAddress(std::string_view address);

}  // namespace sealmail
