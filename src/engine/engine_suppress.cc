// `sealmail suppress add|import|list|remove`: the suppression list kept in
// a state file, shared by every campaign that uses that state.
#include <filesystem>

#include "address/address.h"
#include "audience/audience_reader.h"
#include "engine/engine.h"

namespace sealmail {
namespace {

constexpr size_t kMaxImportErrors = 1000;
constexpr size_t kImportBatch = 5000;

Result<std::vector<Suppression>> ParseAll(const std::vector<std::string>& addresses,
                                          const std::string& reason, const std::string& source,
                                          int64_t now) {
  std::vector<Suppression> out;
  std::vector<std::string> bad;
  for (const auto& a : addresses) {
    auto parsed = ParseAddress(a);
    if (!parsed.ok()) {
      bad.push_back("\"" + a + "\": " + parsed.status().message());
      continue;
    }
    out.push_back({parsed->Key(), parsed->ToString(), reason, source, now});
  }
  if (!bad.empty()) {
    std::string msg = "not an address, nothing was changed:";
    for (const auto& b : bad) msg += "\n  " + b;
    return Status::Invalid(msg);
  }
  return out;
}

std::string BaseName(const std::string& p) {
  return std::filesystem::path(p).filename().string();
}

}  // namespace

Result<SuppressReport> Engine::SuppressAdd(const std::string& state_path,
                                           const std::vector<std::string>& addresses,
                                           const std::string& reason) {
  SuppressReport rep;
  rep.state_path = state_path;
  SM_ASSIGN_OR_RETURN(auto list, ParseAll(addresses, reason, "suppress add", clock_.NowUnix()));
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(state_path, &clock_));
  SM_ASSIGN_OR_RETURN(rep.added, store->AddSuppressions(list));
  rep.existing = list.size() - rep.added;
  return rep;
}

Result<SuppressReport> Engine::SuppressImport(const std::string& state_path,
                                              const std::string& csv,
                                              const std::string& reason) {
  SuppressReport rep;
  rep.state_path = state_path;
  // The same reader as an audience: one address per row, line numbers,
  // every refusal named. A `reason` column, when present, is kept per row.
  SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(csv));
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(state_path, &clock_));
  const std::string source = "suppress import " + BaseName(csv);
  const int64_t now = clock_.NowUnix();
  std::vector<Suppression> batch;
  auto flush = [&]() -> Status {
    SM_ASSIGN_OR_RETURN(uint64_t n, store->AddSuppressions(batch));
    rep.added += n;
    rep.existing += batch.size() - n;
    batch.clear();
    return Status::Ok();
  };
  Recipient r;
  for (;;) {
    SM_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    const std::string* row_reason = r.Field("reason");
    std::string why = row_reason != nullptr && !row_reason->empty() ? *row_reason : reason;
    batch.push_back({r.key, r.email, why, source, now});
    if (batch.size() >= kImportBatch) SM_RETURN_IF_ERROR(flush());
  }
  SM_RETURN_IF_ERROR(flush());
  const AudienceSummary& sum = reader->summary();
  rep.rows = sum.rows;
  rep.refused = sum.invalid;
  rep.duplicates = sum.duplicates;
  const std::string name = BaseName(csv);
  for (const auto& e : reader->errors()) {
    if (e.kind == AudienceError::Kind::kDuplicate) continue;
    if (rep.errors.size() >= kMaxImportErrors) break;
    rep.errors.push_back(e.ToString(name));
  }
  return rep;
}

Result<SuppressReport> Engine::SuppressRemove(const std::string& state_path,
                                              const std::vector<std::string>& addresses) {
  SuppressReport rep;
  rep.state_path = state_path;
  SM_ASSIGN_OR_RETURN(auto list, ParseAll(addresses, "", "", 0));
  if (!std::filesystem::exists(state_path)) {
    return Status::NotFound(state_path + ": no state here, so no suppression list");
  }
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(state_path, &clock_));
  for (const auto& s : list) {
    SM_ASSIGN_OR_RETURN(uint64_t n, store->RemoveSuppressions({s.key}));
    if (n == 0) rep.not_listed.push_back(s.email);
    rep.removed += n;
  }
  return rep;
}

Status Engine::SuppressList(const std::string& state_path,
                            const std::function<bool(const Suppression&)>& fn) {
  if (!std::filesystem::exists(state_path)) return Status::Ok();  // nothing suppressed yet
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(state_path, &clock_));
  return store->ListSuppressions(fn);
}

}  // namespace sealmail
