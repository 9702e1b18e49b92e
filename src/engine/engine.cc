#include "engine/engine.h"

#include <filesystem>
#include <random>

#include "address/address.h"
#include "address/address_find.h"
#include "guard/audience_set.h"
#include "base/file.h"
#include "base/hash.h"
#include "bounce/bounce.h"
#include "delivery/delivery.h"
#include "template/template_renderer.h"
#include "transport/transport.h"

namespace sealmail {
namespace {

constexpr size_t kMaxRenderErrors = 1000;

std::string BaseName(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

Result<std::unique_ptr<Transport>> MakeTransport(const Campaign& c) {
  switch (c.transport.kind) {
    case TransportConfig::Kind::kDir: {
      SM_ASSIGN_OR_RETURN(auto t, DirTransport::Open(c.transport.dir_path));
      return std::unique_ptr<Transport>(std::move(t));
    }
    case TransportConfig::Kind::kSmtp:
    case TransportConfig::Kind::kSmtps: {
      // EHLO names the sender's domain (we have no better public name).
      auto t = SmtpTransport::Open(c.transport, c.message.from.address.domain);
      if (!t.ok()) return Status::Invalid(c.file + ": " + t.status().message());
      return std::unique_ptr<Transport>(std::move(*t));
    }
    default:
      return Status::Invalid(c.file + ": [transport] url: \"" + c.transport.url +
                             "\": MX delivery is not in this build yet; use a relay "
                             "(smtp://HOST:PORT or smtps://HOST:PORT) or dir:PATH");
  }
}

// A template that cannot render for this audience is a preflight refusal
// (exit 2), not a usage error.
Result<TemplateRenderer> CompileTemplates(const Campaign& c, const std::vector<std::string>& cols) {
  auto t = TemplateRenderer::Compile(c, cols);
  if (!t.ok()) return Status::Blocked("preflight: " + t.status().message());
  return t;
}

Result<std::shared_ptr<const AudienceSet>> LoadAudienceSet(const Campaign& c) {
  return LoadAudienceSetFromCsv(c.audience_csv, nullptr);
}

double Seconds(const Clock& clock, int64_t start) {
  return static_cast<double>(clock.MonotonicNanos() - start) / 1e9;
}

}  // namespace

Result<std::shared_ptr<const AudienceSet>> LoadAudienceSetFromCsv(const std::string& csv,
                                                                  uint64_t* refused_rows) {
  // Pass one over the audience: every address the guard (or scope) must
  // recognise. Rows the reader refuses count too (every address-like token in
  // them): a customer whose row was malformed is still a customer.
  SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(csv));
  auto set = std::make_shared<AudienceSet>();
  reader->set_error_sink([&set, refused_rows](const AudienceError& e) {
    if (refused_rows != nullptr) ++*refused_rows;
    FindAddressTokens(e.email_cell, [&set](const AddressToken& t) {
      AddressCandidates(t, [&set](std::string_view spelling) { set->AddSpelling(spelling); });
    });
  });
  Recipient r;
  for (;;) {
    SM_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    auto a = ParseAddress(r.email);
    if (a.ok()) set->Add(*a);
  }
  return std::shared_ptr<const AudienceSet>(std::move(set));
}

std::string Engine::DefaultStatePath(const Campaign& c) { return c.dir + "/.sealmail/state.db"; }

Status Engine::Preflight(const Campaign& c, std::shared_ptr<const AudienceSet> audience,
                         CheckReport* report, const ProgressFn& progress,
                         const std::function<Status(const Recipient&)>& on_ok,
                         const std::function<Status(const Recipient&)>& on_blocked) {
  SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(c.audience_csv));
  report->columns = reader->field_names();
  SM_ASSIGN_OR_RETURN(TemplateRenderer renderer, CompileTemplates(c, report->columns));
  Guard guard(Composer::SenderAddresses(c), std::move(audience));
  SM_ASSIGN_OR_RETURN(auto signer, MakeCampaignSigner(c));  // nullopt without [dkim]
  Composer composer(c, std::move(renderer), guard, clock_, signer ? &*signer : nullptr);
  const std::string csv_name = BaseName(c.audience_csv);
  int64_t start = clock_.MonotonicNanos();
  int64_t last_progress = start;
  Recipient r;
  for (;;) {
    SM_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    std::vector<GuardViolation> violations;
    auto msg = composer.Compose(r, &violations);
    if (msg.ok()) {
      ++report->rendered;
      report->bytes_total += msg->bytes().size();
      SM_RETURN_IF_ERROR(on_ok(r));
    } else if (msg.status().code() == Status::Code::kBlocked) {
      for (auto& v : violations) report->violations.push_back(std::move(v));
      SM_RETURN_IF_ERROR(on_blocked(r));
    } else {
      ++report->render_refused;
      if (report->render_errors.size() < kMaxRenderErrors) {
        report->render_errors.push_back(csv_name + ":" + msg.status().message().substr(5));
      }
    }
    if (progress && clock_.MonotonicNanos() - last_progress > 1000000000) {
      last_progress = clock_.MonotonicNanos();
      Progress p;
      p.phase = "preflight";
      p.done = report->rendered + report->render_refused + report->violations.size();
      p.elapsed_seconds = Seconds(clock_, start);
      progress(p);
    }
  }
  report->audience = reader->summary();
  report->audience_errors = reader->errors();
  return Status::Ok();
}

