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
    // As for the guard: a refused row's address-like tokens still count, a
    // customer whose row was malformed is still a customer.
    SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(opts.audience_csv));
    auto set = std::make_shared<AudienceSet>();
    reader->set_error_sink([&](const AudienceError& e) {
      ++rep.audience_rows_refused;
      FindAddressTokens(e.email_cell, [&set](const AddressToken& t) {
        AddressCandidates(t, [&set](std::string_view spelling) { set->AddSpelling(spelling); });
      });
    });
    Recipient r;
    for (;;) {
      SM_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
      if (!more) break;
      auto a = ParseAddress(r.email);
      if (a.ok()) set->Add(*a);
    }
    rep.audience = std::move(set);
  }
  rep.analyser = std::make_unique<ScopeAnalyser>(rep.audience.get());
  SM_RETURN_IF_ERROR(ReadArchive(opts.path, rep.kind, rep.analyser.get()));
  return rep;
}

}  // namespace sealmail
