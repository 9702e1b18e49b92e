#!/usr/bin/env bash
# `sealmail check` over a generated campaign of N recipients (default 100,000)
# with the example's templates (text + html, non-ASCII names): prints wall
# time, messages/s and peak RSS. A benchmark, not a test: nothing is asserted.
#
# Usage: bench/check_bench.sh [BUILD_DIR] [N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
n=${2:-100000}
bin=$build/src/cli/sealmail
[ -x "$bin" ] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/announce" "$work/c"
rm -rf "$work/c/.sealmail" "$work/c/out"
/usr/bin/python3 - "$work/c/audience.csv" "$n" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
first = ["Jürgen", "Zoë", "Łukasz", "Ömer", "Αικατερίνη", "美咲", "Nguyễn", "Anne-Marie", "José", "Ана"]
last = ["Müller", "Ødegård", "Kowalski", "Şahin", "Παπαδοπούλου", "佐藤", "Trần", "O'Brien", "García", "Иванова"]
with open(path, "w", encoding="utf-8") as f:
    f.write("email,first_name,last_name,tier\n")
    for i in range(n):
        f.write(f"customer{i}@example{i % 97}.com,{first[i % 10]},\"{last[(i // 10) % 10]}\",gold\n")
PY
measure() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %M" "$@" >/dev/null 2>"$work/time" || true
    tail -1 "$work/time"
  else
    /usr/bin/python3 -c '
import resource, subprocess, sys, time
t = time.time(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(f"{time.time() - t:.2f} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")' "$@"
  fi
}
read -r secs kb < <(measure "$bin" check "$work/c" --json)
printf "%-28s %10s %12s %14s\n" "benchmark" "N" "seconds" "peak RSS MiB"
printf "%-28s %10d %12.2f %14.1f\n" "sealmail check (text+html)" "$n" "$secs" "$(echo "$kb / 1024" | bc -l)"
printf "%-28s %10s %12.0f\n" "  messages/s" "" "$(echo "$n / $secs" | bc -l)"
