#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "scope/scope_reader.h"

namespace sealmail {
namespace {

constexpr size_t kChunk = size_t{1} << 20;
constexpr std::string_view kSep = "\nFrom ";

// Drops one '>' from every line that is '>'+ "From " (mboxrd quoting).
std::string_view Unquote(std::string_view msg, std::string* scratch) {
  if (msg.find(">From ") == std::string_view::npos) return msg;
  scratch->clear();
  scratch->reserve(msg.size());
  size_t line = 0;
  while (line < msg.size()) {
    size_t nl = msg.find('\n', line);
    size_t end = nl == std::string_view::npos ? msg.size() : nl + 1;
    std::string_view l = msg.substr(line, end - line);
    size_t gt = 0;
    while (gt < l.size() && l[gt] == '>') ++gt;
    if (gt > 0 && l.substr(gt, 5) == "From ") l.remove_prefix(1);
    scratch->append(l);
    line = end;
  }
  return *scratch;
}

}  // namespace

void MboxSplitter::Emit(size_t end, bool at_eof) {
  uint64_t offset = buf_offset_ + msg_start_;
  if (end == msg_start_ && !skipping_) return;  // nothing before the first From_ line
  if (skipping_) {
    skipping_ = false;
    return;
  }
  std::string_view m(buf_.data() + msg_start_, end - msg_start_);
  std::string problem;
  if (m.substr(0, 5) == "From ") {
    size_t nl = m.find('\n');
    if (nl == std::string_view::npos) {
      fn_({}, offset, "truncated: the file ends in the From_ line, no message follows");
      return;
    }
    m.remove_prefix(nl + 1);
  }
  if (at_eof && !m.empty() && m.back() != '\n') {
    problem = "truncated: the file ends without a final newline";
  } else if (!at_eof && !m.empty() && m.back() == '\r') {
    m.remove_suffix(1);  // CRLF mbox: the separator's line end
  }
  fn_(Unquote(m, &scratch_), offset, problem);
}

void MboxSplitter::Process() {
  for (;;) {
    size_t q = std::string_view(buf_).find(kSep, scan_);
    if (q == std::string::npos) break;
    Emit(q, false);
    msg_start_ = q + 1;
    scan_ = q + 1;
  }
  // Keep enough of the tail to find a separator that straddles two pieces.
  scan_ = std::max(msg_start_, buf_.size() >= kSep.size() ? buf_.size() - kSep.size() + 1 : 0);
  if (!skipping_ && buf_.size() - msg_start_ > max_message_) {
    fn_({}, buf_offset_ + msg_start_,
        "larger than " + std::to_string(max_message_ >> 20) + " MiB: skipped");
    skipping_ = true;
  }
  if (skipping_ && scan_ > 0) {
    // Drop what was read of the oversized message; keep the tail, where a
    // separator may straddle two pieces.
    buf_.erase(0, scan_);
    buf_offset_ += scan_;
    msg_start_ = scan_ = 0;
  }
  if (msg_start_ > 0 && msg_start_ >= buf_.size() / 2) {
    buf_.erase(0, msg_start_);
    buf_offset_ += msg_start_;
    scan_ -= msg_start_;
    msg_start_ = 0;
  }
}

void MboxSplitter::Feed(std::string_view data) {
  buf_.append(data);
  Process();
}

void MboxSplitter::Finish() {
  if (msg_start_ < buf_.size() || skipping_) Emit(buf_.size(), true);
  buf_.clear();
  msg_start_ = scan_ = 0;
  skipping_ = false;
}

Status ReadMbox(const std::string& path, ScopeAnalyser* a) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io(path + ": cannot open: " + std::strerror(errno));
  MboxSplitter split([&](std::string_view m, uint64_t offset, std::string_view problem) {
    if (!problem.empty()) a->AddBad(path, offset, std::string(problem));
    if (!m.empty() || problem.empty()) a->AddMessage(m, path, offset);
  });
  std::string chunk(kChunk, '\0');
  for (;;) {
    ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::Io(path + ": read error: " + std::strerror(err));
    }
    if (n == 0) break;
    a->CountBytes(static_cast<uint64_t>(n));
    split.Feed(std::string_view(chunk.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  split.Finish();
  return Status::Ok();
}

}  // namespace sealmail
