#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <thread>

#include "base/clock.h"
#include "bounce/bounce.h"
#include "dns/dns.h"
#include "ratelimit/ratelimit_shaper.h"
#include "smtp/smtp_session.h"
#include "transport/transport.h"

namespace sealmail {

struct SmtpTransport::Config {
  SmtpOptions smtp;  // host/port: the relay; in MX mode filled per host
  bool mx = false;
  int concurrency = 8;
  int64_t pause_seconds = 60;
  SystemClock system_clock;
  Hooks hooks;  // clock always set
  std::unique_ptr<Resolver> resolver;
  std::unique_ptr<MailRouteCache> routes;
};

// Idle connections per destination host ("host:port"). A connection is
// taken out while one worker uses it and put back afterwards; at most
// `max_idle` are kept (the least recently used one is closed first).
struct SmtpTransport::Pool {
  std::mutex mu;
  std::deque<std::pair<std::string, std::unique_ptr<SmtpConnection>>> idle;  // front: oldest
  size_t max_idle = 8;

  std::unique_ptr<SmtpConnection> Take(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = idle.rbegin(); it != idle.rend(); ++it) {
      if (it->first == key) {
        auto c = std::move(it->second);
        idle.erase(std::next(it).base());
        return c;
      }
    }
    return nullptr;
  }
  void Put(const std::string& key, std::unique_ptr<SmtpConnection> c) {
    std::unique_ptr<SmtpConnection> evicted;
    {
      std::lock_guard<std::mutex> lock(mu);
      idle.emplace_back(key, std::move(c));
      if (idle.size() > max_idle) {
        evicted = std::move(idle.front().second);
        idle.pop_front();
      }
    }
    if (evicted) evicted->Quit();  // outside the lock: QUIT waits for the server
  }
  void QuitAll() {
    for (auto& [k, c] : idle) c->Quit();
    idle.clear();
  }
};

// What one try at one destination host came to (verdict.try_next_host: in
// MX mode the next host may take the message).
struct SmtpTransport::Attempt {
  BounceVerdict verdict;
};

SmtpResult SmtpConnection::SendThen(const std::string& from, const std::string& rcpt,
                                    const std::string& message,
                                    const std::function<bool(SmtpEnvelope*)>&) {
  return Send(from, rcpt, message);
}

namespace {

class SessionConnection final : public SmtpConnection {
 public:
  explicit SessionConnection(const SmtpOptions& o) : s_(o) {}
  SmtpResult Open() override { return s_.Open(); }
  bool is_open() const override { return s_.is_open(); }
  SmtpResult Send(const std::string& from, const std::string& rcpt,
                  const std::string& message) override {
    return s_.Send(from, rcpt, message);
  }
  SmtpResult SendThen(const std::string& from, const std::string& rcpt,
                      const std::string& message,
                      const std::function<bool(SmtpEnvelope*)>& next) override {
    return s_.Send(from, rcpt, message, next);
  }
  void Quit() override { s_.Quit(); }

