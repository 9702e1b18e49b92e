#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "base/clock.h"
#include "bounce/bounce.h"
#include "ratelimit/ratelimit.h"
#include "smtp/smtp_session.h"
#include "transport/transport.h"

namespace sealmail {

struct SmtpTransport::Config {
  SmtpOptions smtp;
  int concurrency = 8;
  int64_t pause_seconds = 60;
  SystemClock clock;
  std::unique_ptr<TokenBucket> rate;  // null: no limit
};

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

BounceInput::Stage ToBounceStage(SmtpStage s) {
  switch (s) {
    case SmtpStage::kMail: return BounceInput::Stage::kMail;
    case SmtpStage::kRcpt: return BounceInput::Stage::kRcpt;
    case SmtpStage::kData: return BounceInput::Stage::kData;
    case SmtpStage::kDataEnd: return BounceInput::Stage::kDataEnd;
    case SmtpStage::kDone: return BounceInput::Stage::kDone;
    case SmtpStage::kRset: return BounceInput::Stage::kDone;  // not reported as a stage
    default: return BounceInput::Stage::kSession;
  }
}

Outcome ToOutcome(const BounceVerdict& v) {
  Outcome o;
  switch (v.kind) {
    case BounceVerdict::Kind::kDelivered: o.kind = Outcome::Kind::kDelivered; break;
    case BounceVerdict::Kind::kTransient: o.kind = Outcome::Kind::kTransient; break;
    case BounceVerdict::Kind::kPermanent: o.kind = Outcome::Kind::kPermanent; break;
    case BounceVerdict::Kind::kUncertain: o.kind = Outcome::Kind::kUncertain; break;
  }
  o.detail = v.detail;
  o.stop_run = v.stop_run;
  return o;
}

}  // namespace

Result<std::unique_ptr<SmtpTransport>> SmtpTransport::Open(const TransportConfig& t,
                                                          const std::string& helo_name) {
  if (t.kind != TransportConfig::Kind::kSmtp && t.kind != TransportConfig::Kind::kSmtps) {
    return Status::Invalid("not an smtp:// or smtps:// transport: " + t.url);
  }
  auto cfg = std::make_unique<Config>();
  cfg->smtp.host = t.host;
  cfg->smtp.port = t.port;
  cfg->smtp.implicit_tls = t.kind == TransportConfig::Kind::kSmtps;
  cfg->smtp.tls_required = t.tls_required;
  cfg->smtp.ca_file = t.ca_file;
  cfg->smtp.helo_name = helo_name.empty() ? "localhost" : helo_name;
  cfg->smtp.username = t.username;
  if (!t.password_env.empty()) {
    const char* pw = std::getenv(t.password_env.c_str());
    if (pw == nullptr) {
      return Status::Invalid("[transport] password_env: the environment variable " +
                             t.password_env + " is not set");
    }
    cfg->smtp.password = pw;
  }
  if (const char* cap = std::getenv("SEALMAIL_SMTP_TIMEOUT")) {
    double s = std::atof(cap);
    if (s > 0) {
      cfg->smtp.timeouts.CapAll(std::chrono::milliseconds(static_cast<int64_t>(s * 1000)));
    }
  }
  cfg->concurrency = std::max(1, t.concurrency);
  cfg->pause_seconds = std::max<int64_t>(1, t.retry_interval_seconds);
  if (t.rate > 0) {
    // Bursts of at most one second's worth (at least one message).
    cfg->rate = std::make_unique<TokenBucket>(t.rate, std::max(1.0, t.rate), &cfg->clock);
  }
  return std::unique_ptr<SmtpTransport>(new SmtpTransport(std::move(cfg)));
}

