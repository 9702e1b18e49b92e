// Leak-guard micro-benchmarks (issue #5 targets: a 1,000,000-recipient
// audience in < 100 MB; a 20 KB message checked in < 20 µs on one core).
// Run: make bench (or build-bench/bench/guard_bench). Noise-free comparison
// (instructions of one Check; the total divided by Check's call count):
//   valgrind --tool=callgrind '--toggle-collect=sealmail::Guard::Check*'
//     BUILD/bench/guard_bench '--benchmark_filter=BM_GuardCheck/20000/1000$'
//     --benchmark_min_time=0.02
#include <benchmark/benchmark.h>

#include <string>

#include "address/address.h"
#include "guard/guard.h"
#include "mime/mime_builder.h"

namespace sealmail {
namespace {

std::shared_ptr<AudienceSet> MakeAudience(size_t n) {
  auto set = std::make_shared<AudienceSet>();
  Address a;
  for (size_t i = 0; i < n; ++i) {
    a.local = "customer" + std::to_string(i);
    a.domain = "example" + std::to_string(i % 97) + ".com";
    a.domain_unicode = a.domain;
    set->Add(a);
  }
  return set;
}

// A realistic ~20 KB announcement: text + html, some links, the recipient's
// own address twice, the support address.
std::string MakeMessage(size_t approx_bytes) {
  Mailbox from;
  from.display_name = "Example Exchange";
  from.address.local = "support";
  from.address.domain = "example.com";
  std::string para =
      "The EX-50 index changes its weighting rules on 1 December 2026. Nothing changes in "
      "your account unless you hold positions in it. Questions: support@example.com. ";
  std::string text, html;
  while (text.size() < approx_bytes / 2) {
    text += para + "\n";
    html += "<p>" + para + "<a href=\"https://example.com/notice?id=42&amp;u=1\">more</a></p>\n";
  }
  text += "This message was sent to customer7@example7.com.\n";
  MessageFields f;
  f.from = &from;
  f.to = "customer7@example7.com";
  f.subject = "Changes to the EX-50 index — Jürgen";
  f.text = text;
  f.html = html;
  f.message_id = "<0123456789abcdef0123456789abcdef.c@example.com>";
  f.unsubscribe_mailto = "unsubscribe@example.com";
  f.unsubscribe_url = "https://example.com/u?e=customer7%40example7.com";
  return BuildMessage(f);
}

void BM_GuardCheck(benchmark::State& state) {
  auto audience = MakeAudience(static_cast<size_t>(state.range(1)));
  Guard guard({"support@example.com", "unsubscribe@example.com"}, audience);
  std::string msg = MakeMessage(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto got = guard.Check(msg, "support@example.com", {"customer7@example7.com"},
                           "customer7@example7.com", "<m@x>", nullptr);
    if (!got.ok()) state.SkipWithError(got.status().message().c_str());
    benchmark::DoNotOptimize(got);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * msg.size()));
  state.counters["msg_bytes"] = static_cast<double>(msg.size());
}
// 20000 gives a 26.6 KB message (the HTML part is larger than the text);
// 15000 gives 20.0 KB, the size of the issue #5 target.
BENCHMARK(BM_GuardCheck)
    ->Args({20000, 1000})
    ->Args({20000, 1000000})
    ->Args({15000, 1000})
    ->Args({15000, 1000000})
    ->Args({3000, 1000000});

void BM_AudienceSetBuild(benchmark::State& state) {
  for (auto _ : state) {
    auto set = MakeAudience(static_cast<size_t>(state.range(0)));
    state.counters["MB"] = static_cast<double>(set->memory_bytes()) / 1e6;
    benchmark::DoNotOptimize(set);
  }
}
BENCHMARK(BM_AudienceSetBuild)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace sealmail

BENCHMARK_MAIN();
