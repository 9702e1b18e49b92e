#include "guard/guard.h"

#include <algorithm>

#include "address/address.h"
#include "mime/mime_decode.h"

namespace sealmail {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool StartsWithCI(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && Lower(s.substr(0, prefix.size())) == prefix;
}

// The addresses in a header that must hold one mailbox: parsed strictly; a
// value that is not exactly one mailbox is itself a violation.
Result<std::string> OneMailboxKey(std::string_view value) {
  auto mb = ParseMailbox(value);
  if (!mb.ok()) return mb.status();
  return mb->address.Key();
}

}  // namespace

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

Guard::Guard(std::vector<std::string> sender_addresses) {
  for (const auto& a : sender_addresses) {
    auto parsed = ParseAddress(a);
    sender_keys_.insert(parsed.ok() ? parsed->Key() : Lower(a));
  }
}

Result<GuardedMessage> Guard::Check(std::string bytes, std::string envelope_from,
                                    const std::vector<std::string>& envelope_recipients,
                                    std::string_view recipient, std::string message_id,
                                    std::vector<GuardViolation>* violations) const {
  std::vector<GuardViolation> found;
  auto add = [&](std::string where, std::string what) {
    found.push_back({std::string(recipient), std::move(where), std::move(what)});
  };
  auto want = ParseAddress(recipient);
  std::string want_key = want.ok() ? want->Key() : Lower(recipient);

  if (envelope_recipients.size() != 1) {
    add("envelope", std::to_string(envelope_recipients.size()) + " recipients, expected exactly 1");
  } else {
    auto got = ParseAddress(envelope_recipients[0]);
    if (!got.ok() || got->Key() != want_key) {
      add("envelope", "recipient " + MaskAddress(envelope_recipients[0]) +
                          " is not this message's recipient");
    }
  }

  // Only the top-level header block matters here; the body scan is issue #5.
  size_t end = bytes.find("\r\n\r\n");
  std::string_view head(bytes.data(), end == std::string::npos ? bytes.size() : end + 2);
  DecodedMessage parsed = DecodeMessage(head);
  int to_count = 0;
  for (const HeaderField& h : parsed.root.headers) {
    std::string name = Lower(h.name);
    if (name == "to") {
      ++to_count;
      auto key = OneMailboxKey(h.value);
      if (!key.ok()) {
        add("header To", "not exactly one address: " + key.status().message());
      } else if (*key != want_key) {
        add("header To", "names " + MaskAddress(*key) + ", not this message's recipient");
      }
    } else if (name == "cc" || name == "bcc" || StartsWithCI(name, "resent-")) {
      add("header " + h.name, "must not be present");
    } else if (name == "from" || name == "sender" || name == "reply-to" ||
               name == "return-path") {
      std::string v = h.value;
      if (name == "return-path" && v == "<>") continue;
      auto key = OneMailboxKey(v);
      if (!key.ok()) {
        add("header " + h.name, "not exactly one address: " + key.status().message());
      } else if (!sender_keys_.count(*key)) {
        add("header " + h.name, MaskAddress(*key) + " is not one of the campaign's own addresses");
      }
    }
  }
  if (to_count != 1) add("header To", std::to_string(to_count) + " To headers, expected exactly 1");

  if (!found.empty()) {
    std::string msg = "leak guard blocked the message to " + MaskAddress(recipient);
    for (const auto& v : found) msg += "\n  " + v.where + ": " + v.what;
    if (violations != nullptr) *violations = std::move(found);
    return Status::Blocked(msg);
  }
  return GuardedMessage(std::move(bytes), std::move(envelope_from), std::string(recipient),
                        std::move(message_id));
}

}  // namespace sealmail