SmtpTransport::SmtpTransport(std::unique_ptr<Config> cfg) : cfg_(std::move(cfg)) {
  // t.url as written never holds a password (it lives in the environment).
  describe_ = std::string(cfg_->smtp.implicit_tls ? "smtps://" : "smtp://") + cfg_->smtp.host +
              ":" + std::to_string(cfg_->smtp.port) + (cfg_->smtp.tls_required ? "?tls=required" : "");
  for (int i = 0; i < cfg_->concurrency; ++i) {
    sessions_.push_back(std::make_unique<SmtpSession>(cfg_->smtp));
  }
}

SmtpTransport::~SmtpTransport() {
  for (auto& s : sessions_) s->Quit();
}

Outcome SmtpTransport::Send(const GuardedMessage& m) { return SendBatch({&m})[0]; }

std::vector<Outcome> SmtpTransport::SendBatch(const std::vector<const GuardedMessage*>& batch) {
  std::vector<Outcome> out(batch.size());
  size_t workers = std::min(batch.size(), sessions_.size());
  std::atomic<size_t> next{0};
  auto work = [&](size_t w) {
    for (size_t i = next++; i < batch.size(); i = next++) out[i] = SendOne(w, *batch[i]);
  };
  if (workers <= 1) {
    if (!batch.empty()) work(0);
    return out;
  }
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t w = 0; w < workers; ++w) threads.emplace_back(work, w);
  for (auto& t : threads) t.join();
  return out;
}

Outcome SmtpTransport::SendOne(size_t worker, const GuardedMessage& m) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stop_reason_.empty()) return {Outcome::Kind::kTransient, stop_reason_, true};
    if (paused_until_ns_ > NowNs()) {
      return {Outcome::Kind::kTransient, "destination paused after: " + pause_reason_};
    }
  }
  if (cfg_->rate) {
    // The global `rate`: wait for a token (bounded: one arrives every 1/rate s).
    while (!cfg_->rate->TryTake()) {
      int64_t ns = std::min<int64_t>(cfg_->rate->NanosUntilNext(), 100000000);
      std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<int64_t>(ns, 100000)));
    }
  }
  SmtpSession& s = *sessions_[worker];
  BounceInput in;
  bool reused = s.is_open();
  if (!s.is_open()) {
    SmtpResult r = s.Open();
    if (!r.ok) {
      in.stage = BounceInput::Stage::kSession;
      in.code = r.reply.code;
      in.connection_lost = true;
      in.policy = r.policy;
      in.detail = describe_ + ": " + r.Describe();
    }
  }
  if (in.detail.empty()) {
    SmtpResult r = s.Send(m.envelope_from(), m.recipient(), m.bytes());
    if (reused && !r.ok && r.connection_lost && r.reply.code == 0 && r.stage == SmtpStage::kMail) {
      // A kept-open connection the server had closed while idle: nothing of
      // this transaction was taken, so open a fresh one and try once more.
      SmtpResult o = s.Open();
      if (o.ok) {
        r = s.Send(m.envelope_from(), m.recipient(), m.bytes());
      } else {
        in.stage = BounceInput::Stage::kSession;
        in.code = o.reply.code;
        in.connection_lost = true;
        in.policy = o.policy;
        in.detail = describe_ + ": " + o.Describe();
      }
    }
    if (in.detail.empty()) {
      in.stage = r.ok ? BounceInput::Stage::kDone : ToBounceStage(r.stage);
      in.code = r.reply.code;
      in.connection_lost = r.connection_lost;
      in.detail = r.ok ? r.reply.ToString() : r.Describe();
    }
  }
  BounceVerdict v = Classify(in);
  if (v.close_connection && s.is_open()) s.Quit();
  if (v.stop_run || v.pause_destination) {
    std::lock_guard<std::mutex> lock(mu_);
    if (v.stop_run && stop_reason_.empty()) stop_reason_ = v.detail;
    if (v.pause_destination) {
      paused_until_ns_ = NowNs() + cfg_->pause_seconds * 1000000000LL;
      pause_reason_ = v.detail;
    }
  }
  return ToOutcome(v);
}

}  // namespace sealmail