 private:
  SmtpSession s_;
};

BounceInput::Stage ToBounceStage(SmtpStage s) {
  switch (s) {
    case SmtpStage::kMail:
      return BounceInput::Stage::kMail;
    case SmtpStage::kRcpt:
      return BounceInput::Stage::kRcpt;
    case SmtpStage::kData:
      return BounceInput::Stage::kData;
    case SmtpStage::kDataEnd:
      return BounceInput::Stage::kDataEnd;
    case SmtpStage::kDone:
      return BounceInput::Stage::kDone;
    case SmtpStage::kRset:
      return BounceInput::Stage::kDone;  // not reported as a stage
    default:
      return BounceInput::Stage::kSession;
  }
}

Outcome ToOutcome(const BounceVerdict& v) {
  Outcome o;
  switch (v.kind) {
    case BounceVerdict::Kind::kDelivered:
      o.kind = Outcome::Kind::kDelivered;
      break;
    case BounceVerdict::Kind::kTransient:
      o.kind = Outcome::Kind::kTransient;
      break;
    case BounceVerdict::Kind::kPermanent:
      o.kind = Outcome::Kind::kPermanent;
      break;
    case BounceVerdict::Kind::kUncertain:
      o.kind = Outcome::Kind::kUncertain;
      break;
  }
  o.detail = v.detail;
  o.stop_run = v.stop_run;
  return o;
}

// A recipient domain's DNS answer that ends the attempt: permanent (null
// MX, no such domain) or transient (DNS trouble).
Outcome RouteFailure(const Status& s) {
  Outcome o;
  o.kind =
      s.code() == Status::Code::kPermanent ? Outcome::Kind::kPermanent : Outcome::Kind::kTransient;
  o.detail = s.message();
  return o;
}

std::string DomainOf(const std::string& rcpt) {
  std::string d = rcpt.substr(rcpt.rfind('@') + 1);
  std::transform(d.begin(), d.end(), d.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return d;
}

std::string HostKey(const std::string& host, int port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

}  // namespace

Result<std::unique_ptr<SmtpTransport>> SmtpTransport::Open(const TransportConfig& t,
                                                           const std::string& helo_name,
                                                           std::unique_ptr<Resolver> resolver) {
  return Open(t, helo_name, std::move(resolver), Hooks());
}

Result<std::unique_ptr<SmtpTransport>> SmtpTransport::Open(const TransportConfig& t,
                                                           const std::string& helo_name,
                                                           std::unique_ptr<Resolver> resolver,
                                                           Hooks hooks) {
  auto cfg = std::make_unique<Config>();
  if (t.kind == TransportConfig::Kind::kMx) {
    if (!resolver) return Status::Invalid("mx: needs a resolver");
    cfg->mx = true;
    cfg->resolver = std::move(resolver);
    // Opportunistic TLS (RFC 7435): MX hosts rarely have certificates for
    // their names, and refusing them would only send the mail in clear.
    cfg->smtp.verify_peer = false;
  } else if (t.kind != TransportConfig::Kind::kSmtp && t.kind != TransportConfig::Kind::kSmtps) {
    return Status::Invalid("not an smtp://, smtps:// or mx: transport: " + t.url);
  }
  cfg->smtp.host = t.host;
  cfg->smtp.port = t.port;
  cfg->smtp.implicit_tls = t.kind == TransportConfig::Kind::kSmtps;
  cfg->smtp.tls_required = t.tls_required;
  cfg->smtp.ca_file = t.ca_file;
  cfg->smtp.helo_name = helo_name.empty() ? "localhost" : helo_name;
  if (!cfg->mx) {
    cfg->smtp.username = t.username;
    if (!t.password_env.empty()) {
      const char* pw = std::getenv(t.password_env.c_str());
      if (pw == nullptr) {
        return Status::Invalid("[transport] password_env: the environment variable " +
                               t.password_env + " is not set");
      }
      cfg->smtp.password = pw;
    }
  }
  if (t.timeout_ms > 0) cfg->smtp.timeouts.CapAll(std::chrono::milliseconds(t.timeout_ms));
  if (const char* cap = std::getenv("SEALMAIL_SMTP_TIMEOUT")) {
    double s = std::atof(cap);
    if (s > 0) {
      cfg->smtp.timeouts.CapAll(std::chrono::milliseconds(static_cast<int64_t>(s * 1000)));
    }
  }
  cfg->concurrency = std::max(1, t.concurrency);
  cfg->pause_seconds = std::max<int64_t>(1, t.retry_interval_seconds);
  cfg->hooks = std::move(hooks);
  if (cfg->hooks.clock == nullptr) cfg->hooks.clock = &cfg->system_clock;
  if (!cfg->hooks.connect) {
    cfg->hooks.connect = [](const SmtpOptions& o) -> std::unique_ptr<SmtpConnection> {
      return std::make_unique<SessionConnection>(o);
    };
  }
  if (cfg->mx) {
    cfg->routes = std::make_unique<MailRouteCache>(cfg->resolver.get(), cfg->hooks.clock, 300,
                                                   std::min<int64_t>(cfg->pause_seconds, 300));
  }
  std::vector<DomainLimit> limits;
  for (const auto& d : t.domains) limits.push_back({d.domain, d.rate, d.concurrency});
  auto tr = std::unique_ptr<SmtpTransport>(new SmtpTransport(std::move(cfg)));
  tr->shaper_ = std::make_unique<DestinationShaper>(t.rate, tr->cfg_->concurrency,
                                                    std::move(limits), tr->cfg_->hooks.clock);
  return tr;
}

SmtpTransport::SmtpTransport(std::unique_ptr<Config> cfg)
    : cfg_(std::move(cfg)), pool_(std::make_unique<Pool>()) {
  // t.url as written never holds a password (it lives in the environment).
  if (cfg_->mx) {
    // A test resolver table shows in every report, so it is never in use
    // unnoticed.
    std::string via = cfg_->resolver->Describe();
    describe_ = via.empty() ? "mx:" : "mx: (" + via + ")";
  } else {
    describe_ = std::string(cfg_->smtp.implicit_tls ? "smtps://" : "smtp://") + cfg_->smtp.host +
                ":" + std::to_string(cfg_->smtp.port) +
                (cfg_->smtp.tls_required ? "?tls=required" : "");
  }
  pool_->max_idle = static_cast<size_t>(cfg_->concurrency);
}

SmtpTransport::~SmtpTransport() { pool_->QuitAll(); }

Outcome SmtpTransport::Send(const GuardedMessage& m) { return SendBatch({&m})[0]; }

void SmtpTransport::Wait(std::unique_lock<std::mutex>& lock, int64_t ns) {
  if (cfg_->hooks.sleep) {
    // Fake time passes only while nothing is in flight: sends take no time,
    // and which thread advances the clock cannot change the result.
    if (ns != DestinationShaper::kUntilFinish && shaper_->in_flight_total() == 0) {
      cfg_->hooks.sleep(ns);
    } else {
      cv_.wait(lock);
    }
  } else if (ns == DestinationShaper::kUntilFinish) {
    cv_.wait(lock);  // a finishing message notifies
  } else {
    // Bounded, so a finishing message or a refill is noticed promptly.
    cv_.wait_for(lock, std::chrono::nanoseconds(std::clamp<int64_t>(ns, 100000, 100000000)));
  }
}

std::vector<Outcome> SmtpTransport::SendBatch(const std::vector<const GuardedMessage*>& batch) {
  std::vector<Outcome> out(batch.size());
  if (batch.empty()) return out;
  // One queue per limit class; workers take from whichever class may start
  // now, round-robin, so a domain waiting for its bucket blocks nobody else.
  std::vector<std::string> domains(batch.size());
  std::vector<std::deque<size_t>> queues(shaper_->classes());
  for (size_t i = 0; i < batch.size(); ++i) {
    domains[i] = DomainOf(batch[i]->recipient());
    queues[shaper_->ClassOf(domains[i])].push_back(i);
  }
  size_t queued = batch.size();
  size_t rr = 0;
  const size_t none = batch.size();
  auto work = [&]() {
    // A message this worker's connection has started behind the previous
    // one (SendOne's `next`), with that connection; it has the previous
    // one's shaping slot and is no longer queued.
    size_t chained = none;
    int chained_cls = 0;
    std::unique_ptr<SmtpConnection> kept;
    std::unique_lock<std::mutex> lock(mu_);
    while (queued > 0 || chained != none) {
      size_t picked = none;
      int cls = 0;
      if (chained != none) {
        picked = chained;
        cls = chained_cls;
        chained = none;
      } else {
        // When the run is stopping, the rest fail fast without waiting.
        if (!stop_reason_.empty()) {
          for (auto& q : queues) {
            for (size_t i : q) out[i] = {Outcome::Kind::kTransient, stop_reason_, true};
            q.clear();
          }
          queued = 0;
          break;
        }
        int64_t wait = DestinationShaper::kUntilFinish;
        bool failed_fast = false;
        for (size_t k = 0; k < queues.size() && picked == none; ++k) {
          int c = static_cast<int>((rr + k) % queues.size());
          if (queues[c].empty()) continue;
          // A message that would only fail fast (its destination is paused)
          // spends no token and no slot: a paused relay must not make the
          // rest of the batch wait for the rate limit just to be deferred.
          if (auto o = FailFastLocked(domains[queues[c].front()])) {
            out[queues[c].front()] = std::move(*o);
            queues[c].pop_front();
            --queued;
            failed_fast = true;
            break;
          }
          int64_t ns = shaper_->TryStart(c);
          if (ns == 0) {
            picked = queues[c].front();
            queues[c].pop_front();
            cls = c;
            rr = static_cast<size_t>(c) + 1;
          } else {
            wait = std::min(wait, ns);
          }
        }
        if (failed_fast) continue;
        if (picked == none) {
          Wait(lock, wait);
          continue;
        }
        --queued;
      }
      lock.unlock();
      // Through a relay: the next queued message of the same limit class
      // that may start now, to go behind this one on its connection. It
      // takes over this one's slot, so the class's count is unchanged
      // (another class would free a slot of this one's while its last
      // reply is still to come).
      size_t next_i = none;
      NextFn next = [&](SmtpEnvelope* e) {
        std::lock_guard<std::mutex> l(mu_);
        if (!stop_reason_.empty() || queues[cls].empty()) return false;
        size_t i = queues[cls].front();
        if (FailFastLocked(domains[i])) return false;  // the loop above settles it
        if (shaper_->TryHandOver(cls, cls) != 0) return false;
        queues[cls].pop_front();
        --queued;
        next_i = i;
        *e = SmtpEnvelope{batch[i]->envelope_from(), batch[i]->recipient(), batch[i]->bytes()};
        return true;
      };
      Outcome o = SendOne(*batch[picked], domains[picked], cfg_->mx ? nullptr : &next, &kept);
      lock.lock();
      out[picked] = std::move(o);
      if (next_i == none) {
        shaper_->Finish(cls);
      } else {
        chained = next_i;  // its slot is the one this message had
        chained_cls = cls;
      }
      cv_.notify_all();
    }
    cv_.notify_all();
    lock.unlock();
    if (kept) kept->Quit();  // not expected: a chained message always takes it
  };
  size_t workers = std::min(batch.size(), static_cast<size_t>(cfg_->concurrency));
  if (workers <= 1) {
    work();
    return out;
  }
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) threads.emplace_back(work);
  for (auto& t : threads) t.join();
  return out;
}

std::optional<Outcome> SmtpTransport::FailFastLocked(const std::string& domain) {
  if (!cfg_->mx) return PausedLocked(HostKey(cfg_->smtp.host, cfg_->smtp.port));
  // MX: only when the domain's route is known: a DNS answer that fails
  // the recipient (null MX, no such domain, DNS trouble), or every host
  // paused. Nothing is sent, so no token is spent.
  auto route = cfg_->routes->Peek(domain);
  if (!route) return std::nullopt;
  if (!route->ok()) return RouteFailure(route->status());
  if ((*route)->empty()) return std::nullopt;
  std::optional<Outcome> last;
  for (const MailHost& h : **route) {
    last = PausedLocked(HostKey(h.address.ip, h.address.port));
    if (!last) return std::nullopt;
  }
  return last;
}

std::optional<Outcome> SmtpTransport::FailFast(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return PausedLocked(key);
}

std::optional<Outcome> SmtpTransport::PausedLocked(const std::string& key) {
  if (!stop_reason_.empty()) return Outcome{Outcome::Kind::kTransient, stop_reason_, true};
  auto it = paused_until_ns_.find(key);
  if (it != paused_until_ns_.end() && it->second > cfg_->hooks.clock->MonotonicNanos()) {
    return Outcome{Outcome::Kind::kTransient, "destination paused after: " + pause_reason_[key]};
  }
  return std::nullopt;
}

void SmtpTransport::Pause(const std::string& key, const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  paused_until_ns_[key] = cfg_->hooks.clock->MonotonicNanos() + cfg_->pause_seconds * 1000000000LL;
  pause_reason_[key] = why;
}

Outcome SmtpTransport::SendOne(const GuardedMessage& m, const std::string& domain,
                               const NextFn* next, std::unique_ptr<SmtpConnection>* kept) {
  if (!cfg_->mx) {
    std::string key = HostKey(cfg_->smtp.host, cfg_->smtp.port);
    if (auto o = FailFast(key)) {
      // A connection that started this message cannot just be given back.
      if (*kept) (*kept)->Quit();
      kept->reset();
      return *o;
    }
    Attempt a = SendVia(cfg_->smtp.host, cfg_->smtp.port, m, next, kept);
    return ToOutcome(a.verdict);
  }
  auto route = cfg_->routes->Get(domain);
  if (!route.ok()) return RouteFailure(route.status());
  // RFC 5321 §5.1: each host in preference order until one takes the
  // session; the last failure is what the recipient is told.
  Outcome last{Outcome::Kind::kTransient, "no MX host of " + domain + " could be reached"};
  for (const MailHost& h : *route) {
    std::string key = HostKey(h.address.ip, h.address.port);
    if (auto o = FailFast(key)) {
      if (o->stop_run) return *o;
      last = *o;
      continue;
    }
    Attempt a = SendVia(h.address.ip, h.address.port, m, nullptr, nullptr);
    if (!a.verdict.try_next_host) return ToOutcome(a.verdict);
    last = ToOutcome(a.verdict);
    last.detail = h.name + " " + last.detail;
  }
  return last;
}

SmtpTransport::Attempt SmtpTransport::SendVia(const std::string& host, int port,
                                              const GuardedMessage& m, const NextFn* next,
                                              std::unique_ptr<SmtpConnection>* kept) {
  std::string key = HostKey(host, port);
  std::string shown = cfg_->mx ? key : describe_;
  std::unique_ptr<SmtpConnection> s;
  if (kept != nullptr && *kept) s = std::move(*kept);  // it started this message
  else s = pool_->Take(key);
  if (!s) {
    SmtpOptions o = cfg_->smtp;
    o.host = host;
    o.port = port;
    s = cfg_->hooks.connect(o);
  }
  BounceInput in;
  in.one_of_many_hosts = cfg_->mx;
  bool session_failed = false;
  auto open = [&]() {
    SmtpResult r = s->Open();
    if (!r.ok) {
      in.stage = BounceInput::Stage::kSession;
      in.code = r.reply.code;
      in.connection_lost = true;
      in.policy = r.policy;
      in.detail = shown + ": " + r.Describe();
      session_failed = true;
    }
    return r.ok;
  };
  bool reused = s->is_open();
  bool picked_next = false;
  NextFn then;
  if (next != nullptr) {
    // At most one pick per message, whatever the connection does.
    then = [&](SmtpEnvelope* e) { return !picked_next && (picked_next = (*next)(e)); };
  }
  if (reused || open()) {
    SmtpResult r = s->SendThen(m.envelope_from(), m.recipient(), m.bytes(), then);
    if (reused && !r.ok && r.connection_lost && r.reply.code == 0 && r.stage == SmtpStage::kMail) {
      // A kept-open connection the server had closed while idle, or that
      // was lost behind the previous message: nothing of this transaction
      // was taken, so open a fresh one and try once more.
      if (open()) r = s->SendThen(m.envelope_from(), m.recipient(), m.bytes(), then);
    }
    if (!session_failed) {
      in.stage = r.ok ? BounceInput::Stage::kDone : ToBounceStage(r.stage);
      in.code = r.reply.code;
      in.connection_lost = r.connection_lost;
      in.detail = r.ok ? r.reply.ToString() : r.Describe();
    }
  }
  BounceVerdict v = Classify(in);
  if (v.close_connection && s->is_open()) s->Quit();
  if (v.stop_run) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_reason_.empty()) stop_reason_ = v.detail;
  }
  if (v.pause_destination) Pause(key, v.detail);
  if (s->is_open()) {
    if (picked_next) *kept = std::move(s);  // the next message is started on it
    else pool_->Put(key, std::move(s));
  }
  return Attempt{std::move(v)};
}

}  // namespace sealmail
