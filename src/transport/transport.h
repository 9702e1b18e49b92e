// Transport: where guarded messages go. Implementations: dir (one .eml file
// per message, for trying a campaign out) and smtp (a pool of SMTP sessions
// to one relay, smtp:// or smtps://).
//
// A Transport accepts only a GuardedMessage (guard/guard.h), which only the
// leak guard can construct.
//
// Thread-safety: per implementation; DirTransport is thread-safe;
// SmtpTransport is driven by one thread at a time (it runs its own workers
// inside SendBatch).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/campaign.h"
#include "guard/guard.h"

namespace sealmail {

struct Outcome {
  enum class Kind { kDelivered, kTransient, kPermanent, kUncertain };
  Kind kind = Kind::kDelivered;
  std::string detail;  // server reply or OS error, for the state and the operator
  // Set with kTransient when every other message would fail the same way
  // (local disk trouble, TLS policy, AUTH refused): the run stops and the
  // recipients stay due (bounce/ decides this for SMTP).
  bool stop_run = false;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Outcome Send(const GuardedMessage& m) = 0;
  // Sends a batch (in any order, possibly in parallel); returns one Outcome
  // per message, in the order given. The default sends one at a time.
  virtual std::vector<Outcome> SendBatch(const std::vector<const GuardedMessage*>& batch);
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

class SmtpSession;

// Sends through one relay (smtp://host:port, STARTTLS when offered or
// required; smtps://host:port) with up to `concurrency` connections, each
// kept open across batches and used for many messages. Failure policy comes
// from bounce/: a destination that refuses connections, hangs or answers 421
// is paused for retry_interval (messages fail fast as transient meanwhile);
// a TLS policy or AUTH failure stops the run.
//
// The password is read from the environment variable named by password_env
// when the transport is opened, and kept only in memory.
// Timeouts are RFC 5321's; SEALMAIL_SMTP_TIMEOUT (seconds) caps them all.
// `rate` (messages per second over all connections) is a token bucket;
// per-domain limits and mx: are not implemented yet.
class SmtpTransport final : public Transport {
 public:
  static Result<std::unique_ptr<SmtpTransport>> Open(const TransportConfig& t,
                                                    const std::string& helo_name);
  ~SmtpTransport() override;
  Outcome Send(const GuardedMessage& m) override;
  std::vector<Outcome> SendBatch(const std::vector<const GuardedMessage*>& batch) override;
  std::string Describe() const override { return describe_; }

 private:
  struct Config;
  explicit SmtpTransport(std::unique_ptr<Config> cfg);
  Outcome SendOne(size_t worker, const GuardedMessage& m);

  std::unique_ptr<Config> cfg_;
  std::string describe_;
  std::vector<std::unique_ptr<SmtpSession>> sessions_;  // one per worker, opened lazily
  std::mutex mu_;                                       // guards the fields below
  int64_t paused_until_ns_ = 0;  // steady clock; destination paused until then
  std::string pause_reason_;
  std::string stop_reason_;  // non-empty: the run must stop
};

}  // namespace sealmail
