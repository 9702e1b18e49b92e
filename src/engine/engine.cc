#include "engine/engine.h"

#include <algorithm>
#include <filesystem>
#include <future>
#include <random>

#include "address/address.h"
#include "address/address_find.h"
#include "base/ascii.h"
#include "base/check.h"
#include "base/file.h"
#include "base/hash.h"
#include "bounce/bounce.h"
#include "delivery/delivery.h"
#include "engine/compose_pool.h"
#include "guard/audience_set.h"
#include "scheduler/scheduler.h"
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
    case TransportConfig::Kind::kDiscard:
      return std::unique_ptr<Transport>(std::make_unique<DiscardTransport>());
    case TransportConfig::Kind::kSmtp:
    case TransportConfig::Kind::kSmtps: {
      // EHLO names the sender's domain (we have no better public name).
      auto t = SmtpTransport::Open(c.transport, c.message.from.address.domain);
      if (!t.ok()) return Status::Invalid(c.file + ": " + t.status().message());
      return std::unique_ptr<Transport>(std::move(*t));
    }
    case TransportConfig::Kind::kMx: {
      // DNS through c-ares; only the test suite sets the variable that
      // swaps in a table of loopback answers (dns/dns.h: TableResolver).
      std::unique_ptr<Resolver> resolver;
      if (const char* table = std::getenv(TableResolver::kEnvVar); table != nullptr && *table) {
        auto r = TableResolver::Load(table);
        if (!r.ok()) return Status::Invalid(std::string(TableResolver::kEnvVar) + ": " + r.status().message());
        resolver = std::move(*r);
      } else {
        auto r = AresResolver::Create();
        if (!r.ok()) return Status::Invalid(c.file + ": [transport] url: mx: " + r.status().message());
        resolver = std::move(*r);
      }
      auto t = SmtpTransport::Open(c.transport, c.message.from.address.domain, std::move(resolver));
      if (!t.ok()) return Status::Invalid(c.file + ": " + t.status().message());
      return std::unique_ptr<Transport>(std::move(*t));
    }
  }
  return Status::Internal("unknown transport kind");
}

// A template that cannot render for this audience is a preflight refusal
// (exit 2), not a usage error.
Result<TemplateRenderer> CompileTemplates(const Campaign& c, const std::vector<std::string>& cols) {
  auto t = TemplateRenderer::Compile(c, cols);
  if (!t.ok()) return Status::Blocked("preflight: " + t.status().message());
  return t;
}

double Seconds(const Clock& clock, int64_t start) {
  return static_cast<double>(clock.MonotonicNanos() - start) / 1e9;
}

}  // namespace

// What the first pass over the audience read: the guard's set and, for an
// audience small enough to keep (kKeepAudienceFileBytes on disk,
// kKeepAudienceBytes in memory), everything the reader gave, so that
// preflight does not read and parse the file a second time (and checks
// exactly the rows the set was built from).
struct AudiencePass {
  std::shared_ptr<const AudienceSet> set;
  AudienceSummary summary;  // of the whole file
  bool kept = false;  // the rest is filled
  std::vector<std::string> field_names;
  // Accepted rows in file order, in chunks of kPreflightChunk (preflight
  // takes them a chunk at a time): no vector of every row grown by
  // doubling, whose copies were fresh memory (issue #9).
  std::vector<std::vector<Recipient>> chunks;
  std::vector<AudienceError> errors;
};

