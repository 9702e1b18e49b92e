// Transport: where guarded messages go. Implementations: dir (one .eml file
// per message, for trying a campaign out) and, later, smtp (issue #6).
//
// A Transport accepts only a GuardedMessage (guard/guard.h), which only the
// leak guard can construct.
//
// Thread-safety: per implementation; DirTransport is thread-safe.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "guard/guard.h"

namespace sealmail {

struct Outcome {
  enum class Kind { kDelivered, kTransient, kPermanent, kUncertain };
  Kind kind = Kind::kDelivered;
  std::string detail;  // server reply or OS error, for the state and the operator
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Outcome Send(const GuardedMessage& m) = 0;
  // A short description for reports, e.g. "dir:/srv/out" (never credentials).
  virtual std::string Describe() const = 0;
};

// Writes each message to DIR/<hash-of-message-id>.eml atomically (temp file,
// fsync, rename). The name is a function of the Message-ID, so writing the
// same message again after a crash replaces the file instead of adding one.
class DirTransport final : public Transport {
 public:
  static Result<std::unique_ptr<DirTransport>> Open(const std::string& dir);
  Outcome Send(const GuardedMessage& m) override;
  std::string Describe() const override { return "dir:" + dir_; }
  static std::string FileNameFor(const std::string& message_id);

 private:
  explicit DirTransport(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

}  // namespace sealmail
