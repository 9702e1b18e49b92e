#include "model/recipient.h"

namespace sealmail {

std::string_view DeliveryStateName(DeliveryState s) {
  switch (s) {
    case DeliveryState::kPending: return "pending";
    case DeliveryState::kLeased: return "leased";
    case DeliveryState::kSent: return "sent";
    case DeliveryState::kDeferred: return "deferred";
    case DeliveryState::kFailed: return "failed";
    case DeliveryState::kSuppressed: return "suppressed";
    case DeliveryState::kBlocked: return "blocked";
    case DeliveryState::kUncertain: return "uncertain";
  }
  return "unknown";
}

}  // namespace sealmail
