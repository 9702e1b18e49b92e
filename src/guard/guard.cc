#include "guard/guard.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <unordered_set>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "address/address.h"
#include "address/address_find.h"
#include "base/ascii.h"
#include "base/check.h"
#include "base/hash.h"
#include "mime/mime_decode.h"
#include "mime/mime_visible.h"

namespace sealmail {
namespace {

bool StartsWithCI(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsCI(s.substr(0, prefix.size()), prefix);
}

// The addresses in a header that must hold one mailbox: parsed strictly; a
// value that is not exactly one mailbox is itself a violation.
Result<std::string> OneMailboxKey(std::string_view value) {
  auto mb = ParseMailbox(value);
  if (!mb.ok()) return mb.status();
  return mb->address.Key();
}

// The recipient's own spellings, as the audience holds them; the first is
// the one the audit trail records when the message names the recipient.
std::vector<std::string> SelfSpellings(const Result<Address>& want, std::string_view recipient) {
  if (want.ok()) return AudienceSet::Spellings(*want);
  return {LowerAscii(recipient)};
}

// OneMailboxKey for the sender's own headers (From, Reply-To, ...): the same
// bytes in every message of a campaign, and ParseMailbox is pure, so each
// thread remembers its last few answers (successes only; a failure is
// reported with its message, parsed afresh).
Result<std::string> SenderMailboxKey(std::string_view value) {
  struct Memo {
    std::string value, key;
  };
  thread_local Memo memo[4];
  thread_local size_t next = 0;
  for (const Memo& m : memo) {
    if (!m.key.empty() && m.value == value) return m.key;
  }
  auto key = OneMailboxKey(value);
  if (key.ok() && !key->empty()) {
    Memo& m = memo[next++ % 4];
    m.value.assign(value);
    m.key = *key;
  }
  return key;
}

// Looks up the tokens of every view of a message (VisitVisibleAddresses) in
// the audience.
class Scanner {
 public:
  Scanner(const AudienceSet& set, const std::vector<std::string>& self,
          std::vector<GuardViolation>* out, std::string_view recipient)
      : set_(set), out_(out), recipient_(recipient) {
    for (const auto& s : self) self_.insert(AudienceSet::HashOf(s));
    if (!self.empty()) self_canonical_ = self[0];
  }

  void Lookup(const AddressToken& t, const VisibleWhere& where) {
    AddressCandidates(t, [&](std::string_view cand) {
      uint64_t h = AudienceSet::HashOf(cand);
      if (!set_.ContainsHash(h)) return;
      if (self_.count(h)) {
        // Record the recipient once, in its canonical (A-label) spelling.
        if (found_hashes_.insert(h) && !self_recorded_) {
          found_.push_back(self_canonical_);
          self_recorded_ = true;
        }
        return;
      }
      if (!found_hashes_.insert(h)) return;  // report each member once
      found_.push_back(CanonicalDomainSpelling(cand));
      out_->push_back({std::string(recipient_), where.ToString(),
                       "names another audience member, " + MaskAddress(cand)});
    });
  }

  std::vector<std::string> TakeFound() { return std::move(found_); }