namespace {

// Preflight composes this many rows while it reads (or takes) the next ones.
constexpr size_t kPreflightChunk = 512;

// Pass one keeps the rows of an audience file of up to 4 MiB, while they
// take at most 32 MiB in memory (KeptBytes and the chunks' slots; 50,000
// bench rows, a 1.9 MB file: ~11 MB).
// Preflight's own pass over 50,000 rows was ~40 ms of CPU beside the
// composing; without it, preflight 0.351 -> 0.326 s (issue #9). A larger
// audience is read again (a 1,000,000-row file is never kept: its peak RSS
// is unchanged).
constexpr uintmax_t kKeepAudienceFileBytes = uintmax_t{4} << 20;
constexpr size_t kKeepAudienceBytes = size_t{32} << 20;

// What a kept row holds in memory beside its slot in the vector: the
// strings that do not fit in place.
size_t KeptBytes(const Recipient& r) {
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  size_t n = heap(r.email) + heap(r.key) + r.fields.capacity() * sizeof(r.fields[0]);
  for (const auto& [name, value] : r.fields) n += heap(name) + heap(value);
  return n;
}

// Pass one over the audience: every address the guard (or scope) must
// recognise. Rows the reader refuses count too (every address-like token in
// them): a customer whose row was malformed is still a customer.
Result<AudiencePass> ReadAudience(const std::string& csv, bool keep, uint64_t* refused_rows) {
  SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(csv));
  auto set = std::make_shared<AudienceSet>();
  reader->set_error_sink([&set, refused_rows](const AudienceError& e) {
    if (refused_rows != nullptr) ++*refused_rows;
    FindAddressTokens(e.email_cell, [&set](const AddressToken& t) {
      AddressCandidates(t, [&set](std::string_view spelling) { set->AddSpelling(spelling); });
    });
  });
  AudiencePass pass;
  size_t kept_bytes = 0;  // KeptBytes of the rows and their chunks' slots
  Recipient r;
  Address a;
  for (;;) {
    SM_ASSIGN_OR_RETURN(bool more, reader->Next(&r, &a));
    if (!more) break;
    set->Add(a);
    if (!keep) continue;
    if (pass.chunks.empty() || pass.chunks.back().size() == kPreflightChunk) {
      pass.chunks.emplace_back().reserve(kPreflightChunk);
      kept_bytes += kPreflightChunk * sizeof(Recipient);
    }
    kept_bytes += KeptBytes(r);
    pass.chunks.back().push_back(std::move(r));
    if (kept_bytes > kKeepAudienceBytes) {
      keep = false;  // too large after all: preflight reads the file again
      pass.chunks = {};
    }
  }
  pass.set = std::move(set);
  pass.summary = reader->summary();
  if (keep) {
    pass.kept = true;
    pass.field_names = reader->field_names();
    pass.errors = reader->errors();
  }
  return pass;
}

Result<AudiencePass> ReadCampaignAudience(const Campaign& c) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(c.audience_csv, ec);
  return ReadAudience(c.audience_csv, !ec && size <= kKeepAudienceFileBytes, nullptr);
}

}  // namespace

Result<std::shared_ptr<const AudienceSet>> LoadAudienceSetFromCsv(const std::string& csv,
                                                                  uint64_t* refused_rows) {
  SM_ASSIGN_OR_RETURN(AudiencePass pass, ReadAudience(csv, /*keep=*/false, refused_rows));
  return pass.set;
}

std::string Engine::DefaultStatePath(const Campaign& c) { return c.dir + "/.sealmail/state.db"; }