Result<CheckReport> Engine::Check(const Campaign& c, const ProgressFn& progress) {
  CheckReport report;
  report.transport = c.transport.url;
  SM_ASSIGN_OR_RETURN(report.dkim, CheckCampaignDkim(c));  // key errors: exit 1
  auto none = [](const Recipient&) { return Status::Ok(); };
  SM_ASSIGN_OR_RETURN(auto audience, LoadAudienceSet(c));
  SM_RETURN_IF_ERROR(Preflight(c, audience, &report, progress, none, none));
  return report;
}

Result<std::string> Engine::Preview(const Campaign& c, const std::string& email) {
  auto want = ParseAddress(email);
  if (!want.ok()) return Status::Invalid("--to " + email + ": " + want.status().message());
  SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(c.audience_csv));
  SM_ASSIGN_OR_RETURN(TemplateRenderer renderer, CompileTemplates(c, reader->field_names()));
  SM_ASSIGN_OR_RETURN(auto audience, LoadAudienceSet(c));
  Guard guard(Composer::SenderAddresses(c), audience);
  SM_ASSIGN_OR_RETURN(auto signer, MakeCampaignSigner(c));  // nullopt without [dkim]
  Composer composer(c, std::move(renderer), guard, clock_, signer ? &*signer : nullptr);
  Recipient r;
  for (;;) {
    SM_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    if (r.key != want->Key()) continue;
    std::vector<GuardViolation> violations;
    auto msg = composer.Compose(r, &violations);
    if (!msg.ok()) {
      if (msg.status().code() == Status::Code::kBlocked) return msg.status();
      return Status::Invalid(BaseName(c.audience_csv) + ":" + msg.status().message().substr(5));
    }
    return msg->bytes();
  }
  return Status::NotFound(email + " is not in " + BaseName(c.audience_csv) +
                          " (or its row was refused; run sealmail check)");
}

