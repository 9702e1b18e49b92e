#include "guard/audience_set.h"

#include "base/hash.h"

namespace sealmail {

AudienceSet::AudienceSet() : slots_(1024, 0) {}

uint64_t AudienceSet::HashOf(std::string_view lowered) {
  uint64_t h = Hash64(lowered);
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

std::vector<std::string> AudienceSet::Spellings(const Address& a) {
  std::string local = a.local;
  for (char& c : local) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::vector<std::string> out = {local + "@" + a.domain};
  if (!a.domain_unicode.empty() && a.domain_unicode != a.domain) {
    out.push_back(local + "@" + a.domain_unicode);
  }
  return out;
}

void AudienceSet::Add(const Address& a) {
  for (const auto& s : Spellings(a)) AddSpelling(s);
}

void AudienceSet::AddSpelling(std::string_view lowered) { InsertHash(HashOf(lowered)); }

void AudienceSet::InsertHash(uint64_t h) {
  if ((count_ + 1) * 2 > slots_.size()) Grow();
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return;
    if (slots_[i] == 0) {
      slots_[i] = h;
      ++count_;
      return;
    }
  }
}

void AudienceSet::Grow() {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, 0);
  count_ = 0;
  for (uint64_t h : old) {
    if (h != 0) InsertHash(h);
  }
}

bool AudienceSet::ContainsHash(uint64_t h) const {
  size_t mask = slots_.size() - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    if (slots_[i] == h) return true;
    if (slots_[i] == 0) return false;
  }
}

bool AudienceSet::Contains(std::string_view lowered) const {
  return ContainsHash(HashOf(lowered));
}

}  // namespace sealmail
