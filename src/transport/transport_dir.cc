#include <signal.h>

#include <cerrno>
#include <filesystem>

#include "base/file.h"
#include "base/hash.h"
#include "transport/transport.h"

namespace sealmail {

Outcome DiscardTransport::Send(const GuardedMessage&) {
  return {Outcome::Kind::kDelivered, "discarded (discard: transport; nothing left this machine)",
          false};
}

std::vector<Outcome> DiscardTransport::SendBatch(const std::vector<const GuardedMessage*>& batch) {
  if (batch.empty()) return {};
  return std::vector<Outcome>(batch.size(), Send(*batch.front()));
}

Result<std::unique_ptr<DirTransport>> DirTransport::Open(const std::string& dir) {
  SM_RETURN_IF_ERROR(MakeDirs(dir));
  // A process killed mid-write leaves "<name>.eml.tmp.<pid>"; its message was
  // never recorded as written, so it will be written again. Remove the debris
  // of dead writers only.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    auto pos = name.find(".eml.tmp.");
    if (pos == std::string::npos) continue;
    long pid = std::strtol(name.c_str() + pos + 9, nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
      std::filesystem::remove(e.path(), ec);
    }
  }
  return std::unique_ptr<DirTransport>(new DirTransport(dir));
}

std::string DirTransport::FileNameFor(const std::string& message_id) {
  return Sha256Hex(message_id).substr(0, 32) + ".eml";
}

Outcome DirTransport::Send(const GuardedMessage& m) {
  Status s = WriteFileAtomic(dir_ + "/" + FileNameFor(m.message_id()), m.bytes());
  if (s.ok()) return {Outcome::Kind::kDelivered, "written"};
  // A full disk or a permission problem may clear up; the state keeps the
  // recipient and a later run writes it.
  return {Outcome::Kind::kTransient, s.message(), /*stop_run=*/true};
}

std::vector<Outcome> Transport::SendBatch(const std::vector<const GuardedMessage*>& batch) {
  std::vector<Outcome> out;
  out.reserve(batch.size());
  for (const GuardedMessage* m : batch) out.push_back(Send(*m));
  return out;
}

}  // namespace sealmail
