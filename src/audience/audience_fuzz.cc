// libFuzzer target for AudienceReader: the input becomes an audience file,
// which is read to the end (or to its fatal error) while checking what the
// reader promises: the summary adds up, every accepted email parses again to
// itself, no key is accepted twice, lines only grow, every recipient has one
// value per merge-field column, and every refusal names a line.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_set>

#include "address/address.h"
#include "audience/audience_reader.h"

namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "audience_fuzz: invariant broken: %s\n", what);
    std::abort();
  }
}

const std::string& TempPath() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/sm_audience_fuzz_" + std::to_string(::getpid()) +
           ".csv";
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sealmail::AudienceError;
  using sealmail::AudienceReader;
  const std::string& path = TempPath();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return 0;
  bool written = std::fwrite(data, 1, size, f) == size;
  if (std::fclose(f) != 0 || !written) return 0;

  auto reader = AudienceReader::Open(path);
  if (!reader.ok()) {
    Check(reader.status().message().starts_with(path + ":"), "Open error names the file");
    return 0;
  }
  AudienceReader& r = **reader;
  uint64_t sunk = 0;
  r.set_error_sink([&](const AudienceError& e) {
    ++sunk;
    Check(e.line >= 2, "a refused row is below the header");
    Check(!e.ToString("f").empty(), "error text");
    if (e.kind == AudienceError::Kind::kDuplicate) {
      Check(e.duplicate_of >= 2 && e.duplicate_of < e.line, "duplicate_of is an earlier line");
    }
  });

  std::unordered_set<std::string> keys;
  sealmail::Recipient rec;
  uint64_t accepted = 0, last_line = 0;
  bool fatal = false;
  for (;;) {
    sealmail::Result<bool> more = r.Next(&rec);
    if (!more.ok()) {
      fatal = true;
      Check(more.status().message().starts_with(path + ":"), "Next error names the file");
      break;
    }
    if (!*more) break;
    ++accepted;
    Check(rec.line > last_line, "lines grow");
    last_line = rec.line;
    Check(rec.fields.size() == r.field_names().size(), "one value per merge field");
    for (size_t i = 0; i < rec.fields.size(); ++i) {
      Check(rec.fields[i].first == r.field_names()[i], "fields in column order");
    }
    auto again = sealmail::ParseAddress(rec.email);
    Check(again.ok(), "accepted email parses");
    Check(again->ToString() == rec.email, "email is normalised");
    Check(again->Key() == rec.key, "key matches email");
    Check(keys.insert(rec.key).second, "no duplicate keys");
  }
  const sealmail::AudienceSummary& s = r.summary();
  Check(s.rows == s.accepted + s.invalid + s.duplicates, "summary adds up");
  Check(s.accepted == accepted, "accepted count");
  Check(sunk == s.invalid + s.duplicates, "sink sees every refusal");
  Check(r.errors().size() == std::min<uint64_t>(sunk, AudienceReader::kMaxKeptErrors),
        "kept errors");
  // After the end (or a fatal error) the reader stays where it is.
  sealmail::Result<bool> after = r.Next(&rec);
  Check(fatal ? !after.ok() : (after.ok() && !*after), "end is sticky");
  return 0;
}
