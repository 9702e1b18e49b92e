#include "base/file.h"
#include "base/hash.h"
#include "transport/transport.h"

namespace sealmail {

Result<std::unique_ptr<DirTransport>> DirTransport::Open(const std::string& dir) {
  SM_RETURN_IF_ERROR(MakeDirs(dir));
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
  return {Outcome::Kind::kTransient, s.message()};
}

}  // namespace sealmail
