// libFuzzer target for the leak guard: any bytes, as a finished message to
// jo@example.net with a small audience. Must terminate, and whenever the
// guard passes a message, none of the other members may appear literally.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "guard/guard_fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string msg(reinterpret_cast<const char*>(data), size);
  auto got = sealmail::FuzzGuard().Check(msg, "support@example.com", {"jo@example.net"},
                                         "jo@example.net", "<m@x>", nullptr);
  if (got.ok() && (msg.find("al@example.net") != std::string::npos ||
                   msg.find("kunde@xn--bcher-kva.example") != std::string::npos)) {
    std::abort();  // a literal other member got through
  }
  return 0;
}