 private:
  const AudienceSet& set_;
  std::vector<GuardViolation>* out_;
  std::string_view recipient_;
  // A passing message names one member (the recipient, in one or two
  // spellings): a short vector beats a node per element. A hostile one may
  // name thousands: past 16 a hash set keeps the scan linear.
  // The first 16 in place (no allocation for a passing message).
  struct SmallSet {
    std::array<uint64_t, 16> v;
    size_t n = 0;
    std::unordered_set<uint64_t> big;
    bool count(uint64_t h) const {
      return n < v.size() ? std::find(v.begin(), v.begin() + n, h) != v.begin() + n
                          : big.count(h) > 0;
    }
    bool insert(uint64_t h) {
      if (count(h)) return false;
      if (n < v.size()) {
        v[n++] = h;
        if (n == v.size()) big.insert(v.begin(), v.end());
      } else {
        big.insert(h);
      }
      return true;
    }
  };
  SmallSet self_;
  SmallSet found_hashes_;
  std::string self_canonical_;
  bool self_recorded_ = false;
  std::vector<std::string> found_;
};


bool StartsFieldCI(std::string_view b, size_t pos, std::string_view name_colon) {
  if (b.size() - pos < name_colon.size()) return false;
  for (size_t i = 0; i < name_colon.size(); ++i) {
    char c = b[pos + i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != name_colon[i]) return false;
  }
  return true;
}

// Bytes that cannot be part of an address in any view the guard scans, nor
// change where a field ends: printable ASCII without '@', '%' and '&', and
// CR LF only as a pair. "=?" (an RFC 2047 encoded-word) is refused too.
bool CannotSpellAnAddress(std::string_view v) {
  for (size_t i = 0; i < v.size(); ++i) {
#if defined(__SSE2__)
    // 16 bytes at once while they are all printable ASCII other than '@',
    // '%' and '&', and no '=' among them comes before a '?' (the byte after
    // the block too); the first byte in a block that is anything else (CR,
    // LF and TAB included) is judged on its own below. A DKIM-Signature
    // field is ~500 such bytes in every message the send loop hands over
    // (issue #9). The loop always leaves i inside v.
    while (v.size() - i >= 17) {
      const char* p = v.data() + i;
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
      // Signed: bytes of 0x80 and above are negative, below 0x20 too.
      __m128i bad = _mm_or_si128(_mm_cmplt_epi8(c, _mm_set1_epi8(0x20)),
                                 _mm_cmpeq_epi8(c, _mm_set1_epi8(0x7f)));
      bad = _mm_or_si128(bad, _mm_cmpeq_epi8(c, _mm_set1_epi8('@')));
      bad = _mm_or_si128(bad, _mm_cmpeq_epi8(c, _mm_set1_epi8('%')));
      bad = _mm_or_si128(bad, _mm_cmpeq_epi8(c, _mm_set1_epi8('&')));
      bad = _mm_or_si128(bad, _mm_and_si128(_mm_cmpeq_epi8(c, _mm_set1_epi8('=')),
                                            _mm_cmpeq_epi8(next, _mm_set1_epi8('?'))));
      if (const int m = _mm_movemask_epi8(bad); m != 0) {
        i += static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(m)));  // the first such byte
        break;
      }
      i += 16;
    }
#endif
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '\r') {
      if (i + 1 >= v.size() || v[i + 1] != '\n') return false;
      ++i;
      continue;
    }
    if (c == '\t') continue;
    if (c < 0x20 || c > 0x7e || c == '@' || c == '%' || c == '&') return false;
    if (c == '=' && i + 1 < v.size() && v[i + 1] == '?') return false;
  }
  return true;
}

// Where the parts of a message that may change between two compositions of
// it lie (GuardProofs): DKIM-Signature fields at the very start, then a Date
// field whose value is [date_begin, date_end). False when the message is not
// shaped like that (then it has no proof).
struct Varying {
  size_t prefix_end = 0;  // end of the leading DKIM-Signature fields
  size_t date_begin = 0;  // after "Date:"
  size_t date_end = 0;    // at the CRLF that ends the Date field
};

bool FindVarying(std::string_view b, Varying* v) {
  size_t pos = 0;
  while (StartsFieldCI(b, pos, "dkim-signature:")) {
    // The field ends at the first CRLF not followed by folding white space.
    size_t e = pos;
    for (;;) {
      size_t crlf = b.find("\r\n", e);
      if (crlf == std::string_view::npos) return false;
      e = crlf + 2;
      size_t j = e;
      while (j < b.size() && (b[j] == ' ' || b[j] == '\t')) ++j;
      if (j == e) break;  // the next field starts here
      // A continuation line of white space alone may end the header block
      // for some parsers: not a shape we prove.
      if (j == b.size() || b[j] == '\r' || b[j] == '\n') return false;
    }
    pos = e;
  }
  if (!StartsFieldCI(b, pos, "date:")) return false;
  v->prefix_end = pos;
  v->date_begin = pos + 5;
  size_t crlf = b.find("\r\n", v->date_begin);
  if (crlf == std::string_view::npos) return false;
  // A folded Date would continue past the CRLF: not a shape we prove.
  if (crlf + 2 >= b.size() || b[crlf + 2] == ' ' || b[crlf + 2] == '\t') return false;
  v->date_end = crlf;
  return true;
}

// The message has the shape of a proof (FindVarying) and is within
// GuardProofs::kMaxMessageBytes (the first test only spares larger messages
// the parse: DKIM-Signature fields are far below 4 KiB).
bool Provable(std::string_view b, Varying* v) {
  return b.size() <= GuardProofs::kMaxMessageBytes + 4096 && FindVarying(b, v) &&
         b.size() - v->prefix_end <= GuardProofs::kMaxMessageBytes;
}

