#include "cli/cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "base/clock.h"
#include "base/file.h"
#include "cli/cli_suppress.h"
#include "config/campaign.h"
#include "dkim/dkim.h"
#include "engine/engine.h"
#include "scheduler/scheduler.h"
#include "scope/scope_csv.h"

namespace sealmail {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

constexpr size_t kShownErrors = 20;

// "dir:out (/abs/campaign/out)" so the operator knows where files went.
std::string TransportLabel(const Campaign& c) {
  if (c.transport.kind == TransportConfig::Kind::kDir) {
    return c.transport.url + " (" + c.transport.dir_path + ")";
  }
  return c.transport.url;
}

int ExitFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kBlocked: return static_cast<int>(ExitCode::kBlocked);
    case Status::Code::kTransient:
    case Status::Code::kIo: return static_cast<int>(ExitCode::kWorkLeft);
    default: return static_cast<int>(ExitCode::kUsage);
  }
}

int Fail(const Status& s) {
  std::fprintf(stderr, "sealmail: %s\n", s.message().c_str());
  return ExitFor(s);
}

std::string Human(uint64_t bytes) {
  char buf[32];
  if (bytes >= (1u << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  else if (bytes >= 1024) std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

nlohmann::json CountsJson(const StateCounts& c) {
  return {{"total", c.total},         {"pending", c.pending},   {"leased", c.leased},
          {"sent", c.sent},           {"deferred", c.deferred}, {"failed", c.failed},
          {"suppressed", c.suppressed}, {"blocked", c.blocked}, {"uncertain", c.uncertain},
          {"possible_duplicates", c.possible_duplicates}};
}

nlohmann::json DkimRecordJson(const DkimDnsRecord& r) {
  return {{"name", r.name}, {"type", "TXT"}, {"value", r.value}, {"strings", r.strings},
          {"zone_line", r.zone_line}};
}

nlohmann::json DkimJson(const DkimCampaignCheck& d) {
  nlohmann::json j = {{"configured", d.configured}, {"from_domain", d.from_domain}};
  if (!d.configured) return j;
  j["domain"] = d.domain;
  j["selector"] = d.selector;
  j["algorithm"] = d.algorithm;
  j["key_type"] = std::string(DkimKeyTypeName(d.key_type));
  j["key_bits"] = d.key_bits;
  j["from_org"] = d.from_org;
  j["signing_org"] = d.signing_org;
  j["aligned"] = d.aligned;
  j["problem"] = d.problem;
  j["notes"] = d.notes;
  j["record"] = DkimRecordJson(d.record);
  return j;
}

// The [dkim] lines of `sealmail check`.
void PrintDkim(const std::string& dir, const DkimCampaignCheck& d) {
  if (!d.configured) {
    std::printf("dkim       none: messages go out unsigned (add [dkim] for authenticated, "
                "aligned sending)\n");
    return;
  }
  std::printf("dkim       d=%s s=%s %s, %d-bit %s key\n", d.domain.c_str(), d.selector.c_str(),
              d.algorithm.c_str(), d.key_bits,
              d.key_type == DkimKeyType::kRsa ? "RSA" : "Ed25519");
  if (d.aligned) {
    std::printf("           From %s aligned with d=%s (organisational domain %s)\n",
                d.from_domain.c_str(), d.domain.c_str(), d.from_org.c_str());
  } else {
    std::printf("           NOT ALIGNED: %s\n", d.problem.c_str());
  }
  for (const auto& n : d.notes) std::printf("           note: %s\n", n.c_str());
  std::printf("           publish TXT %s (sealmail dkim-record %s prints it)\n",
              d.record.name.c_str(), dir.c_str());
}

nlohmann::json CheckJson(const Campaign& c, const CheckReport& r) {
  nlohmann::json j;
  j["campaign"] = c.name;
  j["columns"] = r.columns;
  j["audience"] = {{"rows", r.audience.rows},
                   {"accepted", r.audience.accepted},
                   {"invalid", r.audience.invalid},
                   {"duplicates", r.audience.duplicates}};
  nlohmann::json errs = nlohmann::json::array();
  for (const auto& e : r.audience_errors) {
    errs.push_back({{"line", e.line}, {"field", e.field}, {"reason", e.reason},
                    {"message", e.ToString(c.audience_csv.substr(c.audience_csv.rfind('/') + 1))}});
  }
  j["audience_errors"] = errs;
  j["messages"] = {{"rendered", r.rendered},
                   {"refused", r.render_refused},
                   {"blocked", r.violations.size()},
                   {"bytes", r.bytes_total}};
  j["render_errors"] = r.render_errors;
  nlohmann::json v = nlohmann::json::array();
  for (const auto& x : r.violations) {
    v.push_back({{"recipient", x.recipient}, {"where", x.where}, {"what", x.what}});
  }
  j["violations"] = v;
  j["transport"] = r.transport;
  j["dkim"] = DkimJson(r.dkim);
  return j;
}

void PrintCheck(const Campaign& c, const CheckReport& r) {
  std::string csv = c.audience_csv.substr(c.audience_csv.rfind('/') + 1);
  std::printf("campaign   %s\n", c.name.c_str());
  std::printf("from       %s\n", c.message.from.address.ToString().c_str());
  std::printf("audience   %s: %llu rows, %llu accepted, %llu refused, %llu duplicates\n",
              csv.c_str(), static_cast<unsigned long long>(r.audience.rows),
              static_cast<unsigned long long>(r.audience.accepted),
              static_cast<unsigned long long>(r.audience.invalid),
              static_cast<unsigned long long>(r.audience.duplicates));
  size_t shown = 0;
  for (const auto& e : r.audience_errors) {
    if (shown++ == kShownErrors) break;
    std::printf("  %s\n", e.ToString(csv).c_str());
  }
  uint64_t refused_rows = r.audience.invalid + r.audience.duplicates;
  if (refused_rows > kShownErrors) {
    std::printf("  ... and %llu more (sealmail check --json lists them)\n",
                static_cast<unsigned long long>(refused_rows - kShownErrors));
  }
  std::string cols;
  for (const auto& col : r.columns) cols += (cols.empty() ? "" : ", ") + col;
  std::printf("fields     email%s%s\n", cols.empty() ? "" : ", ", cols.c_str());
  std::printf("messages   %llu built, %s in all, %llu refused, %zu blocked by the leak guard\n",
              static_cast<unsigned long long>(r.rendered), Human(r.bytes_total).c_str(),
              static_cast<unsigned long long>(r.render_refused), r.violations.size());
  shown = 0;
  for (const auto& e : r.render_errors) {
    if (shown++ == kShownErrors) break;
    std::printf("  %s\n", e.c_str());
  }
  for (const auto& v : r.violations) std::printf("  BLOCKED %s\n", v.ToString().c_str());
  std::printf("transport  %s\n", TransportLabel(c).c_str());
  PrintDkim(c.dir, r.dkim);
}

nlohmann::json VerifyJson(const std::string& file, const VerifyReport& r, int rc) {
  nlohmann::json sigs = nlohmann::json::array();
  for (const auto& v : r.signatures) {
    nlohmann::json s = {{"result", std::string(DkimResultName(v.result))}, {"reason", v.reason}};
    if (v.result != DkimResult::kNoSignature) {
      s["domain"] = v.sig.domain;
      s["selector"] = v.sig.selector;
      s["algorithm"] = v.sig.algorithm;
      s["canonicalization"] = v.sig.canon;
      s["headers"] = v.sig.headers;
      s["timestamp"] = v.sig.timestamp;
      s["expires"] = v.sig.expires;
      s["key_bits"] = v.key_bits;
    }
    sigs.push_back(s);
  }
  return {{"file", file},
          {"genuine", r.genuine},
          {"reason", r.reason},
          {"signatures", sigs},
          {"from_domain", r.from_domain},
          {"from_aligned", r.from_aligned},
          {"message_id", r.message_id},
          {"recipient", r.recipient},
          {"campaign_checked", r.campaign_checked},
          {"message_id_ours", r.message_id_ours},
          {"expected_message_id", r.expected_message_id},
          {"state", r.state},
          {"exit", rc}};
}

void PrintVerify(const std::string& file, const VerifyReport& r) {
  std::printf("message    %s\n", file.c_str());
  for (size_t i = 0; i < r.signatures.size(); ++i) {
    const auto& v = r.signatures[i];
    std::printf("%s %s: %s\n", i == 0 ? "signature " : "          ",
                std::string(DkimResultName(v.result)).c_str(), v.reason.c_str());
  }
  if (!r.from_domain.empty()) {
    std::printf("from       %s%s\n", r.from_domain.c_str(),
                r.from_aligned ? " (aligned with the signing domain)" : "");
  }
  if (r.campaign_checked) {
    std::printf("message-id %s%s\n", r.message_id.c_str(),
                r.message_id_ours ? (" (the campaign's for " + r.recipient + ")").c_str()
                                  : " (not the campaign's)");
  }
  if (!r.state.empty()) std::printf("state      %s\n", r.state.c_str());
  if (r.genuine) {
    std::printf("result     GENUINE: %s\n", r.reason.c_str());
  } else {
    std::printf("result     NOT GENUINE: %s (exit 2)\n", r.reason.c_str());
  }
}

class ProgressPrinter {
 public:
  ProgressPrinter() : tty_(::isatty(2) != 0) {}
  void operator()(const Progress& p) {
    char line[200];
    double rate = p.elapsed_seconds > 0 ? p.done / p.elapsed_seconds : 0;
    if (p.phase == "preflight") {
      std::snprintf(line, sizeof line, "preflight: %llu checked (%.0f/s)",
                    static_cast<unsigned long long>(p.done), rate);
    } else {
      std::string eta = "-";
      if (rate > 0 && p.total > p.done) {
        long s = static_cast<long>((p.total - p.done) / rate);
        char b[32];
        std::snprintf(b, sizeof b, "%ldm%02lds", s / 60, s % 60);
        eta = b;
      }
      std::snprintf(line, sizeof line,
                    "sending: %llu/%llu  sent %llu  deferred %llu  failed %llu  %.0f/s  ETA %s",
                    static_cast<unsigned long long>(p.done),
                    static_cast<unsigned long long>(p.total),
                    static_cast<unsigned long long>(p.sent),
                    static_cast<unsigned long long>(p.deferred),
                    static_cast<unsigned long long>(p.failed), rate, eta.c_str());
    }
    // On a terminal, rewrite one line; in a log, print one line per update.
    if (tty_) std::fprintf(stderr, "\r\033[K%s", line);
    else std::fprintf(stderr, "sealmail: %s\n", line);
    dirty_ = tty_;
  }
  void Finish() {
    if (dirty_) std::fprintf(stderr, "\n");
    dirty_ = false;
  }

 private:
  bool tty_;
  bool dirty_ = false;
};

void PrintCounts(const StateCounts& c) {
  std::printf(
      "total %llu  pending %llu  sent %llu  deferred %llu  failed %llu  suppressed %llu  "
      "blocked %llu  uncertain %llu\n",
      static_cast<unsigned long long>(c.total), static_cast<unsigned long long>(c.pending),
      static_cast<unsigned long long>(c.sent), static_cast<unsigned long long>(c.deferred),
      static_cast<unsigned long long>(c.failed), static_cast<unsigned long long>(c.suppressed),
      static_cast<unsigned long long>(c.blocked), static_cast<unsigned long long>(c.uncertain));
  if (c.possible_duplicates > 0) {
    std::printf("duplicates at most %llu recipients may have the message twice (their outcome was "
                "unknown once: a crash or a hang-up after the final \".\"; same Message-ID)\n",
                static_cast<unsigned long long>(c.possible_duplicates));
  }
}

// "2026-11-25 12:00:00 UTC", or "unknown" for 0.
std::string UtcTime(int64_t t) { return t == 0 ? "unknown" : FormatUtc(t); }

// `scope` over an mbox, Maildir, .eml tree or .eml file (issue #8).
int RunScopeArchive(const std::string& path, const std::string& audience,
                    const std::string& out, bool json, bool list_viewers) {
  SystemClock clock;
  auto rep = Engine(clock).ScopeArchive({path, audience});
  if (!rep.ok()) return Fail(rep.status());
  const ScopeAnalyser& a = *rep->analyser;
  const ExposureGraph& g = a.graph();
  const ExposureSummary& sum = g.summary();
  Status wrote = WriteExposedCsv(g, out);
  if (!wrote.ok()) return Fail(wrote);
  if (json) {
    nlohmann::json exposed = nlohmann::json::array();
    g.ForEachExposed(list_viewers, [&](const ExposedAddress& e) {
      nlohmann::json ids = nlohmann::json::array();
      for (auto id : e.message_ids) ids.push_back(std::string(id));
      nlohmann::json j = {{"address", std::string(e.address)}, {"viewers", e.seen_by},
                          {"messages", ids}};
      if (list_viewers) {
        nlohmann::json who = nlohmann::json::array();
        for (auto v : e.viewers) who.push_back(std::string(v));
        j["viewed_by"] = who;
      }
      exposed.push_back(std::move(j));
    });
    nlohmann::json bad = nlohmann::json::array();
    for (const auto& b : a.bad()) {
      bad.push_back({{"file", b.file}, {"offset", b.offset}, {"reason", b.reason}});
    }
    nlohmann::json j = {{"source", ArchiveKindName(rep->kind)},
                        {"path", path},
                        {"bytes", a.bytes_read()},
                        {"messages", sum.messages},
                        {"bad_messages", sum.bad_messages},
                        {"bad", bad},
                        {"recipients", sum.recipients},
                        {"messages_without_recipients", sum.no_receivers},
                        {"exposed_addresses", g.exposed_count()},
                        {"exposing_messages", sum.exposing_messages},
                        {"largest_exposure", sum.largest_exposure},
                        {"largest_message_id", sum.largest_message_id},
                        {"first_at", sum.first_at},
                        {"last_at", sum.last_at},
                        {"audience", rep->audience ? audience : ""},
                        {"exposed_csv", out},
                        {"exposed", exposed}};
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("source     %s %s (%s)\n", ArchiveKindName(rep->kind), path.c_str(),
              Human(a.bytes_read()).c_str());
  if (rep->audience) {
    std::printf("audience   %s: only its members count as exposed or as viewers\n",
                audience.c_str());
  }
  std::printf("messages   %llu read, %llu bad, to %llu recipients",
              static_cast<unsigned long long>(sum.messages),
              static_cast<unsigned long long>(sum.bad_messages),
              static_cast<unsigned long long>(sum.recipients));
  if (sum.no_receivers > 0) {
    std::printf(" (%llu messages name no recipient%s)",
                static_cast<unsigned long long>(sum.no_receivers),
                rep->audience ? " of the audience" : "");
  }
  std::printf("\n");
  std::printf("period     %s .. %s\n", UtcTime(sum.first_at).c_str(), UtcTime(sum.last_at).c_str());
  for (const auto& b : a.bad()) std::printf("bad        %s\n", b.ToString().c_str());
  if (sum.bad_messages > a.bad().size()) {
    std::printf("bad        ... and %llu more\n",
                static_cast<unsigned long long>(sum.bad_messages - a.bad().size()));
  }
  if (g.exposed_count() == 0) {
    std::printf("exposure   none: no recipient saw another %saddress\n",
                rep->audience ? "audience member's " : "");
  } else {
    std::printf("exposure   %llu addresses exposed by %llu messages (largest: %llu in %s)\n",
                static_cast<unsigned long long>(g.exposed_count()),
                static_cast<unsigned long long>(sum.exposing_messages),
                static_cast<unsigned long long>(sum.largest_exposure),
                sum.largest_message_id.c_str());
    constexpr uint64_t kShown = 20;
    uint64_t shown = 0;
    g.ForEachExposed(list_viewers, [&](const ExposedAddress& e) {
      if (!list_viewers && shown++ >= kShown) return;
      std::printf("  %s seen by %llu in %zu message(s)\n", std::string(e.address).c_str(),
                  static_cast<unsigned long long>(e.seen_by), e.message_ids.size());
      for (auto v : e.viewers) std::printf("    %s\n", std::string(v).c_str());
    });
    if (!list_viewers && g.exposed_count() > kShown) {
      std::printf("  ... %llu more (all in %s; --list prints every one and its viewers)\n",
                  static_cast<unsigned long long>(g.exposed_count() - kShown), out.c_str());
    }
  }
  std::printf("wrote      %s (%llu rows: email,seen_by,messages,message_ids; usable as a notification "
              "campaign's audience.csv)\n",
              out.c_str(), static_cast<unsigned long long>(g.exposed_count()));
  return 0;
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{
      "sealmail: one sealed message per recipient, proven by a leak guard before it leaves.\n"
      "A campaign is a directory with campaign.toml, audience.csv and body templates."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sealmail 0.1.0");
  std::string dir, to, state_path;
  bool json = false, strict = false, no_resend_uncertain = false, quiet = false;

  auto* check = app.add_subcommand(
      "check", "Preflight: config, every address, every template for every recipient, every "
               "message through the leak guard. Sends nothing.");
  check->add_option("DIR", dir, "campaign directory")->required();
  check->add_flag("--json", json, "print one JSON object");
  check->add_flag("--strict", strict, "exit 2 when any audience row or recipient is refused");

  auto* preview = app.add_subcommand(
      "preview", "Print the exact message an audience member would receive.");
  preview->add_option("DIR", dir, "campaign directory")->required();
  preview->add_option("--to", to, "the audience member's address")->required();

  auto* send = app.add_subcommand(
      "send", "Preflight, then send. Progress on stderr. Interrupted or killed: run it again "
              "and it resumes; nothing is written twice.");
  send->add_option("DIR", dir, "campaign directory")->required();
  send->add_option("--state", state_path,
                   "SQLite state shared by several campaigns (default DIR/.sealmail/state.db)");
  send->add_flag("--no-resend-uncertain", no_resend_uncertain,
                 "leave messages whose outcome is unknown after a crash for an operator");
  send->add_flag("--json", json, "print the final report as one JSON object");
  send->add_flag("--quiet,-q", quiet, "no progress on stderr");
  send->add_flag("--strict", strict, "refuse to send when any audience row is refused");
  int64_t wait_seconds = 0;
  send->add_option("--wait", wait_seconds,
                   "keep running while the next retry falls due within SECONDS (default 0: "
                   "stop, say when it is due, exit 4; run send again then)")
      ->check(CLI::Range(int64_t{0}, int64_t{7 * 86400}));

  std::string file, key_path;
  auto* verify = app.add_subcommand(
      "verify", "Did this message really come from us? Checks its DKIM signature against the "
                "campaign's key and domain, and its Message-ID against the campaign and its "
                "state. Exit 0 only for a genuine message, 2 otherwise.");
  verify->add_option("FILE", file, "the message (.eml)")->required();
  verify->add_option("DIR", dir, "campaign directory (its key, domain and state)");
  verify->add_option("--key", key_path,
                     "check against this key instead: a PEM public or private key, or the DNS "
                     "TXT record text (v=DKIM1; k=...; p=...)");
  verify->add_option("--state", state_path, "state path used with send --state");
  verify->add_flag("--json", json, "print one JSON object");

  auto* dkim_record = app.add_subcommand(
      "dkim-record", "Print the DNS TXT record to publish for the campaign's DKIM key.");
  dkim_record->add_option("DIR", dir, "campaign directory")->required();
  dkim_record->add_flag("--json", json, "print one JSON object");

  auto* status = app.add_subcommand("status", "Counts by state and destination domain.");
  status->add_option("DIR", dir, "campaign directory")->required();
  status->add_option("--state", state_path, "state path used with send --state");
  status->add_flag("--json", json, "print one JSON object");

  bool list_viewers = false;
  std::string scope_audience, scope_out = "exposed.csv";
  auto* scope = app.add_subcommand(
      "scope", "Who saw whose address: exposure report over sent mail (an mbox file, a "
               "Maildir, a directory of .eml files, one .eml, or a campaign's own audit trail). "
               "Writes exposed.csv (email,seen_by,messages,message_ids): the audience of a "
               "notification "
               "campaign.");
  scope->add_option("PATH", dir,
                    "campaign directory, mbox file, Maildir, or directory of .eml files")
      ->required();
  scope->add_option("--state", state_path, "state path used with send --state");
  scope->add_option("--audience", scope_audience,
                    "audience CSV (an email column): count only these people as exposed and "
                    "as viewers, so staff and the sender do not count");
  scope->add_option("--out", scope_out, "where to write the list of exposed addresses")
      ->capture_default_str();
  scope->add_flag("--json", json, "print one JSON object");
  scope->add_flag("--list", list_viewers, "list who saw each exposed address");

  SuppressArgs sup;
  auto* suppress = app.add_subcommand(
      "suppress", "The suppression list kept in the state: addresses never mailed again by any "
                  "campaign sharing that state. Permanent failures (5xx) join it by themselves.");
  suppress->require_subcommand(1);
  suppress->footer(
      "Examples:\n  sealmail suppress add DIR alice@example.com --reason unsubscribed\n"
      "  sealmail suppress import --state /srv/mail/state.db unsubscribes.csv\n"
      "  sealmail suppress list DIR --json\n  sealmail suppress remove DIR alice@example.com");
  struct Verb { const char* name; const char* help; const char* args; };
  for (const Verb& v : {Verb{"add", "add addresses", "[DIR] ADDRESS...: DIR unless --state"},
                        Verb{"import", "add every address of a CSV (header with an email column; "
                                       "an optional reason column)",
                             "[DIR] FILE.csv: DIR unless --state"},
                        Verb{"list", "print the list (email, added UTC, source, reason)",
                             "[DIR]: DIR unless --state"},
                        Verb{"remove", "take addresses off the list", "[DIR] ADDRESS...: DIR unless --state"}}) {
    auto* sub = suppress->add_subcommand(v.name, v.help);
    sub->add_option("ARGS", sup.args, v.args);
    sub->add_option("--state", sup.state_path, "a shared state (as with send --state)");
    sub->add_flag("--json", sup.json, "print one JSON object");
    if (std::string(v.name) == "add" || std::string(v.name) == "import") {
      sub->add_option("--reason", sup.reason, "why (e.g. unsubscribed, complaint)");
    }
    sub->callback([&sup, name = std::string(v.name)] { sup.verb = name; });
  }

  app.footer(
      "Exit codes: 0 all done; 1 usage or configuration error; 2 preflight or leak guard "
      "blocked the campaign; 3 finished with permanent failures; 4 stopped with work left.\n"
      "Example: sealmail check examples/announce && sealmail send examples/announce");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
  }
  if (*suppress) return RunSuppress(sup);
  if (*send) {
    // Before any work: an interrupt during preflight must also stop cleanly
    // (exit 4), not kill the process half-way.
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    // A file size limit must be a clear write error ("disk full"), not a kill.
    std::signal(SIGXFSZ, SIG_IGN);
  }

  if (*verify) {
    if (dir.empty() && key_path.empty()) {
      std::fprintf(stderr, "sealmail: verify: give the campaign DIR, or --key FILE\n");
      return static_cast<int>(ExitCode::kUsage);
    }
    std::optional<Campaign> vc;
    if (!dir.empty()) {
      auto loaded = LoadCampaign(dir);
      if (!loaded.ok()) return Fail(loaded.status());
      vc = std::move(*loaded);
    }
    SystemClock vclock;
    VerifyOptions vo;
    vo.file = file;
    vo.campaign = vc ? &*vc : nullptr;
    vo.key_path = key_path;
    vo.state_path = state_path;
    auto rep = Engine(vclock).Verify(vo);
    if (!rep.ok()) return Fail(rep.status());
    int rc = rep->genuine ? 0 : static_cast<int>(ExitCode::kBlocked);
    if (json) std::cout << VerifyJson(file, *rep, rc).dump(2) << "\n";
    else PrintVerify(file, *rep);
    return rc;
  }

  if (*scope) {
    auto kind = DetectArchive(dir);
    if (!kind.ok()) return Fail(kind.status());
    if (*kind != ArchiveKind::kCampaign) {
      return RunScopeArchive(dir, scope_audience, scope_out, json, list_viewers);
    }
  }

  auto campaign = LoadCampaign(dir);
  if (!campaign.ok()) return Fail(campaign.status());
  const Campaign& c = *campaign;
  SystemClock clock;
  Engine engine(clock);

  if (*dkim_record) {
    if (!c.dkim) {
      return Fail(Status::Invalid(c.file + ": no [dkim] section (domain, selector, key, "
                                  "algorithm): nothing to publish"));
    }
    auto d = CheckCampaignDkim(c);
    if (!d.ok()) return Fail(d.status());
    if (json) {
      nlohmann::json j = DkimRecordJson(d->record);
      j["domain"] = d->domain;
      j["selector"] = d->selector;
      j["algorithm"] = d->algorithm;
      j["key_type"] = std::string(DkimKeyTypeName(d->key_type));
      j["key_bits"] = d->key_bits;
      std::cout << j.dump(2) << "\n";
    } else {
      std::printf("%s\n", d->record.zone_line.c_str());
    }
    return 0;
  }

  if (*check) {
    ProgressPrinter printer;
    auto rep = engine.Check(c, json ? ProgressFn() : ProgressFn(std::ref(printer)));
    printer.Finish();
    if (!rep.ok()) return Fail(rep.status());
    bool refused = rep->audience.invalid + rep->audience.duplicates + rep->render_refused > 0;
    int rc = !rep->violations.empty() || !rep->dkim.problem.empty() || (strict && refused) ? 2 : 0;
    if (json) {
      auto j = CheckJson(c, *rep);
      j["exit"] = rc;
      std::cout << j.dump(2) << "\n";
    } else {
      PrintCheck(c, *rep);
      if (!rep->violations.empty()) {
        std::printf("result     BLOCKED: the leak guard refused %zu message(s); nothing may be "
                    "sent (exit 2)\n", rep->violations.size());
      } else if (!rep->dkim.problem.empty()) {
        std::printf("result     BLOCKED: the From domain is not aligned with the DKIM domain; "
                    "nothing may be sent (exit 2)\n");
      } else if (strict && refused) {
        std::printf("result     refused rows with --strict (exit 2)\n");
      } else {
        std::printf("result     ready: %llu messages would be sent%s\n",
                    static_cast<unsigned long long>(rep->rendered),
                    refused ? " (refused rows above are left out)" : "");
      }
    }
    return rc;
  }

  if (*preview) {
    auto bytes = engine.Preview(c, to);
    if (!bytes.ok()) return Fail(bytes.status());
    std::fwrite(bytes->data(), 1, bytes->size(), stdout);
    return 0;
  }

  if (*send) {
    if (strict) {
      auto pre = engine.Check(c, ProgressFn());
      if (!pre.ok()) return Fail(pre.status());
      if (pre->audience.invalid + pre->audience.duplicates + pre->render_refused > 0) {
        std::fprintf(stderr, "sealmail: --strict: refused rows; run sealmail check %s\n",
                     dir.c_str());
        return 2;
      }
    }
    SendOptions opts;
    opts.state_path = state_path;
    opts.resend_uncertain = !no_resend_uncertain;
    opts.stop = &g_stop;
    opts.wait_seconds = wait_seconds;
    ProgressPrinter printer;
    auto rep = engine.Send(c, opts, quiet ? ProgressFn() : ProgressFn(std::ref(printer)));
    printer.Finish();
    if (!rep.ok()) return Fail(rep.status());
    int rc = static_cast<int>(rep->exit);
    if (json) {
      nlohmann::json j;
      j["campaign"] = c.name;
      j["preflight"] = CheckJson(c, rep->preflight);
      j["added"] = rep->added;
      j["recovered_uncertain"] = rep->recovered;
      j["attempted"] = rep->attempted;
      j["sent"] = rep->sent_now;
      j["deferred"] = rep->deferred_now;
      j["failed"] = rep->failed_now;
      j["halted"] = rep->halted;
      j["interrupted"] = rep->interrupted;
      j["stop_reason"] = rep->stop_reason;
      j["next_retry_at"] = rep->next_retry_at;
      const ComposeStats& cs = rep->compose;
      j["stages"] = {{"messages_composed", cs.messages},
                     {"compose_threads", rep->compose_threads},
                     {"render_seconds", cs.render_ns / 1e9},
                     {"mime_seconds", cs.mime_ns / 1e9},
                     {"dkim_seconds", cs.dkim_ns / 1e9},
                     {"guard_seconds", cs.guard_ns / 1e9},
                     {"guard_proofs_reused", cs.proofs_reused},
                     {"store_seconds", rep->store_seconds},
                     {"transport_seconds", rep->transport_seconds},
                     {"sending_seconds", rep->sending_seconds},
                     {"batches", rep->batches},
                     {"largest_batch", rep->largest_batch},
                     {"audience_reads", rep->audience_reads},
                     {"preflight_seconds", rep->preflight_seconds}};
      j["state"] = CountsJson(rep->counts);
      j["exit"] = rc;
      std::cout << j.dump(2) << "\n";
      return rc;
    }
    const auto& p = rep->preflight;
    if (p.audience.invalid + p.audience.duplicates + p.render_refused > 0) {
      std::printf("refused    %llu audience rows, %llu recipients (run sealmail check %s)\n",
                  static_cast<unsigned long long>(p.audience.invalid + p.audience.duplicates),
                  static_cast<unsigned long long>(p.render_refused), dir.c_str());
    }
    if (rep->halted) {
      std::printf("BLOCKED    the leak guard halted the campaign; nothing further was sent\n");
      for (const auto& v : p.violations) std::printf("  %s\n", v.ToString().c_str());
    }
    if (rep->recovered > 0) {
      std::printf("uncertain  %llu messages from an interrupted run were sent again with the "
                  "same Message-ID (possible duplicates)\n",
                  static_cast<unsigned long long>(rep->recovered));
    }
    std::printf("this run   %llu sent, %llu deferred, %llu failed via %s\n",
                static_cast<unsigned long long>(rep->sent_now),
                static_cast<unsigned long long>(rep->deferred_now),
                static_cast<unsigned long long>(rep->failed_now), TransportLabel(c).c_str());
    if (!rep->stop_reason.empty()) std::printf("stopped    %s\n", rep->stop_reason.c_str());
    if (rep->interrupted) std::printf("stopped    interrupted; run send again to resume\n");
    if (rep->next_retry_at != 0 && !rep->interrupted && !rep->halted) {
      std::printf("retries    %llu deferred; the next is due %s (%s); run send again then, or "
                  "use --wait SECONDS\n",
                  static_cast<unsigned long long>(rep->counts.deferred),
                  UtcTime(rep->next_retry_at).c_str(),
                  DescribeWait(rep->next_retry_at - clock.NowUnix()).c_str());
    }
    std::printf("state      ");
    PrintCounts(rep->counts);
    return rc;
  }

  if (*scope) {
    auto rep = engine.ScopeOwn(c, state_path);
    if (!rep.ok()) return Fail(rep.status());
    const ExposureSummary& sum = rep->summary;
    {
      std::string csv(kExposedCsvHeader);
      for (const auto& [addr, who] : rep->viewers) {
        const auto& ms = rep->messages.at(addr);
        csv += ExposedCsvRow(addr, who.size(), {ms.begin(), ms.end()});
      }
      Status wrote = WriteFileAtomic(scope_out, csv);
      if (!wrote.ok()) return Fail(wrote);
    }
    if (json) {
      nlohmann::json exposed = nlohmann::json::array();
      for (const auto& [addr, who] : rep->viewers) {
        nlohmann::json e = {{"address", addr}, {"viewers", who.size()},
                            {"messages", rep->messages.at(addr)}};
        if (list_viewers) e["viewed_by"] = who;
        exposed.push_back(e);
      }
      nlohmann::json j = {{"source", "audit trail"},
                          {"campaign", c.name},
                          {"messages", sum.messages},
                          {"recipients", sum.recipients},
                          {"exposed_addresses", rep->viewers.size()},
                          {"exposing_messages", sum.exposing_messages},
                          {"largest_exposure", sum.largest_exposure},
                          {"first_at", sum.first_at},
                          {"last_at", sum.last_at},
                          {"exposed", exposed}};
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::printf("source     audit trail of campaign %s%s\n", c.name.c_str(),
                rep->has_state ? "" : " (not started: nothing sent yet)");
    std::printf("messages   %llu to %llu recipients\n",
                static_cast<unsigned long long>(sum.messages),
                static_cast<unsigned long long>(sum.recipients));
    std::printf("wrote      %s (%zu rows: the audience of a notification campaign)\n",
                scope_out.c_str(), rep->viewers.size());
    if (rep->viewers.empty()) {
      std::printf("exposure   none: no recipient saw another audience member's address\n");
      return 0;
    }
    std::printf("exposure   %zu addresses exposed by %llu messages (largest: %llu in %s)\n",
                rep->viewers.size(), static_cast<unsigned long long>(sum.exposing_messages),
                static_cast<unsigned long long>(sum.largest_exposure),
                sum.largest_message_id.c_str());
    for (const auto& [addr, who] : rep->viewers) {
      std::printf("  %s seen by %zu\n", addr.c_str(), who.size());
      if (list_viewers) {
        for (const auto& w : who) std::printf("    %s\n", w.c_str());
      }
    }
    return 0;
  }

  if (*status) {
    auto rep = engine.ReadStatus(c, state_path);
    if (!rep.ok()) return Fail(rep.status());
    if (json) {
      nlohmann::json j = CountsJson(rep->counts);
      j["campaign"] = c.name;
      j["state_path"] = rep->state_path;
      j["started"] = rep->has_state;
      nlohmann::json d = nlohmann::json::object();
      for (const auto& [dom, cnt] : rep->by_domain) d[dom] = CountsJson(cnt);
      j["domains"] = d;
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::printf("campaign   %s\n", c.name.c_str());
    if (!rep->has_state) {
      std::printf("state      not started (no %s); run sealmail send\n",
                  rep->state_path.c_str());
      return 0;
    }
    std::printf("state      ");
    PrintCounts(rep->counts);
    std::printf("%-32s %8s %8s %8s %8s %8s\n", "domain", "total", "sent", "pending", "deferred",
                "failed");
    // The largest domains first; all of them with --json.
    std::vector<std::pair<std::string, StateCounts>> doms(rep->by_domain.begin(),
                                                          rep->by_domain.end());
    std::stable_sort(doms.begin(), doms.end(),
                     [](const auto& x, const auto& y) { return x.second.total > y.second.total; });
    constexpr size_t kShownDomains = 25;
    if (doms.size() > kShownDomains) {
      doms.resize(kShownDomains);
      std::printf("(the %zu largest of %zu domains; --json lists all)\n", kShownDomains,
                  rep->by_domain.size());
    }
    for (const auto& [dom, cnt] : doms) {
      std::printf("%-32s %8llu %8llu %8llu %8llu %8llu\n", dom.c_str(),
                  static_cast<unsigned long long>(cnt.total),
                  static_cast<unsigned long long>(cnt.sent),
                  static_cast<unsigned long long>(cnt.pending + cnt.uncertain),
                  static_cast<unsigned long long>(cnt.deferred),
                  static_cast<unsigned long long>(cnt.failed));
    }
    return 0;
  }
  return 1;
}

}  // namespace sealmail
