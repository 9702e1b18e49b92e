// State transitions per second of the SQLite store (issue #7 target: >=
// 100,000/s on this 2-core machine with group commit), on the same calls the
// send loop makes: import, then per batch one fsynced lease commit and one
// outcome commit that also writes each message's audit row.
//
// Run: make bench, or build-bench/bench/store_bench [N] [BATCH] [DIR]. Two runs:
// two commits per batch (lease, then outcomes), then the send loop's one commit
// per batch (Store::LeaseAndRecord) with three batches still leased, as in the
// engine.
// A transition is one recipient's state change (pending->leased and
// leased->sent are two).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <string>

#include "base/hash.h"
#include "store/store.h"

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

long PeakRssKiB() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

int Fail(const sealmail::Status& s) {
  std::fprintf(stderr, "store_bench: %s\n", s.message().c_str());
  return 1;
}


// One run over a fresh state: import, then drain it batch by batch, either
// as two commits per batch (a lease, then the outcomes) or as the send loop
// does it (the next lease and the previous batch's outcomes in one commit).
int RunOnce(const std::string& path, size_t n, size_t batch, bool combined) {
  using namespace sealmail;
  SystemClock clock;
  auto opened = OpenSqliteStore(path, &clock);
  if (!opened.ok()) return Fail(opened.status());
  Store& s = **opened;
  if (Status b = s.BindCampaign("bench", true, true); !b.ok()) return Fail(b);

  double t0 = Now();
  std::vector<Recipient> rows;
  rows.reserve(1000);
  // As the engine imports: few commits (Store::BeginImport), keys in random
  // order as in a real audience (k = i * p mod n, p a prime not dividing n).
  const size_t p = n % 7919 != 0 ? 7919 : 7927;
  if (Status b = s.BeginImport(); !b.ok()) return Fail(b);
  for (size_t i = 0; i < n; ++i) {
    const size_t k = i * p % n;
    Recipient r;
    r.email = "customer" + std::to_string(k) + "@example" + std::to_string(k % 97) + ".com";
    r.key = r.email;
    r.line = i + 2;
    r.fields = {{"first_name", "Name" + std::to_string(i)}, {"tier", "gold"}};
    rows.push_back(std::move(r));
    if (rows.size() == 1000 || i + 1 == n) {
      if (auto a = s.AddRecipients(rows); !a.ok()) return Fail(a.status());
      rows.clear();
    }
  }
  if (Status e = s.EndImport(); !e.ok()) return Fail(e);
  double t1 = Now();

  auto outcomes = [&clock](const std::vector<StoredRecipient>& leased) {
    std::vector<Transition> ts;
    ts.reserve(leased.size());
    for (const auto& r : leased) {
      Transition t;
      t.id = r.id;
      t.state = DeliveryState::kSent;
      // As the engine makes them: a hash of (campaign, recipient), so in no order.
      t.message_id = "<" + Sha256Hex("bench\n" + r.recipient.key).substr(0, 32) +
                     ".bench@example.com>";
      t.detail = "250 2.0.0 Ok: queued as 4Xyz";
      t.attempted = true;
      t.has_audit = true;
      t.audit.recipient = r.recipient.email;
      t.audit.message_id = t.message_id;
      t.audit.sha256 = Sha256Hex(t.message_id);
      t.audit.at = clock.NowUnix();
      t.audit.outcome = "sent";
      t.audit.detail = t.detail;
      t.audit.found = {r.recipient.email};
      ts.push_back(std::move(t));
    }
    return ts;
  };
  uint64_t done = 0;
  double lease_s = 0, record_s = 0;
  if (!combined) {
    for (;;) {
      double a = Now();
      auto leased = s.Lease(batch, true);
      if (!leased.ok()) return Fail(leased.status());
      lease_s += Now() - a;
      if (leased->empty()) break;
      std::vector<Transition> ts = outcomes(*leased);
      double b = Now();
      if (Status st = s.Record(ts); !st.ok()) return Fail(st);
      record_s += Now() - b;
      done += leased->size();
    }
  } else {
    // As the engine's loop: when a batch is leased, three more still hold
    // their leases (one being composed, one at the transport, and the one
    // whose outcomes go into this commit).
    constexpr size_t kInFlight = 3;
    std::deque<std::vector<StoredRecipient>> flight;  // leased, outcomes not yet recorded
    bool drained = false;                             // a lease found nothing due
    for (;;) {
      std::vector<Transition> ts;
      if (flight.size() == kInFlight || (drained && !flight.empty())) {
        ts = outcomes(flight.front());
        done += flight.front().size();
        flight.pop_front();
      }
      if (drained) {
        if (ts.empty()) break;
        if (Status st = s.Record(ts); !st.ok()) return Fail(st);
        continue;
      }
      auto leased = s.LeaseAndRecord(batch, true, ts);
      if (!leased.ok()) return Fail(leased.status());
      if (leased->empty()) {
        drained = true;
      } else {
        flight.push_back(std::move(*leased));
      }
    }
  }
  double t2 = Now();
  auto counts = s.Counts();
  if (!counts.ok()) return Fail(counts.status());
  uintmax_t bytes = std::filesystem::file_size(path);
  if (!combined) {
    std::printf("| stage (SQLite, WAL, batch %zu)         | recipients | seconds | per second |\n",
                batch);
    std::printf("|---|---:|---:|---:|\n");
    std::printf("| import (AddRecipients, 1000 a call)   | %10zu | %7.2f | %10.0f |\n", n, t1 - t0,
                n / (t1 - t0));
    std::printf("| lease (fsynced commit per batch)      | %10llu | %7.2f | %10.0f |\n",
                static_cast<unsigned long long>(done), lease_s, done / lease_s);
    std::printf("| record outcome + audit row (1 commit) | %10llu | %7.2f | %10.0f |\n",
                static_cast<unsigned long long>(done), record_s, done / record_s);
    std::printf("| **state transitions** (lease + record)| %10llu | %7.2f | **%.0f** |\n",
                static_cast<unsigned long long>(2 * done), t2 - t1, 2 * done / (t2 - t1));
  } else {
    std::printf("| **send loop**: next lease + outcomes, 1 fsynced commit per batch | %10llu | "
                "%7.2f | **%.0f** |\n",
                static_cast<unsigned long long>(2 * done), t2 - t1, 2 * done / (t2 - t1));
    std::printf("\nsent %llu of %zu; state file %.1f MiB; peak RSS %.1f MiB; target >= 100,000 "
                "transitions/s\n",
                static_cast<unsigned long long>(counts->sent), n, bytes / 1048576.0,
                PeakRssKiB() / 1024.0);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  return counts->sent == n ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000000;
  const size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 256;
  std::string dir = argc > 3 ? argv[3] : std::filesystem::temp_directory_path().string();
  std::string path = dir + "/sm_store_bench_" + std::to_string(::getpid()) + ".db";
  if (int rc = RunOnce(path, n, batch, /*combined=*/false); rc != 0) return rc;
  return RunOnce(path, n, batch, /*combined=*/true);
}
