// libFuzzer target for the address finder and the decoders the leak guard
// runs before it: terminates, stays in bounds, tokens are well-formed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "address/address_find.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto check = [&](std::string_view in) {
    sealmail::FindAddressTokens(in, [&](const sealmail::AddressToken& t) {
      if (t.local.empty() || t.domain.empty() || t.local.size() > 64 || t.domain.size() > 255) {
        std::abort();
      }
      if (in[t.offset] != '@') std::abort();
      size_t n = 0;
      sealmail::AddressCandidates(t, [&](std::string_view c) {
        if (c.find('@') == std::string_view::npos) std::abort();
        ++n;
      });
      if (n == 0 || n > 16 * 16) std::abort();
    });
  };
  check(text);
  std::string e = sealmail::DecodeHtmlEntities(text);
  if (e.size() > text.size() * 4 + 4) std::abort();
  check(e);
  std::string p = sealmail::DecodePercent(text);
  if (p.size() > text.size()) std::abort();
  check(p);
  return 0;
}
