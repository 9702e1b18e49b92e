// Transport: where guarded messages go. Implementations: dir (one .eml file
// per message, for trying a campaign out) and smtp (pools of SMTP sessions to
// one relay, smtp:// or smtps://, or to each recipient domain's MX hosts).
//
// A Transport accepts only a GuardedMessage (guard/guard.h), which only the
// leak guard can construct.
//
// Thread-safety: per implementation; DirTransport is thread-safe;
// SmtpTransport is driven by one thread at a time (it runs its own workers
// inside SendBatch).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/campaign.h"
#include "dns/dns.h"
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

// Accepts every message and throws it away, like Postfix's discard(8): the
// engine's whole path (render, MIME, DKIM, guard, state and audit commits)
// without a receiver, to measure sealmail's own ceiling (bench/) or to dry-run
// a campaign into a scratch state. Outcomes say "discarded". Thread-safe.
class DiscardTransport final : public Transport {
 public:
  Outcome Send(const GuardedMessage& m) override;
  std::vector<Outcome> SendBatch(const std::vector<const GuardedMessage*>& batch) override;
  std::string Describe() const override { return "discard:"; }
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

class DestinationShaper;
struct SmtpEnvelope;
struct SmtpOptions;
struct SmtpResult;

// One SMTP connection as the transport uses it: SmtpSession in production,
// a fake in tests. Used by one thread at a time.
class SmtpConnection {
 public:
  virtual ~SmtpConnection() = default;
  virtual SmtpResult Open() = 0;
  virtual bool is_open() const = 0;
  virtual SmtpResult Send(const std::string& from, const std::string& rcpt,
                          const std::string& message) = 0;
  // Send, and once this message's data is about to go, ask `next` for the
  // transaction to start behind it on this connection (SmtpSession::Send:
  // the caller must send that one next here). The default never asks.
  virtual SmtpResult SendThen(const std::string& from, const std::string& rcpt,
                              const std::string& message,
                              const std::function<bool(SmtpEnvelope*)>& next);
  virtual void Quit() = 0;
};

// Sends over SMTP, either through one relay (smtp://host:port, STARTTLS when
// offered or required; smtps://host:port) or, with url = "mx:", straight to
// each recipient domain's MX hosts (dns/: preference order, A/AAAA fallback,
// null MX = permanent failure), falling back to the next host when one
// cannot be reached or refuses the session.
//
// Connections: at most `concurrency` messages in flight, on connections
// kept open across batches in a pool per destination host (the relay, or
// each MX host) and used for many messages. Through a relay that offers
// PIPELINING, a connection starts its next message (MAIL, RCPT, DATA)
// behind the current one's data, so each message costs one round trip; the
// next message takes over the current one's shaping slot then.
//
// Shaping (ratelimit/DestinationShaper on the injected Clock): `rate` is a
// token bucket over all messages; a recipient domain listed in
// [transport.domains] also obeys its own rate and concurrency. SendBatch
// takes whichever queued message may go now, so a domain waiting for its
// bucket does not hold up the others.
//
// Failure policy comes from bounce/: a destination host that refuses
// connections, hangs or answers 421 is paused for retry_interval (messages
// to it fail fast as transient meanwhile, or go to the next MX); a TLS
// policy or AUTH failure at the relay stops the run.
//
// The password is read from the environment variable named by password_env
// when the transport is opened, and kept only in memory.
// Timeouts are RFC 5321's, capped by [transport] timeout and by the
// environment variable SEALMAIL_SMTP_TIMEOUT (seconds), whichever is smaller.
//
// Thread-safety: SendBatch/Send are called by one thread at a time; they
// run their own workers.
class SmtpTransport final : public Transport {
 public:
  // What tests replace; everything null/empty means the real thing.
  struct Hooks {
    const Clock* clock = nullptr;  // shaping and pauses
    // Waits for about `ns` nanoseconds of `clock` time. Called with the
    // transport's lock held (so a fake clock is advanced by one thread at a
    // time); production waits on a condition variable that a finishing
    // message also wakes.
    std::function<void(int64_t ns)> sleep;
    std::function<std::unique_ptr<SmtpConnection>(const SmtpOptions&)> connect;
  };
  // Relay (smtp://, smtps://). `resolver` must be non-null for mx: and is
  // owned by the transport.
  static Result<std::unique_ptr<SmtpTransport>> Open(const TransportConfig& t,
                                                    const std::string& helo_name,
                                                    std::unique_ptr<Resolver> resolver = nullptr);
  static Result<std::unique_ptr<SmtpTransport>> Open(const TransportConfig& t,
                                                    const std::string& helo_name,
                                                    std::unique_ptr<Resolver> resolver,
                                                    Hooks hooks);
  ~SmtpTransport() override;
  Outcome Send(const GuardedMessage& m) override;
  std::vector<Outcome> SendBatch(const std::vector<const GuardedMessage*>& batch) override;
  std::string Describe() const override { return describe_; }

 private:
  struct Config;
  struct Pool;
  struct Attempt;
  explicit SmtpTransport(std::unique_ptr<Config> cfg);
  // `next` (relay only, may be null): picks the message to start behind
  // this one on its connection. *kept: the connection, when `next` picked
  // one, for that message's SendOne.
  using NextFn = std::function<bool(SmtpEnvelope*)>;
  Outcome SendOne(const GuardedMessage& m, const std::string& domain, const NextFn* next,
                  std::unique_ptr<SmtpConnection>* kept);
  Attempt SendVia(const std::string& host, int port, const GuardedMessage& m, const NextFn* next,
                  std::unique_ptr<SmtpConnection>* kept);
  // A transient outcome when the run is stopping or the destination host
  // `key` is paused. *Locked: mu_ held.
  std::optional<Outcome> FailFast(const std::string& key);
  std::optional<Outcome> PausedLocked(const std::string& key);
  // The same for a recipient domain, before shaping: the relay, or every
  // known MX host of the domain, is paused.
  std::optional<Outcome> FailFastLocked(const std::string& domain);
  void Pause(const std::string& key, const std::string& why);
  void Wait(std::unique_lock<std::mutex>& lock, int64_t ns);

  std::unique_ptr<Config> cfg_;
  std::string describe_;
  std::unique_ptr<Pool> pool_;     // idle connections per destination host
  std::mutex mu_;                  // guards the fields below and the shaper
  std::condition_variable cv_;     // a message finished
  std::unique_ptr<DestinationShaper> shaper_;
  std::map<std::string, int64_t> paused_until_ns_;  // destination host -> clock time
  std::map<std::string, std::string> pause_reason_;
  std::string stop_reason_;  // non-empty: the run must stop
};

}  // namespace sealmail
