// Engine::ScopeArchive: `sealmail scope` over mail archives (issue #8).
#include "address/address.h"
#include "address/address_find.h"
#include "engine/engine.h"
#include "guard/audience_set.h"

namespace sealmail {

Result<ScopeArchiveReport> Engine::ScopeArchive(const ScopeArchiveOptions& opts) {
  ScopeArchiveReport rep;
  SM_ASSIGN_OR_RETURN(rep.kind, DetectArchive(opts.path));
  if (!opts.audience_csv.empty()) {
    SM_ASSIGN_OR_RETURN(rep.audience,
                        LoadAudienceSetFromCsv(opts.audience_csv, &rep.audience_rows_refused));
  }
  rep.analyser = std::make_unique<ScopeAnalyser>(rep.audience.get());
  SM_RETURN_IF_ERROR(ReadArchive(opts.path, rep.kind, rep.analyser.get()));
  return rep;
}

}  // namespace sealmail
