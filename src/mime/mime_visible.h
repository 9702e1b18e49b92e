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
// e.g. with AddressCandidates, which spellings count). Each distinct token
// (the exact bytes "local@domain") is reported once, in the first view that
// holds it: both callers' results are a function of those bytes alone, and a
// 20 KB announcement repeats its support address a hundred times. `where`
// names that view ("header Cc", "part 2 (text/html), body (HTML entities
// decoded)"); the string is built only when a caller asks for it.
//
// Pure function of its inputs; thread-safe. Work is linear in the size of the
// decoded message.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "address/address_find.h"
#include "mime/mime_decode.h"

namespace sealmail {

// Names the view a token was found in. Valid only during the callback.
class VisibleWhere {
 public:
  // One level of nesting: the index-th child (1-based) of a multipart, or the
  // message inside a message/rfc822.
  struct Frame {
    const Frame* outer = nullptr;
    const MimePart* parent = nullptr;
    const MimePart* part = nullptr;
    int index = 0;
  };
  enum class Kind { kHeader, kBody, kRaw };

  VisibleWhere(Kind kind, const Frame* path, const MimePart* part, std::string_view header,
               std::string_view suffix)
      : kind_(kind), path_(path), part_(part), header_(header), suffix_(suffix) {}

  // e.g. "part 2 (text/html), body (HTML entities decoded)"; "message bytes".
  std::string ToString() const;

 private:
  Kind kind_;
  const Frame* path_;      // innermost enclosing frame, nullptr at the top
  const MimePart* part_;   // kBody: the leaf
  std::string_view header_;  // kHeader: the field name
  std::string_view suffix_;  // "", " (HTML entities decoded)" or " (URL-decoded)"
};

// A non-owning reference to a callable (std::function without its
// allocation and copy); the callable must outlive the call it is passed to.
class VisibleAddressFn {
 public:
  template <typename F,
            typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, VisibleAddressFn>>>
  VisibleAddressFn(F&& f)  // NOLINT(google-explicit-constructor): used like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* obj, const AddressToken& t, const VisibleWhere& w) {
          (*static_cast<std::remove_reference_t<F>*>(obj))(t, w);
        }) {}
  void operator()(const AddressToken& t, const VisibleWhere& w) const { call_(obj_, t, w); }

 private:
  void* obj_;
  void (*call_)(void*, const AddressToken&, const VisibleWhere&);
};

// raw: the message's bytes as sent, scanned last as "message bytes"; pass an
// empty view to skip that view.
void VisitVisibleAddresses(const MimePart& root, std::string_view raw, VisibleAddressFn fn);

// Scans one text and the decodings an address could hide behind (HTML
// entities, %XX), as VisitVisibleAddresses does for each view, reporting
// every token (no de-duplication) with `where` naming the text.
void VisitAddressesInText(std::string_view text, const std::string& where,
                          const std::function<void(const AddressToken&, const std::string&)>& fn);

// "local@domain" with the domain as an A-label when it is not ASCII (the
// spelling unchanged when the domain cannot be converted).
std::string CanonicalDomainSpelling(std::string_view spelling);

}  // namespace sealmail