Result<SendReport> Engine::Send(const Campaign& c, const SendOptions& opts,
                                const ProgressFn& progress) {
  SendReport rep;
  rep.preflight.transport = c.transport.url;
  // A From that DMARC would not tie to the signature: refuse before anything is written.
  SM_ASSIGN_OR_RETURN(rep.preflight.dkim, CheckCampaignDkim(c));
  if (!rep.preflight.dkim.problem.empty()) {
    return Status::Blocked("DKIM: " + rep.preflight.dkim.problem);
  }
  SM_ASSIGN_OR_RETURN(auto transport, MakeTransport(c));
  std::string state_path = opts.state_path.empty() ? DefaultStatePath(c) : opts.state_path;
  if (opts.state_path.empty()) {
    SM_RETURN_IF_ERROR(MakeDirs(c.dir + "/.sealmail", /*private_dir=*/true));
  }
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(state_path, &clock_));
  SM_RETURN_IF_ERROR(store->BindCampaign(c.name, opts.state_path.empty()));

  // Preflight and import together: good recipients are added to the state in
  // batches; a guard violation adds that recipient as blocked and halts.
  std::vector<Recipient> batch;
  std::vector<std::string> blocked_keys;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    SM_ASSIGN_OR_RETURN(uint64_t n, store->AddRecipients(batch));
    rep.added += n;
    batch.clear();
    return Status::Ok();
  };
  auto on_ok = [&](const Recipient& r) -> Status {
    batch.push_back(r);
    return batch.size() >= 1000 ? flush() : Status::Ok();
  };
  auto on_blocked = [&](const Recipient& r) -> Status {
    batch.push_back(r);
    blocked_keys.push_back(r.key);
    return Status::Ok();
  };
  SM_ASSIGN_OR_RETURN(auto audience, LoadAudienceSet(c));  // once, for preflight and sending
  SM_RETURN_IF_ERROR(Preflight(c, audience, &rep.preflight, progress, on_ok, on_blocked));
  SM_RETURN_IF_ERROR(flush());
  if (!rep.preflight.violations.empty()) {
    std::vector<Transition> ts;
    for (const auto& k : blocked_keys) {
      SM_ASSIGN_OR_RETURN(auto found, store->Find(k));
      if (found) ts.push_back({found->id, DeliveryState::kBlocked, "", "leak guard", 0});
    }
    SM_RETURN_IF_ERROR(store->Record(ts));
    rep.halted = true;
    rep.exit = ExitCode::kBlocked;
    SM_ASSIGN_OR_RETURN(rep.counts, store->Counts());
    return rep;
  }

  SM_ASSIGN_OR_RETURN(rep.recovered, store->RecoverLeases());
  SM_ASSIGN_OR_RETURN(StateCounts before, store->Counts());
  uint64_t todo = before.pending + before.uncertain + before.deferred;

  SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(c.audience_csv));
  SM_ASSIGN_OR_RETURN(TemplateRenderer renderer, CompileTemplates(c, reader->field_names()));
  reader.reset();
  Guard guard(Composer::SenderAddresses(c), audience);
  SM_ASSIGN_OR_RETURN(auto signer, MakeCampaignSigner(c));  // nullopt without [dkim]
  Composer composer(c, std::move(renderer), guard, clock_, signer ? &*signer : nullptr);

  int64_t start = clock_.MonotonicNanos();
  int64_t last_progress = start;
  bool stop = false;
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  while (!stop) {
    if (opts.stop != nullptr && opts.stop->load()) {
      rep.interrupted = true;
      break;
    }
    SM_ASSIGN_OR_RETURN(auto leased, store->Lease(opts.batch, opts.resend_uncertain));
    if (leased.empty()) break;
    std::vector<Transition> ts;
    ts.reserve(leased.size());
    // Compose (and guard) the whole batch, then hand the guarded messages
    // to the transport together (it may send them in parallel).
    std::vector<GuardedMessage> msgs;
    std::vector<size_t> msg_ts;     // index into ts of each message
    std::vector<int> msg_attempts;  // attempts including this one
    msgs.reserve(leased.size());
    for (auto& sr : leased) {
      Transition t;
      t.id = sr.id;
      if (stop) {  // give back what we will not send in this run
        t.state = DeliveryState::kDeferred;
        t.retry_at = clock_.NowUnix();
        t.detail = rep.stop_reason;
        ts.push_back(std::move(t));
        continue;
      }
      std::vector<GuardViolation> violations;
      auto msg = composer.Compose(sr.recipient, &violations);
      if (!msg.ok()) {
        if (msg.status().code() == Status::Code::kBlocked) {
          // The guard halts the whole campaign before this message leaves.
          t.state = DeliveryState::kBlocked;
          t.detail = "leak guard";
          for (auto& v : violations) rep.preflight.violations.push_back(std::move(v));
          rep.halted = true;
          stop = true;
        } else {
          t.state = DeliveryState::kFailed;
          t.detail = msg.status().message();
          ++rep.failed_now;
        }
        ts.push_back(std::move(t));
        continue;
      }
      t.message_id = msg->message_id();
      msg_ts.push_back(ts.size());
      msg_attempts.push_back(sr.attempts + 1);
      msgs.push_back(std::move(*msg));
      ts.push_back(std::move(t));
    }
    if (rep.halted) {
      // Nothing leaves after a violation, not even earlier messages of this batch.
      for (size_t i : msg_ts) {
        ts[i].state = DeliveryState::kDeferred;
        ts[i].retry_at = clock_.NowUnix();
        ts[i].detail = "leak guard halted the campaign";
      }
      msgs.clear();
    }
    std::vector<const GuardedMessage*> batch_ptrs;
    batch_ptrs.reserve(msgs.size());
    for (const auto& m : msgs) batch_ptrs.push_back(&m);
    rep.attempted += msgs.size();
    std::vector<Outcome> outs = transport->SendBatch(batch_ptrs);
    for (size_t k = 0; k < msgs.size(); ++k) {
      const GuardedMessage* msg = &msgs[k];
      const Outcome& out = outs[k];
      Transition& t = ts[msg_ts[k]];
      t.detail = out.detail;
      t.has_audit = true;
      t.audit.recipient = msg->recipient();
      t.audit.message_id = msg->message_id();
      t.audit.sha256 = Sha256Hex(msg->bytes());
      t.audit.at = clock_.NowUnix();
      t.audit.detail = out.detail;
      t.audit.found = msg->found();
      switch (out.kind) {
        case Outcome::Kind::kDelivered:
          t.state = DeliveryState::kSent;
          ++rep.sent_now;
          break;
        case Outcome::Kind::kPermanent:
          t.state = DeliveryState::kFailed;
          ++rep.failed_now;
          break;
        case Outcome::Kind::kTransient:
        case Outcome::Kind::kUncertain: {
          t.state = DeliveryState::kDeferred;
          if (out.kind == Outcome::Kind::kUncertain) {
            t.detail = "uncertain (the server may have taken it; resent with the same "
                       "Message-ID): " + out.detail;
            t.audit.detail = t.detail;
          }
          if (out.stop_run) {
            // Local trouble (disk full) or a configuration problem (TLS
            // policy, AUTH): stop the run instead of spinning on it.
            t.retry_at = clock_.NowUnix();
            rep.stop_reason = out.detail;
            stop = true;
            ++rep.deferred_now;
            break;
          }
          // Exponential backoff with jitter, bounded by max_age (bounce/).
          RetryPolicy policy{c.transport.retry_interval_seconds, c.transport.max_age_seconds};
          int64_t delay = RetryDelaySeconds(policy, msg_attempts[k], jitter(rng));
          if (delay < 0) {
            t.state = DeliveryState::kFailed;
            t.detail = "gave up after max_age: " + t.detail;
            t.audit.detail = t.detail;
            ++rep.failed_now;
          } else {
            t.retry_at = clock_.NowUnix() + delay;
            ++rep.deferred_now;
          }
          break;
        }
      }
      t.audit.outcome = std::string(DeliveryStateName(t.state));
    }
    SM_RETURN_IF_ERROR(store->Record(ts));
    if (progress && (clock_.MonotonicNanos() - last_progress > 1000000000 || stop)) {
      last_progress = clock_.MonotonicNanos();
      Progress p;
      p.phase = "sending";
      p.done = rep.sent_now + rep.failed_now + rep.deferred_now;
      p.total = todo;
      p.sent = rep.sent_now;
      p.deferred = rep.deferred_now;
      p.failed = rep.failed_now;
      p.elapsed_seconds = Seconds(clock_, start);
      progress(p);
    }
  }
  SM_ASSIGN_OR_RETURN(rep.counts, store->Counts());
  if (rep.halted) rep.exit = ExitCode::kBlocked;
  else if (rep.interrupted || !rep.stop_reason.empty() || rep.counts.pending > 0 ||
           rep.counts.deferred > 0 || rep.counts.uncertain > 0 || rep.counts.leased > 0)
    rep.exit = ExitCode::kWorkLeft;
  else if (rep.counts.failed > 0) rep.exit = ExitCode::kPermanentFailures;
  else rep.exit = ExitCode::kDone;
  return rep;
}