Status Engine::Preflight(const Campaign& c, const Guard& guard, AudiencePass* audience,
                         GuardProofs* remember, bool sign, CheckReport* report,
                         const ProgressFn& progress,
                         const std::function<Status(Recipient&&)>& on_ok,
                         const std::function<Status(Recipient&&)>& on_blocked) {
  // The rows pass one kept, or the file read again.
  std::unique_ptr<AudienceReader> reader;
  size_t next_kept = 0;
  if (audience != nullptr && audience->kept) {
    report->columns = audience->field_names;
  } else {
    SM_ASSIGN_OR_RETURN(reader, AudienceReader::Open(c.audience_csv));
    report->columns = reader->field_names();
  }
  SM_ASSIGN_OR_RETURN(TemplateRenderer renderer, CompileTemplates(c, report->columns));
  SM_ASSIGN_OR_RETURN(auto signer, MakeCampaignSigner(c));  // nullopt without [dkim]
  ComposePool pool(c, renderer, guard, clock_, sign && signer ? &*signer : nullptr,
                   ComposePool::DefaultThreads(), ComposePool::Use::kPreflight, remember);
  const std::string csv_name = BaseName(c.audience_csv);
  int64_t start = clock_.MonotonicNanos();
  int64_t last_progress = start;
  // Two chunks: the next one is read from the CSV while this one is composed.
  struct Chunk {
    std::vector<Recipient> rows;
    std::vector<const Recipient*> ptrs;
    std::vector<ComposePool::Item> items;
  };
  Chunk chunks[2];
  bool more = true;
  auto read = [&](Chunk* ch) -> Status {
    ch->rows.clear();
    if (reader == nullptr && next_kept < audience->chunks.size()) {
      ch->rows = std::move(audience->chunks[next_kept++]);
    }
    while (reader != nullptr && more && ch->rows.size() < kPreflightChunk) {
      ch->rows.emplace_back();
      SM_ASSIGN_OR_RETURN(more, reader->Next(&ch->rows.back()));
      if (!more) ch->rows.pop_back();
    }
    ch->ptrs.clear();
    for (const auto& r : ch->rows) ch->ptrs.push_back(&r);
    return Status::Ok();
  };
  ComposeWait join{&pool};
  SM_RETURN_IF_ERROR(read(&chunks[0]));
  for (size_t cur = 0; !chunks[cur].rows.empty(); cur ^= 1) {
    Chunk& ch = chunks[cur];
    pool.Start(&ch.ptrs, &ch.items);
    Status read_next = read(&chunks[cur ^ 1]);
    pool.Wait();
    SM_RETURN_IF_ERROR(read_next);
    for (size_t k = 0; k < ch.rows.size(); ++k) {
      auto& msg = *ch.items[k].msg;
      if (msg.ok()) {
        ++report->rendered;
        report->bytes_total += msg->bytes().size();
        SM_RETURN_IF_ERROR(on_ok(std::move(ch.rows[k])));
      } else if (msg.status().code() == Status::Code::kBlocked) {
        for (auto& v : ch.items[k].violations) report->violations.push_back(std::move(v));
        SM_RETURN_IF_ERROR(on_blocked(std::move(ch.rows[k])));
      } else {
        ++report->render_refused;
        if (report->render_errors.size() < kMaxRenderErrors) {
          report->render_errors.push_back(csv_name + ":" + msg.status().message().substr(5));
        }
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
  if (reader != nullptr) {
    report->audience = reader->summary();
    report->audience_errors = reader->errors();
  } else {
    report->audience = audience->summary;
    report->audience_errors = std::move(audience->errors);
    audience->chunks = {};
  }
  return Status::Ok();
}

Result<CheckReport> Engine::Check(const Campaign& c, const ProgressFn& progress) {
  CheckReport report;
  report.transport = c.transport.url;
  SM_ASSIGN_OR_RETURN(report.dkim, CheckCampaignDkim(c));  // key errors: exit 1
  auto none = [](Recipient&&) { return Status::Ok(); };
  SM_ASSIGN_OR_RETURN(AudiencePass audience, ReadCampaignAudience(c));
  Guard guard(Composer::SenderAddresses(c), audience.set);
  SM_RETURN_IF_ERROR(Preflight(c, guard, &audience, /*remember=*/nullptr, /*sign=*/true, &report,
                               progress, none, none));
  return report;
}

Result<std::string> Engine::Preview(const Campaign& c, const std::string& email) {
  auto want = ParseAddress(email);
  if (!want.ok()) return Status::Invalid("--to " + email + ": " + want.status().message());
  SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(c.audience_csv));
  SM_ASSIGN_OR_RETURN(TemplateRenderer renderer, CompileTemplates(c, reader->field_names()));
  SM_ASSIGN_OR_RETURN(auto audience, LoadAudienceSetFromCsv(c.audience_csv, nullptr));
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
  SM_RETURN_IF_ERROR(store->BindCampaign(c.name, opts.state_path.empty(), /*create=*/true));

  // Preflight and import together: good recipients are added to the state in
  // batches; a guard violation adds that recipient as blocked and halts.
  std::vector<Recipient> batch;
  std::vector<std::string> blocked_keys;
  // One batch at a time goes into the state on a thread of its own while the
  // next chunk is composed (the store is used by that thread alone meanwhile).
  std::future<Result<uint64_t>> importing;
  auto collect = [&]() -> Status {
    if (!importing.valid()) return Status::Ok();
    SM_ASSIGN_OR_RETURN(uint64_t n, importing.get());
    rep.added += n;
    return Status::Ok();
  };
  auto flush = [&]() -> Status {
    SM_RETURN_IF_ERROR(collect());
    if (batch.empty()) return Status::Ok();
    importing = std::async(std::launch::async, [&store, b = std::move(batch)] {
      return store->AddRecipients(b);
    });
    batch.clear();
    return Status::Ok();
  };
  auto on_ok = [&](Recipient&& r) -> Status {
    batch.push_back(std::move(r));
    return batch.size() >= 1000 ? flush() : Status::Ok();
  };
  auto on_blocked = [&](Recipient&& r) -> Status {
    blocked_keys.push_back(r.key);
    batch.push_back(std::move(r));
    return Status::Ok();
  };
  const int64_t preflight_start = clock_.MonotonicNanos();
  // Once, for preflight and sending.
  SM_ASSIGN_OR_RETURN(AudiencePass audience, ReadCampaignAudience(c));
  // One guard for preflight and sending. Preflight proves every message
  // passes it before the first one leaves; it does not sign (the signature
  // does not depend on the recipient's data). Each message is composed again
  // and signed right before it is handed over, and guarded again: by the
  // proof preflight remembered when the bytes are provably the same, else in
  // full (GuardProofs).
  Guard guard(Composer::SenderAddresses(c), audience.set);
  GuardProofs proofs;
  proofs.Reserve(audience.summary.accepted);
  // Few commits for the whole import, not one a batch (Store::BeginImport).
  SM_RETURN_IF_ERROR(store->BeginImport());
  rep.audience_reads = audience.kept ? 1 : 2;
  SM_RETURN_IF_ERROR(Preflight(c, guard, &audience, &proofs, /*sign=*/false, &rep.preflight,
                               progress, on_ok, on_blocked));
  SM_RETURN_IF_ERROR(flush());
  SM_RETURN_IF_ERROR(collect());
  SM_RETURN_IF_ERROR(store->EndImport());
  proofs.Seal();
  rep.preflight_seconds = Seconds(clock_, preflight_start);
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

  SchedulePolicy policy;
  policy.retry = RetryPolicy{c.transport.retry_interval_seconds, c.transport.max_age_seconds};
  policy.max_attempts = c.transport.max_attempts;
  policy.resend_uncertain = opts.resend_uncertain;
  policy.batch = opts.batch;
  policy.max_batch = opts.max_batch;
  Scheduler scheduler(store.get(), clock_, policy, std::random_device{}());
  SM_ASSIGN_OR_RETURN(rep.recovered, scheduler.Recover());
  // After Recover no lease is held: every due row is still to do.
  SM_ASSIGN_OR_RETURN(const uint64_t todo, store->CountDue());

  SM_ASSIGN_OR_RETURN(auto reader, AudienceReader::Open(c.audience_csv));
  SM_ASSIGN_OR_RETURN(TemplateRenderer renderer, CompileTemplates(c, reader->field_names()));
  reader.reset();
  SM_ASSIGN_OR_RETURN(auto signer, MakeCampaignSigner(c));  // nullopt without [dkim]
  ComposePool pool(c, renderer, guard, clock_, signer ? &*signer : nullptr,
                   ComposePool::DefaultThreads(), ComposePool::Use::kSendLoop, /*remember=*/nullptr,
                   &proofs);

  int64_t start = clock_.MonotonicNanos();
  int64_t last_progress = start;
  bool stop = false;
  auto report_progress = [&](bool force) {
    if (!progress || (!force && clock_.MonotonicNanos() - last_progress <= 1000000000)) return;
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
  };

  // A leased batch on its way: composed and guarded on every core, then
  // handed to the transport on a thread of its own while the next batch is
  // leased and composed (two batches at most are out: the in-flight window
  // that bounds possible duplicates after a crash).
  struct Batch {
    std::vector<StoredRecipient> leased;
    std::vector<Transition> ts;       // one per leased recipient
    std::vector<GuardedMessage> msgs;
    std::vector<size_t> msg_ts;       // index into ts (and leased) of each message
    std::future<std::vector<Outcome>> outcomes;
    int64_t transport_ns = 0;  // written by the send thread before outcomes is ready
  };
  std::vector<const Recipient*> ptrs;
  std::vector<ComposePool::Item> items;
  // Batches done with, emptied, for their vectors' capacity: the
  // transitions of a 1,024-recipient batch take ~340 KB, allocated and
  // freed every batch otherwise (5 pairs at 50,000: Ed25519 1.35 -> 1.29 s,
  // none 0.74 -> 0.71 s; issue #9). Only batches whose transport thread has
  // returned (or never ran) come here.
  std::vector<std::unique_ptr<Batch>> spare;
  auto recycle = [&spare](std::unique_ptr<Batch> b) {
    if (b == nullptr) return;
    SM_CHECK(!b->outcomes.valid());  // its transport thread was joined, or never ran
    b->leased = {};                  // begin moves the next lease in
    b->ts.clear();
    b->msgs.clear();
    b->msg_ts.clear();
    b->transport_ns = 0;
    spare.push_back(std::move(b));
  };
  // Composing runs in the background (begin) while the engine records the
  // previous batch; absorb waits for it and sorts the results.
  auto begin = [&](std::vector<StoredRecipient> leased) {
    std::unique_ptr<Batch> b;
    if (spare.empty()) {
      b = std::make_unique<Batch>();
    } else {
      b = std::move(spare.back());
      spare.pop_back();
    }
    b->leased = std::move(leased);
    ptrs.clear();
    for (const auto& sr : b->leased) ptrs.push_back(&sr.recipient);
    pool.Start(&ptrs, &items);
    return b;
  };
  auto absorb = [&](Batch* b) {
    pool.Wait();
    b->ts.resize(b->leased.size());
    for (size_t k = 0; k < b->leased.size(); ++k) {
      Transition& t = b->ts[k];
      t.id = b->leased[k].id;
      auto& msg = *items[k].msg;
      if (msg.ok()) {
        t.message_id = msg->message_id();
        t.audit.sha256 = std::move(items[k].sha256);
        b->msg_ts.push_back(k);
        b->msgs.push_back(std::move(*msg));
      } else if (msg.status().code() == Status::Code::kBlocked) {
        // The guard halts the whole campaign before this message leaves.
        t.state = DeliveryState::kBlocked;
        t.detail = "leak guard";
        for (auto& v : items[k].violations) rep.preflight.violations.push_back(std::move(v));
        rep.halted = true;
      } else {
        t.state = DeliveryState::kFailed;
        t.detail = msg.status().message();
        ++rep.failed_now;
      }
    }
  };
  ComposeWait pool_join{&pool};  // ptrs and items; `next` has its own below
  // Gives a composed batch back without sending it (halt or stop): due again.
  auto give_back = [&](Batch* b, const std::string& why) {
    for (size_t k : b->msg_ts) {
      b->ts[k].state = DeliveryState::kDeferred;
      b->ts[k].retry_at = clock_.NowUnix();
      b->ts[k].detail = why;
    }
    b->msgs.clear();
    b->msg_ts.clear();
  };
  auto launch = [&](Batch* b) {
    rep.attempted += b->msgs.size();
    std::vector<const GuardedMessage*> batch_ptrs;
    batch_ptrs.reserve(b->msgs.size());
    for (const auto& m : b->msgs) batch_ptrs.push_back(&m);
    b->outcomes = std::async(std::launch::async, [this, &transport, b, ptrs = std::move(batch_ptrs)] {
      int64_t t0 = clock_.MonotonicNanos();
      auto outs = transport->SendBatch(ptrs);
      b->transport_ns = clock_.MonotonicNanos() - t0;
      return outs;
    });
  };
  // Waits for the transport and settles every outcome (not yet recorded).
  auto settle = [&](Batch* b) {
    std::vector<Outcome> outs;
    if (b->outcomes.valid()) outs = b->outcomes.get();
    for (size_t m = 0; m < outs.size(); ++m) {
      const GuardedMessage& msg = b->msgs[m];
      const Outcome& out = outs[m];
      Transition& t = b->ts[b->msg_ts[m]];
      scheduler.Settle(b->leased[b->msg_ts[m]], out, &t);
      t.has_audit = true;
      t.audit.recipient = msg.recipient();
      t.audit.message_id = msg.message_id();
      t.audit.at = clock_.NowUnix();
      t.audit.detail = t.detail;
      t.audit.found = msg.found();
      t.audit.outcome = std::string(DeliveryStateName(t.state));
      if (out.stop_run && rep.stop_reason.empty()) {
        // Local trouble (disk full) or a configuration problem (TLS policy,
        // AUTH): stop the run instead of spinning on it.
        rep.stop_reason = out.detail;
        stop = true;
      }
      switch (t.state) {
        case DeliveryState::kSent: ++rep.sent_now; break;
        case DeliveryState::kFailed: ++rep.failed_now; break;
        default: ++rep.deferred_now; break;
      }
    }
    rep.transport_seconds += static_cast<double>(b->transport_ns) / 1e9;
  };
  // Commits a batch's transitions and audit rows (one transaction); record
  // also reports progress, so only the engine's thread calls it, while commit
  // may run on the store step's thread (below).
  auto commit = [&](Batch* b) -> Status {
    int64_t t0 = clock_.MonotonicNanos();
    SM_RETURN_IF_ERROR(store->Record(b->ts));
    rep.store_seconds += Seconds(clock_, t0);
    return Status::Ok();
  };
  auto record = [&](Batch* b) -> Status {
    SM_RETURN_IF_ERROR(commit(b));
    report_progress(stop);
    return Status::Ok();
  };

  // Four batches at a time at most: one leased ahead (so that composing
  // never waits for the lease's fsync), one being composed, one at the
  // transport, one settled and being recorded.
  std::vector<StoredRecipient> ahead;  // leased, not yet composed
  std::unique_ptr<Batch> flight;  // handed to the transport, outcome not yet known
  std::unique_ptr<Batch> done;    // settled, not yet recorded
  // Leases the next batch into `ahead`; with `recorded`, that batch's
  // outcomes go in the same transaction (one commit per step, not two).
  auto lease = [&](const Batch* recorded) -> Status {
    int64_t t0 = clock_.MonotonicNanos();
    SM_ASSIGN_OR_RETURN(ahead, recorded != nullptr ? scheduler.NextBatchRecording(recorded->ts)
                                                   : scheduler.NextBatch());
    rep.store_seconds += Seconds(clock_, t0);
    if (!ahead.empty()) {
      ++rep.batches;
      rep.largest_batch = std::max(rep.largest_batch, ahead.size());
    }
    return Status::Ok();
  };
  // Gives the batch leased ahead back unsent (halt or stop): due again.
  auto give_back_ahead = [&](const std::string& why) -> Status {
    if (ahead.empty()) return Status::Ok();
    std::vector<Transition> ts(ahead.size());
    for (size_t k = 0; k < ahead.size(); ++k) {
      ts[k].id = ahead[k].id;
      ts[k].state = DeliveryState::kDeferred;
      ts[k].retry_at = clock_.NowUnix();
      ts[k].detail = why;
    }
    ahead.clear();
    return store->Record(ts);
  };
  // The store's share of one step of the loop, on a thread of its own; on
  // an early return it must not outlive what it reads.
  struct StoreStep {
    std::future<Status> work;
    ~StoreStep() {
      if (work.valid()) work.wait();
    }
  };
  // On an early return the transport thread must not outlive what it reads.
  struct Join {
    std::unique_ptr<Batch>* f;
    ~Join() {
      if (*f && (*f)->outcomes.valid()) (*f)->outcomes.wait();
    }
  } join{&flight};
  for (;;) {
    if (!stop && opts.stop != nullptr && opts.stop->load()) {
      rep.interrupted = true;
      stop = true;
    }
    std::unique_ptr<Batch> next;
    ComposeWait composing{&pool};  // destroyed before `next`, whose recipients it reads
    if (!stop) {
      if (ahead.empty()) SM_RETURN_IF_ERROR(lease(nullptr));
      if (!ahead.empty()) {
        next = begin(std::move(ahead));
        ahead.clear();
      }
    }
    // While the next batch is composed and the current one is at the
    // transport, the store's work of this step runs on a thread of its own:
    // the batch after `next` is leased (so composing it never waits for the
    // lease's fsync) and the previous batch is recorded, in one transaction.
    // This thread meanwhile settles the batch at the transport and absorbs
    // the composed one (the engine's thread was the send loop's bottleneck).
    // Only that thread touches the store until it is joined;
    // Scheduler::NextBatch (the store) and Scheduler::Settle (its clock and
    // jitter) share nothing.
    std::unique_ptr<Batch> committing = std::move(done);
    StoreStep step;
    step.work = std::async(std::launch::async, [&, lease_ahead = next != nullptr,
                                                b = committing.get()]() -> Status {
      if (lease_ahead) return lease(b);
      return b != nullptr ? commit(b) : Status::Ok();
    });
    // The batch at the transport first: it is usually back before the
    // composing ends (always with DKIM), so settling it no longer keeps the
    // compose threads idle between batches.
    if (flight) {
      settle(flight.get());
      done = std::move(flight);
    }
    if (next) absorb(next.get());
    SM_RETURN_IF_ERROR(step.work.get());
    if (done) {  // settled in this step; no lease runs now: size the next ones
      BatchCost cost{done->msgs.size(), 0, done->transport_ns};
      for (const auto& m : done->msgs) cost.bytes += m.bytes().size();
      scheduler.Observe(cost);
    }
    if (committing) report_progress(stop);
    recycle(std::move(committing));
    if (next) {
      if (rep.halted) {
        // Nothing leaves after a violation, not even earlier messages of this batch.
        give_back(next.get(), "leak guard halted the campaign");
        stop = true;
      } else if (stop) {
        give_back(next.get(), rep.stop_reason.empty() ? "interrupted" : rep.stop_reason);
      } else {
        launch(next.get());
        flight = std::move(next);
      }
      if (next) SM_RETURN_IF_ERROR(record(next.get()));  // given back: recorded as such
      recycle(std::move(next));
    }
    if (stop) {
      SM_RETURN_IF_ERROR(give_back_ahead(
          rep.halted ? "leak guard halted the campaign"
                     : (rep.stop_reason.empty() ? "interrupted" : rep.stop_reason)));
    }
    if (flight || !ahead.empty()) continue;
    if (done) {
      SM_RETURN_IF_ERROR(record(done.get()));
      recycle(std::move(done));
    }
    if (stop) break;
    // Nothing due now and nothing out: wait for a retry that falls due soon
    // enough, or say when the next one is due and leave it to the next run.
    SM_ASSIGN_OR_RETURN(int64_t due, scheduler.NextDue());
    if (due == 0 || due - clock_.NowUnix() > opts.wait_seconds) {
      rep.next_retry_at = due;
      break;
    }
    report_progress(true);
    if (!scheduler.WaitUntil(due, opts.stop, opts.sleep)) {
      rep.interrupted = true;
      break;
    }
  }
  rep.compose = pool.stats();
  rep.compose_threads = pool.threads();
  rep.sending_seconds = Seconds(clock_, start);
  SM_ASSIGN_OR_RETURN(rep.counts, store->Counts());
  if (rep.next_retry_at == 0 && rep.counts.deferred > 0) {
    SM_ASSIGN_OR_RETURN(rep.next_retry_at, scheduler.NextDue());
  }
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
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(rep.state_path, &clock_));
  Status bound = store->BindCampaign(c.name, state_path.empty(), /*create=*/false);
  if (bound.code() == Status::Code::kNotFound) return rep;  // a shared state, not started
  SM_RETURN_IF_ERROR(bound);
  rep.has_state = true;
  SM_ASSIGN_OR_RETURN(rep.counts, store->Counts());
  SM_ASSIGN_OR_RETURN(rep.by_domain, store->CountsByDomain());
  return rep;
}

Result<ScopeReport> Engine::ScopeOwn(const Campaign& c, const std::string& state_path) {
  ScopeReport rep;
  std::string path = state_path.empty() ? DefaultStatePath(c) : state_path;
  if (!std::filesystem::exists(path)) return rep;
  SM_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(path, &clock_));
  Status bound = store->BindCampaign(c.name, state_path.empty(), /*create=*/false);
  if (bound.code() == Status::Code::kNotFound) return rep;  // nothing sent yet
  SM_RETURN_IF_ERROR(bound);
  rep.has_state = true;
  ExposureGraph graph;
  std::vector<std::string> receivers(1);
  SM_RETURN_IF_ERROR(store->ReadAudit([&](const AuditRecord& a) {
    receivers[0] = LowerAscii(a.recipient);
    graph.AddMessage(a.message_id, a.at, receivers, a.found);
    return true;
  }));
  rep.summary = graph.summary();
  rep.viewers = graph.viewers();
  rep.messages = graph.messages();
  return rep;
}

}  // namespace sealmail
