// VisitVisibleAddresses: the one walk over "every address a reader of this
// message could see", shared by the leak guard (which looks each token up in
// the audience) and `scope` (which records who saw what).
//
// Views visited, in order: every header field of every part (RFC 2047
// decoded when it holds encoded-words), every decoded leaf part (transfer
// decoding done by DecodeMessage; converted to UTF-8 from its charset), each
// of those again after HTML character references and %XX escapes are decoded
// (only when such a reference is present), and finally the raw bytes (when
// given). For a token whose domain is not ASCII the callback is called twice:
// once as found, once with the domain's A-label spelling.
//
// Tokens are as FindAddressTokens reports them (generous: callers decide,
// e.g. with AddressCandidates, which spellings count). `where` names the view
// ("header Cc", "part 2 (text/html), body (HTML entities decoded)").
//
// Pure function of its inputs; thread-safe. Work is linear in the size of the
// decoded message.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "address/address_find.h"
#include "mime/mime_decode.h"

namespace sealmail {

using VisibleAddressFn = std::function<void(const AddressToken& token, const std::string& where)>;

// raw: the message's bytes as sent, scanned last as "message bytes"; pass an
// empty view to skip that view.
void VisitVisibleAddresses(const MimePart& root, std::string_view raw, const VisibleAddressFn& fn);

// Scans one text and the decodings an address could hide behind (HTML
// entities, %XX), as VisitVisibleAddresses does for each view.
void VisitAddressesInText(std::string_view text, const std::string& where,
                          const VisibleAddressFn& fn);

// "local@domain" with the domain as an A-label when it is not ASCII (the
// spelling unchanged when the domain cannot be converted).
std::string CanonicalDomainSpelling(std::string_view spelling);

}  // namespace sealmail
