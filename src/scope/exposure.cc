#include "scope/exposure.h"

#include <algorithm>
#include <cstdint>
#include <string_view>

namespace sealmail {

uint32_t ExposureGraph::Intern(const std::string& address) {
  uint64_t h = std::hash<std::string_view>{}(address);
  auto tag = static_cast<uint32_t>(h >> 32);
  size_t mask = id_slots_.size() - 1;
  size_t i = h & mask;
  for (; id_slots_[i].id1 != 0; i = (i + 1) & mask) {
    const IdSlot& s = id_slots_[i];
    if (s.tag == tag && names_[s.id1 - 1] == address) return s.id1 - 1;
  }
  auto id = static_cast<uint32_t>(names_.size());
  names_.push_back(address);
  nodes_.emplace_back();
  id_slots_[i] = {tag, id + 1};
  if (names_.size() * 2 > id_slots_.size()) {
    // Grow: re-place every id by its name's hash.
    std::vector<IdSlot> bigger(id_slots_.size() * 2);
    size_t m = bigger.size() - 1;
    for (const IdSlot& s : id_slots_) {
      if (s.id1 == 0) continue;
      size_t j = std::hash<std::string_view>{}(names_[s.id1 - 1]) & m;
      while (bigger[j].id1 != 0) j = (j + 1) & m;
      bigger[j] = s;
    }
    id_slots_.swap(bigger);
  }
  return id;
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
  // Sorted by name. The first 16 bytes, big-endian, decide nearly every
  // comparison without touching the strings (scattered over the heap: a
  // string compare per comparison was most of this function on a 1 GB
  // archive); equal prefixes fall back to the full comparison.
  struct Keyed {
    uint64_t k0, k1;
    uint32_t id;
  };
  auto prefix = [](std::string_view s, size_t from) {
    uint64_t k = 0;
    for (size_t i = from; i < from + 8; ++i)
      k = k << 8 | (i < s.size() ? static_cast<unsigned char>(s[i]) : 0u);
    return k;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(exposed_order_.size());
  for (uint32_t id : exposed_order_) {
    const std::string& name = names_[id];
    keyed.push_back({prefix(name, 0), prefix(name, 8), id});
  }
  std::sort(keyed.begin(), keyed.end(), [&](const Keyed& a, const Keyed& b) {
    if (a.k0 != b.k0) return a.k0 < b.k0;
    if (a.k1 != b.k1) return a.k1 < b.k1;
    return names_[a.id] < names_[b.id];
  });
  std::vector<uint32_t> order;
  order.reserve(keyed.size());
  for (const Keyed& k : keyed) order.push_back(k.id);
  // stamp[id] == current+1 when id was already counted for this address.
  std::vector<uint32_t> stamp(names_.size(), 0);
  std::map<std::vector<uint32_t>, uint64_t> union_sizes;  // group list -> distinct receivers
  std::vector<uint32_t> union_stamp(names_.size(), 0);
  uint32_t epoch = 0;
  for (uint32_t id : order) {
    const Node& n = nodes_[id];
    ExposedAddress e;
    e.address = names_[id];
    stamp[id] = id + 1;  // never a viewer of itself
    if (n.groups.size() == 1 && !with_viewers) {
      // The common case (one batch): no union to build.
      const auto& only = groups_[n.groups[0]];
      e.seen_by = only.size() - (std::binary_search(only.begin(), only.end(), id) ? 1 : 0);
    } else if (!with_viewers) {
      // Everyone in the overlap of the same batches has the same group list:
      // count each list's union once (recounting it per address made this
      // loop quadratic in the batch size), then leave the address itself out.
      auto [it, fresh] = union_sizes.try_emplace(n.groups, 0);
      if (fresh) {
        ++epoch;
        for (uint32_t g : n.groups) {
          for (uint32_t r : groups_[g]) {
            if (union_stamp[r] == epoch) continue;
            union_stamp[r] = epoch;
            ++it->second;
          }
        }
      }
      bool self = false;
      for (uint32_t g : n.groups) {
        const auto& members = groups_[g];
        if (std::binary_search(members.begin(), members.end(), id)) {
          self = true;
          break;
        }
      }
      e.seen_by = it->second - (self ? 1 : 0);
    } else {
      for (uint32_t g : n.groups) {
        for (uint32_t r : groups_[g]) {
          if (stamp[r] == id + 1) continue;
          stamp[r] = id + 1;
          ++e.seen_by;
          if (with_viewers) e.viewers.push_back(names_[r]);
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
