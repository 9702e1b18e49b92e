// libFuzzer target for GuardProofs, differential: a first composition A is
// checked (remembering its proof), then a second composition B made of new
// leading fields and a new Date value in front of A's remaining bytes. The
// proof may be reused or not, but CheckReusing(B) must always agree with the
// full Check(B): the same verdict, and on a pass the same found list.
//
// Input: A_REST \0 PREFIX \0 DATE. A = "Date:" A_REST; B = ("DKIM-Signature:"
// PREFIX when PREFIX is not empty) "Date:" DATE, then A_REST from its first
// CRLF on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "guard/guard_fuzz_guard.h"

namespace {

// The next \0-separated part of *in.
std::string_view Next(std::string_view* in) {
  size_t z = in->find('\0');
  std::string_view part = in->substr(0, z);
  *in = z == std::string_view::npos ? std::string_view() : in->substr(z + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view a_rest = Next(&in), prefix = Next(&in), date = Next(&in);
  size_t crlf = a_rest.find("\r\n");
  if (crlf == std::string_view::npos) return 0;
  const std::string a = "Date:" + std::string(a_rest);
  std::string b;
  if (!prefix.empty()) b += "DKIM-Signature:" + std::string(prefix);
  b += "Date:";
  b += date;
  b += a_rest.substr(crlf);

  const sealmail::Guard& g = sealmail::FuzzGuard();
  sealmail::GuardProofs proofs;
  (void)g.Check(a, "support@example.com", {"jo@example.net"}, "jo@example.net", "<m@x>", nullptr,
                &proofs);
  proofs.Seal();
  auto reused = g.CheckReusing(proofs, b, "support@example.com", {"jo@example.net"},
                               "jo@example.net", "<m@x>", nullptr);
  auto full =
      g.Check(b, "support@example.com", {"jo@example.net"}, "jo@example.net", "<m@x>", nullptr);
  if (reused.ok() != full.ok()) std::abort();  // the proof changed the verdict
  if (reused.ok() && reused->found() != full->found()) std::abort();
  return 0;
}
