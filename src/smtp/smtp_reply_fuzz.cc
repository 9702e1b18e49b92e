// libFuzzer target: the SMTP reply parser must never crash, never consume
// more than it was given, and take every reply in a buffer one at a time.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "smtp/smtp_reply.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int i = 0; i < 1000 && !in.empty(); ++i) {
    sealmail::SmtpReply r;
    size_t used = 0;
    auto p = sealmail::ParseSmtpReply(in, &r, &used);
    if (p != sealmail::SmtpParse::kDone) break;
    if (used == 0 || used > in.size() || r.code < 200 || r.code > 599) std::abort();
    in.remove_prefix(used);
  }
  (void)sealmail::DotStuff(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
