// Archive readers for `sealmail scope`: stream every stored message of an
// mbox file, a Maildir, a directory tree of .eml files or a single .eml file
// into a ScopeAnalyser, one message at a time. Never loads a whole archive:
// memory is bounded by the largest message (an mbox is read in 1 MiB
// chunks) plus what the analyser keeps.
//
// mbox: mboxo and mboxrd. A message starts at a line beginning "From " (as
// Python's mailbox module and mutt split); that From_ line is not part of
// the message. Lines ">From ", ">>From "... lose one '>' (mboxrd; for mboxo
// this is what the writer meant). CRLF or LF.
//
// Problems with one message or one file (unreadable, truncated, larger than
// kMaxMessageBytes, not mail) are reported to the analyser (AddBad, with the
// file and byte offset) and reading goes on; only a PATH that cannot be read
// at all, or holds no mail, is an error.
//
// Not thread-safe: one reader per analyser.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "scope/scope_message.h"

namespace sealmail {

constexpr size_t kMaxMessageBytes = size_t{256} << 20;

// Splits an mbox stream fed in arbitrary pieces into messages.
class MboxSplitter {
 public:
  // message: the message's bytes (From_ line removed, mboxrd unquoted);
  // offset: the byte offset of its From_ line in the stream (or of the
  // message when the stream does not start with one); problem: empty, or why
  // the message is suspect ("truncated: ...": bytes still given) or was
  // dropped ("larger than ...": bytes empty).
  using MessageFn =
      std::function<void(std::string_view message, uint64_t offset, std::string_view problem)>;

  explicit MboxSplitter(MessageFn fn, size_t max_message = kMaxMessageBytes)
      : fn_(std::move(fn)), max_message_(max_message) {}

  void Feed(std::string_view data);
  // End of the stream: delivers the last message.
  void Finish();

 private:
  void Emit(size_t end, bool at_eof);
  void Process();

  MessageFn fn_;
  size_t max_message_;
  std::string buf_;
  uint64_t buf_offset_ = 0;   // stream offset of buf_[0]
  size_t msg_start_ = 0;      // in buf_: start of the current message (its From_ line)
  size_t scan_ = 0;           // in buf_: where to look for the next "\nFrom "
  bool skipping_ = false;     // current message is over the limit: drop it
  std::string scratch_;
};

enum class ArchiveKind { kCampaign, kMbox, kMaildir, kEmlTree, kEmlFile };
const char* ArchiveKindName(ArchiveKind k);

// What PATH holds: a campaign directory (campaign.toml), a Maildir (cur/ or
// new/), another directory (a tree of .eml files), a file starting with a
// From_ line (mbox) or with a header field (one .eml). Errors name the path
// and say what was expected.
Result<ArchiveKind> DetectArchive(const std::string& path);

// Reads one mbox file in 1 MiB chunks.
Status ReadMbox(const std::string& path, ScopeAnalyser* analyser);

// Reads every message of the archive at path (any kind but kCampaign).
Status ReadArchive(const std::string& path, ArchiveKind kind, ScopeAnalyser* analyser);

}  // namespace sealmail
