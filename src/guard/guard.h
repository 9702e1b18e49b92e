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
//
// Proofs (GuardProofs): `send` composes every message twice, once in
// preflight (which must prove all of them before the first leaves) and once,
// signed, right before it is handed over. Check can remember what it proved
// in preflight, and CheckReusing then accepts the second composition without
// scanning it again when its bytes are provably the ones already checked (see
// GuardProofs for exactly what is compared). Anything else gets the full
// Check.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"
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
  // True when CheckReusing accepted the message on an earlier proof of the
  // same bytes instead of scanning them again (for stats).
  bool proof_reused() const { return proof_reused_; }

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
  bool proof_reused_ = false;
};

class Guard;

// GuardProofs: what one Guard proved in this process, so that a message
// composed again later in the same run is not scanned a second time.
//
// A proof is a 128-bit digest (KeyedDigest: GMAC under a key drawn for this
// GuardProofs, never seen outside the process, so no CSV row or template can
// be made to collide with it) of the recipient and of every byte of the
// passing message except the two parts that change from one
// composition of it to the next: the value of its first field, which must be
// Date, and the DKIM-Signature fields in front of it (preflight does not
// sign). Those parts must be inert in both compositions: printable ASCII
// without '@', '%', '&' or "=?", no bare CR or LF, no continuation line of
// white space alone. Nothing in them can then spell an address in any view
// the guard scans (raw, RFC 2047, HTML entities, %XX) nor start or end a
// field, so neither verdict rested on them (no header rule concerns Date or
// DKIM-Signature), and a message that hashes to a proof's value for the same
// recipient would get exactly the full Check's verdict. (The fuzzer found
// why the first composition's parts must be inert too: a bare LF in its Date
// value began a To field.) Whether the recipient's own address
// was found is kept with the proof, for the audit trail.
//
// Memory only, never on disk: a proof made against another audience, another
// configuration or by another binary can never vouch for a message. Proofs
// vouch only through the Guard that made them. 24 bytes per message.
//
// Thread-safety: Guard::Check adds proofs from any thread until Seal(); after
// Seal() CheckReusing reads them from any thread and nothing is added.
class GuardProofs {
 public:
  GuardProofs() = default;
  GuardProofs(const GuardProofs&) = delete;
  GuardProofs& operator=(const GuardProofs&) = delete;

  // Only messages up to this size (not counting the DKIM-Signature fields in
  // front) get proofs: larger ones are scanned again. A proof costs two
  // digest passes (remembering and reusing, ~0.1 ns a byte each here), less
  // than the guard's second scan at any size (~7 µs plus ~0.25 ns a byte):
  // engine alone, 5,000 x 100 KB, 1.20 -> 1.12 s of CPU when this limit was
  // raised from 6 KiB, the SHA-256 proofs' break-even (docs/performance.md).
  // The limit keeps the digest's collision bound below 2^-108 (base/hash.h).
  static constexpr size_t kMaxMessageBytes = size_t{8} << 20;

  // Room for n proofs (the messages preflight will prove, at most), so that
  // remembering them grows no vector by doubling (and Seal's shrink copies
  // nothing when every one of the n is proved). Before the first proof.
  void Reserve(size_t n);
  // Ends the remembering phase (sorts the proofs for lookup). Once.
  void Seal();
  size_t size() const;

 private:
  friend class Guard;
  // Entry::key is Hash64(recipient) with its two low bits replaced by these.
  static constexpr uint64_t kFoundSelf = 1;  // the recipient's address was found
  // ... and the spelling recorded for it is the recipient lower-cased (ASCII),
  // so the second composition needs no parse to record the same
  static constexpr uint64_t kSpelledLowered = 2;
  static constexpr uint64_t kFlags = kFoundSelf | kSpelledLowered;
  struct Entry {
    uint64_t key;
    std::array<uint8_t, 16> digest;
  };
  void Add(const Guard* owner, const Entry& e);
  // The proof of (key, digest) made by owner, if any, and its flags.
  bool Find(const Guard* owner, uint64_t key, const std::array<uint8_t, 16>& digest,
            bool* found_self, bool* spelled_lowered) const;

  const KeyedDigest digest_;      // the proofs' key
  mutable std::mutex mu_;         // guards the fields below until sealed_
  const Guard* owner_ = nullptr;  // the Guard whose proofs these are
  std::vector<Entry> entries_;
  bool sealed_ = false;
};

class Guard {
 public:
  // sender_addresses: the campaign's own addresses (From, Reply-To,
  // unsubscribe mailbox), normalised; the only ones allowed in From, Sender,
  // Reply-To and Return-Path. audience: every audience member (must not be
  // null; may be empty in unit tests of the header rules).
  Guard(std::vector<std::string> sender_addresses, std::shared_ptr<const AudienceSet> audience);

  // Checks the message; on success moves the bytes into a GuardedMessage.
  // On failure returns kBlocked and fills *violations (if given). With
  // remember (not sealed), a passing message's proof is added to it.
  Result<GuardedMessage> Check(std::string bytes, std::string envelope_from,
                               const std::vector<std::string>& envelope_recipients,
                               std::string_view recipient, std::string message_id,
                               std::vector<GuardViolation>* violations,
                               GuardProofs* remember = nullptr) const;

  // Check, except that a message covered by one of proofs (sealed, made by
  // this Guard) is accepted without scanning its bytes again; the envelope
  // is always checked. Same results as Check.
  Result<GuardedMessage> CheckReusing(const GuardProofs& proofs, std::string bytes,
                                      std::string envelope_from,
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
