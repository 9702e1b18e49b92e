// Archive detection, Maildir and .eml trees (one message per file).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "base/file.h"
#include "scope/scope_reader.h"

namespace sealmail {
namespace fs = std::filesystem;
namespace {

bool IsDir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

bool IsMaildir(const fs::path& p) { return IsDir(p / "cur") || IsDir(p / "new"); }

bool EndsWithEml(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return ext == ".eml";
}

// Reads one file holding one message. A leading From_ line (left by some
// tools) is skipped.
void ReadOneFile(const std::string& path, ScopeAnalyser* a) {
  auto bytes = ReadFile(path);
  if (!bytes.ok()) {
    a->AddBad(path, 0, "unreadable: " + bytes.status().message());
    return;
  }
  a->CountBytes(bytes->size());
  std::string_view m = *bytes;
  if (m.substr(0, 5) == "From ") {
    size_t nl = m.find('\n');
    m.remove_prefix(nl == std::string_view::npos ? m.size() : nl + 1);
  }
  a->AddMessage(m, path, 0);
}

// Regular files directly in dir (Maildir: every file is a message; names
// starting with '.' are not).
void ListMaildirFiles(const fs::path& dir, std::vector<std::string>* out) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code fec;
    if (it->is_regular_file(fec)) out->push_back(it->path().string());
  }
}

Status ReadMaildir(const std::string& path, ScopeAnalyser* a) {
  std::vector<std::string> files;
  // The Maildir itself and Maildir++ sub-folders (".Sent/cur", ...).
  std::vector<fs::path> roots = {fs::path(path)};
  std::error_code ec;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() > 1 && name[0] == '.' && IsMaildir(it->path())) roots.push_back(it->path());
  }
  if (ec) return Status::Io(path + ": cannot list: " + ec.message());
  for (const auto& r : roots) {
    ListMaildirFiles(r / "cur", &files);
    ListMaildirFiles(r / "new", &files);
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) ReadOneFile(f, a);
  return Status::Ok();
}

Status ReadEmlTree(const std::string& path, ScopeAnalyser* a) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Status::Io(path + ": cannot list: " + ec.message());
  for (fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) {
      a->AddBad(path, 0, "cannot list part of the tree: " + ec.message());
      break;
    }
    std::error_code fec;
    if (EndsWithEml(it->path()) && it->is_regular_file(fec)) files.push_back(it->path().string());
  }
  if (files.empty()) {
    return Status::Invalid(path +
                           ": no mail found: not a campaign directory (campaign.toml), a Maildir "
                           "(cur/, new/), or a directory holding .eml files");
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) ReadOneFile(f, a);
  return Status::Ok();
}

}  // namespace

const char* ArchiveKindName(ArchiveKind k) {
  switch (k) {
    case ArchiveKind::kCampaign: return "audit trail";
    case ArchiveKind::kMbox: return "mbox";
    case ArchiveKind::kMaildir: return "maildir";
    case ArchiveKind::kEmlTree: return "eml directory";
    case ArchiveKind::kEmlFile: return "eml file";
  }
  return "?";
}

Result<ArchiveKind> DetectArchive(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound(path + ": no such file or directory");
  if (fs::is_directory(st)) {
    if (fs::exists(fs::path(path) / "campaign.toml", ec)) return ArchiveKind::kCampaign;
    if (IsMaildir(path)) return ArchiveKind::kMaildir;
    return ArchiveKind::kEmlTree;
  }
  if (!fs::is_regular_file(st)) return Status::Invalid(path + ": not a regular file or directory");
  // Look at the first line only.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io(path + ": cannot open: " + std::strerror(errno));
  char head[1024];
  ssize_t n = ::read(fd, head, sizeof head);
  int err = errno;
  ::close(fd);
  if (n < 0) return Status::Io(path + ": read error: " + std::strerror(err));
  std::string_view h(head, static_cast<size_t>(n));
  if (h.empty()) return Status::Invalid(path + ": offset 0: empty file, no mail in it");
  if (h.substr(0, 5) == "From ") return ArchiveKind::kMbox;
  size_t i = 0;
  while (i < h.size() && h[i] > 32 && h[i] < 127 && h[i] != ':') ++i;
  if (i > 0 && i < h.size() && h[i] == ':') return ArchiveKind::kEmlFile;
  return Status::Invalid(path +
                         ": offset 0: not mail: neither an mbox (first line \"From ...\") nor a "
                         "message (first line a header field such as \"Received:\")");
}

Status ReadArchive(const std::string& path, ArchiveKind kind, ScopeAnalyser* a) {
  switch (kind) {
    case ArchiveKind::kMbox: return ReadMbox(path, a);
    case ArchiveKind::kMaildir: return ReadMaildir(path, a);
    case ArchiveKind::kEmlTree: return ReadEmlTree(path, a);
    case ArchiveKind::kEmlFile: ReadOneFile(path, a); return Status::Ok();
    case ArchiveKind::kCampaign: break;
  }
  return Status::Invalid(path + ": a campaign directory is read from its audit trail");
}

}  // namespace sealmail
