#include "scope/exposure.h"

#include <algorithm>

namespace sealmail {

uint32_t ExposureGraph::Intern(const std::string& address) {
  auto [it, inserted] = ids_.try_emplace(address, static_cast<uint32_t>(names_.size()));
  if (inserted) {
    names_.push_back(&it->first);
    nodes_.emplace_back();
  }
  return it->second;
}

uint32_t ExposureGraph::GroupOf(std::vector<uint32_t>* sorted) {
  uint64_t h = 1469598103934665603ull;
  for (uint32_t id : *sorted) h = (h ^ id) * 1099511628211ull;
  auto range = group_index_.equal_range(h);
  for (auto it = range.first; it != range.second; ++it) {
    if (groups_[it->second] == *sorted) return it->second;
  }
  uint32_t g = static_cast<uint32_t>(groups_.size());
  groups_.push_back(std::move(*sorted));
  group_index_.emplace(h, g);
  return g;
}

void ExposureGraph::AddMessage(const std::string& message_id, int64_t at,
                               const std::vector<std::string>& receivers,
                               const std::vector<std::string>& visible) {
  ++summary_.messages;
  if (at != 0) {
    if (summary_.first_at == 0 || at < summary_.first_at) summary_.first_at = at;
    summary_.last_at = std::max(summary_.last_at, at);
  }
  if (receivers.empty()) ++summary_.no_receivers;
  std::vector<uint32_t> rids;
  rids.reserve(receivers.size());
  for (const auto& r : receivers) {
    uint32_t id = Intern(r);
    if (!nodes_[id].receiver) {
      nodes_[id].receiver = true;
      ++summary_.recipients;
    }
    rids.push_back(id);
  }
  std::sort(rids.begin(), rids.end());
  rids.erase(std::unique(rids.begin(), rids.end()), rids.end());
  if (rids.empty()) return;

  // Visible addresses seen by someone other than themselves.
  std::vector<uint32_t> foreign;
  for (const auto& v : visible) {
    uint32_t id = Intern(v);
    if (rids.size() == 1 && rids[0] == id) continue;  // only its own receiver saw it
    foreign.push_back(id);
  }
  std::sort(foreign.begin(), foreign.end());
  foreign.erase(std::unique(foreign.begin(), foreign.end()), foreign.end());
  if (foreign.empty()) return;

  uint32_t g = GroupOf(&rids);
  uint32_t m = static_cast<uint32_t>(message_ids_.size());
  message_ids_.push_back(message_id);
  for (uint32_t id : foreign) {
    Node& n = nodes_[id];
    if (n.messages.empty()) exposed_order_.push_back(id);
    if (n.groups.empty() || n.groups.back() != g) n.groups.push_back(g);
    n.messages.push_back(m);
  }
  ++summary_.exposing_messages;
  if (foreign.size() > summary_.largest_exposure) {
    summary_.largest_exposure = foreign.size();
    summary_.largest_message_id = message_id;
  }
}

void ExposureGraph::ForEachExposed(bool with_viewers,
                                   const std::function<void(const ExposedAddress&)>& fn) const {
  std::vector<uint32_t> order = exposed_order_;
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return *names_[a] < *names_[b]; });
  // stamp[id] == current+1 when id was already counted for this address.
  std::vector<uint32_t> stamp(names_.size(), 0);
  for (uint32_t id : order) {
    const Node& n = nodes_[id];
    ExposedAddress e;
    e.address = *names_[id];
    stamp[id] = id + 1;  // never a viewer of itself
    if (n.groups.size() == 1 && !with_viewers) {
      // The common case (one batch): no union to build.
      const auto& only = groups_[n.groups[0]];
      e.seen_by = only.size() - (std::binary_search(only.begin(), only.end(), id) ? 1 : 0);
    } else {
      for (uint32_t g : n.groups) {
        for (uint32_t r : groups_[g]) {
          if (stamp[r] == id + 1) continue;
          stamp[r] = id + 1;
          ++e.seen_by;
          if (with_viewers) e.viewers.push_back(*names_[r]);
        }
      }
    }
    std::sort(e.viewers.begin(), e.viewers.end());
    for (uint32_t m : n.messages) {
      if (e.message_ids.empty() || e.message_ids.back() != message_ids_[m])
        e.message_ids.push_back(message_ids_[m]);
    }
    fn(e);
  }
}

std::map<std::string, std::set<std::string>> ExposureGraph::viewers() const {
  std::map<std::string, std::set<std::string>> out;
  ForEachExposed(true, [&](const ExposedAddress& e) {
    out[std::string(e.address)] = {e.viewers.begin(), e.viewers.end()};
  });
  return out;
}

std::map<std::string, std::set<std::string>> ExposureGraph::messages() const {
  std::map<std::string, std::set<std::string>> out;
  ForEachExposed(false, [&](const ExposedAddress& e) {
    out[std::string(e.address)] = {e.message_ids.begin(), e.message_ids.end()};
  });
  return out;
}

}  // namespace sealmail