Result<StatusReport> Engine::ReadStatus(const Campaign& c, const std::string& state_path) {
  StatusReport rep;
  rep.state_path = state_path.empty() ? DefaultStatePath(c) : state_path;
  if (!std::filesystem::exists(rep.state_path)) return rep;
  rep.has_state = true;
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(rep.state_path, &clock_));
  SM_RETURN_IF_ERROR(store->BindCampaign(c.name, state_path.empty()));
  SM_ASSIGN_OR_RETURN(rep.counts, store->Counts());
  SM_ASSIGN_OR_RETURN(rep.by_domain, store->CountsByDomain());
  return rep;
}

Result<ScopeReport> Engine::ScopeOwn(const Campaign& c, const std::string& state_path) {
  ScopeReport rep;
  std::string path = state_path.empty() ? DefaultStatePath(c) : state_path;
  if (!std::filesystem::exists(path)) return rep;
  rep.has_state = true;
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(path, &clock_));
  SM_RETURN_IF_ERROR(store->BindCampaign(c.name, state_path.empty()));
  ExposureGraph graph;
  std::vector<std::string> receivers(1);
  SM_RETURN_IF_ERROR(store->ReadAudit([&](const AuditRecord& a) {
    receivers[0] = a.recipient;
    for (char& ch : receivers[0]) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    graph.AddMessage(a.message_id, a.at, receivers, a.found);
    return true;
  }));
  rep.summary = graph.summary();
  rep.viewers = graph.viewers();
  rep.messages = graph.messages();
  return rep;
}

}  // namespace sealmail
