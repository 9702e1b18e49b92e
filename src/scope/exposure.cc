#include "scope/exposure.h"

#include <algorithm>

namespace sealmail {

void ExposureGraph::AddMessage(const std::string& message_id, int64_t at,
                               const std::vector<std::string>& receivers,
                               const std::vector<std::string>& visible) {
  ++summary_.messages;
  if (at != 0) {
    if (summary_.first_at == 0 || at < summary_.first_at) summary_.first_at = at;
    summary_.last_at = std::max(summary_.last_at, at);
  }
  for (const auto& r : receivers) {
    if (receivers_.insert(r).second) ++summary_.recipients;
  }
  uint64_t foreign = 0;
  for (const auto& v : visible) {
    bool someone_else = false;
    for (const auto& r : receivers) {
      if (r != v) {
        someone_else = true;
        viewers_[v].insert(r);
      }
    }
    if (someone_else) {
      ++foreign;
      messages_[v].insert(message_id);
    }
  }
  if (foreign > 0) ++summary_.exposing_messages;
  if (foreign > summary_.largest_exposure) {
    summary_.largest_exposure = foreign;
    summary_.largest_message_id = message_id;
  }
}

}  // namespace sealmail
