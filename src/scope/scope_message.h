// ScopeAnalyser: turns stored messages (from any reader in scope_reader.h)
// into ExposureGraph input: who received each message and which addresses
// are visible in it.
//
//  - Receivers: To, Cc, Bcc, Resent-To/-Cc/-Bcc, Delivered-To and
//    X-Original-To of the top-level header, parsed as RFC 5322 address lists
//    (display names, quoted commas, comments, groups); each as its Key()
//    (ASCII letters of the local part lower-cased, A-label domain).
//  - Visible: every address the shared walker (mime/mime_visible.h, the
//    guard's walk) finds in headers and decoded parts. With an audience,
//    every spelling AddressCandidates gives is looked up, as the guard does,
//    and receivers are restricted to audience members too, so staff and the
//    sender do not count. Without one, a token counts when its spelling is a
//    valid address; Message-ID-like header values are not addresses, and the
//    raw bytes view is left out (a quoted-printable soft break in the raw
//    bytes would otherwise invent "a@example.co" from "a@example.co=\nm").
//  - Bad messages (empty, no header fields) are counted and located, never
//    fatal. The first kMaxKeptBad are kept with file, offset and reason.
//
// Memory: one message at a time plus the graph (and a bounded cache of
// parsed spellings). Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "guard/audience_set.h"
#include "scope/exposure.h"

namespace sealmail {

struct BadMessage {
  std::string file;
  uint64_t offset = 0;  // byte offset of the message in the file
  std::string reason;
  std::string ToString() const;  // "file: offset N: reason"
};

class ScopeAnalyser {
 public:
  // audience may be null (no restriction); must outlive the analyser.
  explicit ScopeAnalyser(const AudienceSet* audience) : audience_(audience) {}

  // One message as stored (CRLF or LF). file/offset locate it for reports.
  void AddMessage(std::string_view bytes, const std::string& file, uint64_t offset);
  // A message or file the reader could not use.
  void AddBad(const std::string& file, uint64_t offset, std::string reason);

  static constexpr size_t kMaxKeptBad = 100;
  const std::vector<BadMessage>& bad() const { return bad_; }
  const ExposureGraph& graph() const { return graph_; }
  uint64_t bytes_read() const { return bytes_; }
  void CountBytes(uint64_t n) { bytes_ += n; }

 private:
  // Without an audience: a visible token's spelling -> its Key(), or "" when
  // ParseAddress refuses it. ParseAddress (IDNA included) was the dearest
  // step per token, and the sender's addresses recur in every message;
  // ParseAddress is pure, so this changes no result. Cleared when full, so
  // memory stays bounded whatever the archive holds.
  static constexpr size_t kMaxKeyCache = size_t{1} << 14;
  std::unordered_map<std::string, std::string> key_cache_;

  const AudienceSet* audience_;
  ExposureGraph graph_;
  std::vector<BadMessage> bad_;
  uint64_t bytes_ = 0;
};

// The addresses of an RFC 5322 address-list header value, as Key()s. Elements
// that hold no parseable address are counted in *unparsed (may be null).
std::vector<std::string> ParseAddressList(std::string_view value, int* unparsed);

// RFC 5322 date-time ("Tue, 1 Jul 2003 10:52:37 +0200", obsolete zone names
// and missing seconds accepted) -> Unix time; 0 when unparseable.
int64_t ParseMailDate(std::string_view value);

}  // namespace sealmail