// The envelope names exactly this recipient, cheaply: the very same string
// (else CheckReusing leaves it to Check, which compares keys).
bool EnvelopeIsRecipient(const std::vector<std::string>& envelope_recipients,
                         std::string_view recipient) {
  return envelope_recipients.size() == 1 && envelope_recipients[0] == recipient;
}

// Both compositions' varying parts must be inert for a proof to hold: the
// first's too, or its verdict could have rested on them (a bare LF in a Date
// value can start a To field that the second composition no longer has).
bool VaryingIsInert(std::string_view b, const Varying& v) {
  return CannotSpellAnAddress(b.substr(0, v.prefix_end)) &&
         CannotSpellAnAddress(b.substr(v.date_begin, v.date_end - v.date_begin));
}

KeyedDigest::Digest ProofDigest(const KeyedDigest& key, std::string_view recipient,
                                std::string_view b, const Varying& v) {
  return key.Of({recipient, std::string_view("\0", 1),
                 b.substr(v.prefix_end, v.date_begin - v.prefix_end), b.substr(v.date_end)});
}

}  // namespace

void GuardProofs::Reserve(size_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  SM_CHECK(!sealed_ && entries_.empty());
  entries_.reserve(n);
}

void GuardProofs::Seal() {
  std::lock_guard<std::mutex> lock(mu_);
  SM_CHECK(!sealed_);
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
    return a.key != b.key ? a.key < b.key : a.digest < b.digest;
  });
  entries_.shrink_to_fit();
  sealed_ = true;
}

size_t GuardProofs::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void GuardProofs::Add(const Guard* owner, const Entry& e) {
  std::lock_guard<std::mutex> lock(mu_);
  SM_CHECK(!sealed_);  // remembering after Seal would be a bug in the caller
  if (owner_ == nullptr) owner_ = owner;
  SM_CHECK(owner_ == owner);  // one Guard's proofs only
  entries_.push_back(e);
}

bool GuardProofs::Find(const Guard* owner, uint64_t key, const std::array<uint8_t, 16>& digest,
                       bool* found_self, bool* spelled_lowered) const {
  // Read without the lock: after Seal nothing changes.
  if (!sealed_ || owner_ != owner) return false;
  key &= ~kFlags;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                             [](const Entry& e, uint64_t k) { return e.key < k; });
  for (; it != entries_.end() && (it->key | kFlags) == (key | kFlags); ++it) {
    if (it->digest == digest) {
      *found_self = (it->key & kFoundSelf) != 0;
      *spelled_lowered = (it->key & kSpelledLowered) != 0;
      return true;
    }
  }
  return false;
}

std::string GuardViolation::ToString() const {
  return MaskAddress(recipient) + ": " + where + ": " + what;
}

std::string MaskAddress(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0) return "***";
  std::string out(address.substr(0, 1));
  out += "***";
  out += address.substr(at);
  return out;
}

Guard::Guard(std::vector<std::string> sender_addresses, std::shared_ptr<const AudienceSet> audience)
    : audience_(std::move(audience)) {
  for (const auto& a : sender_addresses) {
    auto parsed = ParseAddress(a);
    sender_keys_.insert(parsed.ok() ? parsed->Key() : LowerAscii(a));
  }
}

