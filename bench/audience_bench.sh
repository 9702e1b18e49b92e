#!/usr/bin/env bash
# Reads a generated audience (default 1,000,000 rows) through AudienceReader
# and prints the wall time and peak RSS of the read. A benchmark, not a test:
# nothing is asserted, and the numbers depend on the machine.
#
# Usage: bench/audience_bench.sh [ROWS]
#   BUILD_DIR  build directory to use or create (default: build-bench), built
#              RelWithDebInfo, the project's default optimised build
#   JOBS       parallel build jobs (default: 1)
#
# The CSV (UTF-8 names, quoted fields with commas, 1 in 1000 rows a duplicate
# in another case, 1 in 1000 an invalid address) and a small driver program
# live in a temporary directory that is removed afterwards.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rows=${1:-1000000}
build=${BUILD_DIR:-$root/build-bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALMAIL_TESTS=OFF >/dev/null
cmake --build "$build" --target sm_audience -j"${JOBS:-1}" >/dev/null

cat >"$work/driver.cc" <<'EOF'
#include <chrono>
#include <cstdio>

#include "audience/audience_reader.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  auto t0 = std::chrono::steady_clock::now();
  auto r = sealmail::AudienceReader::Open(argv[1]);
  if (!r.ok()) {
    std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    return 1;
  }
  sealmail::Recipient rec;
  for (;;) {
    auto more = (*r)->Next(&rec);
    if (!more.ok()) {
      std::fprintf(stderr, "%s\n", more.status().ToString().c_str());
      return 1;
    }
    if (!*more) break;
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto& m = (*r)->summary();
  std::printf("rows=%llu accepted=%llu invalid=%llu duplicates=%llu\nread: %.3f s, %.0f rows/s\n",
              static_cast<unsigned long long>(m.rows), static_cast<unsigned long long>(m.accepted),
              static_cast<unsigned long long>(m.invalid),
              static_cast<unsigned long long>(m.duplicates), s, m.rows / s);
}
EOF
src="$build/src"
c++ -std=c++20 -O2 -I"$root/src" "$work/driver.cc" "$src/audience/libsm_audience.a" \
  "$src/address/libsm_address.a" "$src/model/libsm_model.a" "$src/base/libsm_base.a" \
  -lcsv -lidn2 -lcrypto -o "$work/driver"

awk -v n="$rows" 'BEGIN {
  split("Jürgen Hélène Łukasz Çağla 陽菜 伟 محمد Γιώργος Hương Oliver", first, " ");
  split("Müller Lefèvre Wiśniewski Yılmaz 佐藤 王 العلي Παπαδόπουλος Nguyễn O\x27Brien", last, " ");
  split("example.com example.net example.org bücher.example", dom, " ");
  print "email,first_name,last_name,tier";
  for (i = 0; i < n; i++) {
    k = i % 10;
    if (i % 1000 == 500) { printf "user%d@@example.com,Bad,Row,free\n", i; continue }
    if (i % 1000 == 999) { printf "USER%d@%s,\"Dup, Again\",Row,free\n", i - 1, toupper(dom[(i - 1) % 4 + 1]); continue }
    printf "user%d@%s,%s,\"%s, Jr.\",%s\n", i, dom[i % 4 + 1], first[k + 1], last[k + 1], (i % 7 ? "free" : "pro");
  }
}' >"$work/audience.csv"
echo "audience: $rows rows, $(du -h "$work/audience.csv" | cut -f1)"

if /usr/bin/time -v true >/dev/null 2>&1; then
  /usr/bin/time -v "$work/driver" "$work/audience.csv" 2>"$work/time.txt"
  grep -E 'Elapsed \(wall clock\)|Maximum resident set size' "$work/time.txt" | sed 's/^[[:space:]]*//'
else
  python3 - "$work/driver" "$work/audience.csv" <<'EOF'
import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], check=True)
print(f"wall: {time.monotonic() - t:.3f} s")
print(f"peak RSS: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} kB")
EOF
fi
