// The guard both guard fuzz targets use: messages to jo@example.net, an
// audience of three (one with an IDN domain), support@example.com as the
// sender. Built once, shared read-only; for *_fuzz.cc files only.
#pragma once

#include <memory>

#include "address/address.h"
#include "guard/guard.h"

namespace sealmail {

inline const Guard& FuzzGuard() {
  static const Guard* g = [] {
    auto set = std::make_shared<AudienceSet>();
    for (const char* a : {"jo@example.net", "al@example.net", "kunde@bücher.example"}) {
      set->Add(*ParseAddress(a));
    }
    return new Guard({"support@example.com"}, set);
  }();
  return *g;
}

}  // namespace sealmail