Result<GuardedMessage> Guard::Check(std::string bytes, std::string envelope_from,
                                    const std::vector<std::string>& envelope_recipients,
                                    std::string_view recipient, std::string message_id,
                                    std::vector<GuardViolation>* violations,
                                    GuardProofs* remember) const {
  std::vector<GuardViolation> found;
  auto add = [&](std::string where, std::string what) {
    found.push_back({std::string(recipient), std::move(where), std::move(what)});
  };
  auto want = ParseAddress(recipient);
  std::string want_key = want.ok() ? want->Key() : LowerAscii(recipient);

  if (envelope_recipients.size() != 1) {
    add("envelope", std::to_string(envelope_recipients.size()) + " recipients, expected exactly 1");
  } else {
    // Usually the very same string as recipient: its parse is already done
    // (ParseAddress is pure).
    const bool same = envelope_recipients[0] == recipient;
    auto got = same ? want : ParseAddress(envelope_recipients[0]);
    if (!got.ok() || (same ? want_key : got->Key()) != want_key) {
      add("envelope",
          "recipient " + MaskAddress(envelope_recipients[0]) + " is not this message's recipient");
    }
  }

  DecodedMessage parsed = DecodeMessage(bytes);
  int to_count = 0;
  for (const HeaderField& h : parsed.root.headers) {
    const std::string_view name = h.name;  // compared ignoring ASCII case
    if (EqualsCI(name, "to")) {
      ++to_count;
      // A To of the bare recipient address parses as the recipient did
      // (ParseMailbox of a bare address is ParseAddress's parse).
      auto key = want.ok() && h.value == recipient ? Result<std::string>(want_key)
                                                   : OneMailboxKey(h.value);
      if (!key.ok()) {
        add("header To", "not exactly one address: " + key.status().message());
      } else if (*key != want_key) {
        add("header To", "names " + MaskAddress(*key) + ", not this message's recipient");
      }
    } else if (EqualsCI(name, "cc") || EqualsCI(name, "bcc") || StartsWithCI(name, "resent-")) {
      add("header " + h.name, "must not be present");
    } else if (EqualsCI(name, "from") || EqualsCI(name, "sender") || EqualsCI(name, "reply-to") ||
               EqualsCI(name, "return-path")) {
      const std::string& v = h.value;
      if (EqualsCI(name, "return-path") && v == "<>") continue;
      auto key = SenderMailboxKey(v);
      if (!key.ok()) {
        add("header " + h.name, "not exactly one address: " + key.status().message());
      } else if (!sender_keys_.count(*key)) {
        add("header " + h.name, MaskAddress(*key) + " is not one of the campaign's own addresses");
      }
    }
  }
  if (to_count != 1) add("header To", std::to_string(to_count) + " To headers, expected exactly 1");

  // Every view of every byte, for every other audience member.
  std::vector<std::string> self = SelfSpellings(want, recipient);
  Scanner scan(*audience_, self, &found, recipient);
  VisitVisibleAddresses(parsed.root, bytes, [&](const AddressToken& t, const VisibleWhere& where) {
    scan.Lookup(t, where);
  });

  if (!found.empty()) {
    std::string msg = "leak guard blocked the message to " + MaskAddress(recipient);
    for (const auto& v : found) msg += "\n  " + v.where + ": " + v.what;
    if (violations != nullptr) *violations = std::move(found);
    return Status::Blocked(msg);
  }
  GuardedMessage m(std::move(bytes), std::move(envelope_from), std::string(recipient),
                   std::move(message_id));
  m.found_ = scan.TakeFound();
  Varying v;
  if (remember != nullptr && Provable(m.bytes_, &v) && VaryingIsInert(m.bytes_, v)) {
    // On success found_ holds at most the recipient (anyone else is a violation).
    uint64_t flags = 0;
    if (!m.found_.empty()) {
      flags |= GuardProofs::kFoundSelf;
      if (IsLowerAsciiOf(m.found_[0], recipient)) flags |= GuardProofs::kSpelledLowered;
    }
    GuardProofs::Entry e{(Hash64(recipient) & ~GuardProofs::kFlags) | flags,
                         ProofDigest(remember->digest_, recipient, m.bytes_, v)};
    remember->Add(this, e);
  }
  return m;
}

Result<GuardedMessage> Guard::CheckReusing(const GuardProofs& proofs, std::string bytes,
                                           std::string envelope_from,
                                           const std::vector<std::string>& envelope_recipients,
                                           std::string_view recipient, std::string message_id,
                                           std::vector<GuardViolation>* violations) const {
  Varying v;
  bool found_self = false, spelled_lowered = false;
  if (EnvelopeIsRecipient(envelope_recipients, recipient) && Provable(bytes, &v) &&
      VaryingIsInert(bytes, v) &&
      proofs.Find(this, Hash64(recipient), ProofDigest(proofs.digest_, recipient, bytes, v),
                  &found_self, &spelled_lowered)) {
    GuardedMessage m(std::move(bytes), std::move(envelope_from), std::string(recipient),
                     std::move(message_id));
    if (found_self) {
      // The spelling Check recorded for the recipient (Scanner: self[0]).
      m.found_.push_back(spelled_lowered ? LowerAscii(recipient)
                                         : SelfSpellings(ParseAddress(recipient), recipient)[0]);
    }
    m.proof_reused_ = true;
    return m;
  }
  return Check(std::move(bytes), std::move(envelope_from), envelope_recipients, recipient,
               std::move(message_id), violations);
}

}  // namespace sealmail
