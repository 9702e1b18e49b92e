// libFuzzer target for the leak guard: any bytes, as a finished message to
// jo@example.net with a small audience. Must terminate, and whenever the
// guard passes a message, none of the other members may appear literally.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "address/address.h"
#include "guard/guard.h"

namespace {
const sealmail::Guard& TheGuard() {
  static const sealmail::Guard* g = [] {
    auto set = std::make_shared<sealmail::AudienceSet>();
    for (const char* a : {"jo@example.net", "al@example.net", "kunde@bücher.example"}) {
      set->Add(*sealmail::ParseAddress(a));
    }
    return new sealmail::Guard({"support@example.com"}, set);
  }();
  return *g;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string msg(reinterpret_cast<const char*>(data), size);
  auto got = TheGuard().Check(msg, "support@example.com", {"jo@example.net"}, "jo@example.net",
                              "<m@x>", nullptr);
  if (got.ok() && (msg.find("al@example.net") != std::string::npos ||
                   msg.find("kunde@xn--bcher-kva.example") != std::string::npos)) {
    std::abort();  // a literal other member got through
  }
  return 0;
}
