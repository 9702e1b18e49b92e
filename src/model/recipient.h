// Value types shared by every component (DESIGN.md: model).
//
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sealmail {

// One audience member after validation. `email` is the normalised address
// (local part exact, domain lower-case A-label); `key` is the identity used
// for de-duplication and for the state (see address/address.h Address::Key).
struct Recipient {
  std::string email;
  std::string key;
  uint64_t line = 0;  // 1-based line of the CSV row where the record starts
  // Merge fields in CSV column order, excluding the email column. Names are
  // the CSV header names as written.
  std::vector<std::pair<std::string, std::string>> fields;

  const std::string* Field(std::string_view name) const {
    for (const auto& f : fields) {
      if (f.first == name) return &f.second;
    }
    return nullptr;
  }
};

// Per-recipient delivery state. Persisted as these integers: never renumber,
// only append (STYLE.md §11).
enum class DeliveryState : int {
  kPending = 0,
  kLeased = 1,
  kSent = 2,
  kDeferred = 3,
  kFailed = 4,
  kSuppressed = 5,
  kBlocked = 6,
  kUncertain = 7,
};

std::string_view DeliveryStateName(DeliveryState s);

}  // namespace sealmail
