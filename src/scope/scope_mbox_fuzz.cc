// libFuzzer: the mbox splitter, fed in pieces whose sizes come from the
// input. Checks that the split does not depend on how the stream is cut,
// that offsets stay inside the stream, and (through the analyser) that no
// message crashes the decoder or the address-list parser.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "scope/scope_reader.h"

namespace {

struct Got {
  std::string m;
  uint64_t off;
  std::string p;
  bool operator==(const Got&) const = default;
};

std::vector<Got> Split(std::string_view in, size_t piece) {
  std::vector<Got> out;
  sealmail::MboxSplitter s(
      [&](std::string_view m, uint64_t off, std::string_view p) {
        out.push_back({std::string(m), off, std::string(p)});
      },
      4096);
  for (size_t i = 0; i < in.size(); i += piece) s.Feed(in.substr(i, piece));
  s.Finish();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto whole = Split(in, in.size() + 1);
  auto pieces = Split(in, piece);
  if (!(whole == pieces)) std::abort();
  for (const auto& g : whole) {
    if (g.off > in.size() || g.m.size() > in.size()) std::abort();
  }
  sealmail::ScopeAnalyser a(nullptr);
  for (const auto& g : whole) a.AddMessage(g.m, "fuzz", g.off);
  return 0;
}
