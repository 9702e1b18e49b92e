#include "base/status.h"

namespace sealmail {

std::string_view CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalid: return "invalid";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kIo: return "I/O error";
    case Status::Code::kTransient: return "transient";
    case Status::Code::kPermanent: return "permanent";
    case Status::Code::kBlocked: return "blocked";
    case Status::Code::kCorrupt: return "corrupt";
    case Status::Code::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

Status Status::WithPrefix(std::string_view prefix) const {
  if (ok()) return *this;
  std::string m(prefix);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

}  // namespace sealmail
