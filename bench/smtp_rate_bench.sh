#!/usr/bin/env bash
# Real-time check of the SMTP transport's shaping (issue 6): `sealmail send`
# to Postfix's smtp-sink on 127.0.0.1 for about 30 s with rate = 200 and a
# per-domain limit (limited.example: rate = 25, concurrency = 2). Prints the
# measured rates (from the times smtp-sink wrote each message) next to the
# configured ones. A benchmark, not a test: nothing fails on a slow machine
# (a machine that cannot reach 200 messages/s shows a lower global rate).
# The same limits are asserted on fake time in
# src/transport/transport_smtp_test.cc.
#
# Usage: bench/smtp_rate_bench.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
secs=${2:-30}
bin=$build/src/cli/sealmail
sink=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)
[ -x "$bin" ] || { echo "build first: $bin" >&2; exit 1; }
[ -x "$sink" ] || { echo "smtp-sink not found (Debian package postfix)" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
sink_pid=""
cleanup() {
  if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/dump" && chmod 777 "$work/dump"
user=(); [ "$(id -u)" -eq 0 ] && user=(-u nobody)
"$sink" "${user[@]}" -d "$work/dump/%M." "127.0.0.1:$port" 256 >/dev/null 2>&1 &
sink_pid=$!
for _ in $(seq 100); do
  /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.2)" 2>/dev/null && break
  sleep 0.05
done
# rate*secs messages overall, limited.example's share sized to last as long.
/usr/bin/python3 - "$work/c" "$port" "$secs" <<'PY'
import os, sys
path, port, secs = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(path)
with open(os.path.join(path, "campaign.toml"), "w") as f:
    f.write(f'''name = "rate-bench"
[message]
from = "Bench <news@example.com>"
subject = "Hello {{{{first_name}}}}"
text = "body.txt"
[audience]
csv = "audience.csv"
[transport]
url = "smtp://127.0.0.1:{port}"
concurrency = 8
rate = 200
[transport.domains."limited.example"]
rate = 25
concurrency = 2
''')
with open(os.path.join(path, "body.txt"), "w") as f:
    f.write("Dear {{first_name}},\n\na short line.\n")
limited, total = 25 * secs, 200 * secs
with open(os.path.join(path, "audience.csv"), "w") as f:
    f.write("email,first_name\n")
    for i in range(total):
        d = "limited.example" if i % (total // limited) == 0 and i // (total // limited) < limited \
            else f"d{i % 7}.example"
        f.write(f"user{i}@{d},N{i}\n")
PY
start=$(date +%s.%N)
"$bin" send "$work/c" --quiet || echo "sealmail send exited $?"
end=$(date +%s.%N)
/usr/bin/python3 - "$work/dump" "$start" "$end" <<'PY'
import collections, os, sys
dump, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
times = collections.defaultdict(list)
for name in os.listdir(dump):
    p = os.path.join(dump, name)
    with open(p, "rb") as f:
        head = f.read(4096).decode("utf-8", "replace")
    rcpt = [l for l in head.split("\n") if l.startswith("X-Rcpt-Args:")][0]
    dom = rcpt.split("@")[1].split(">")[0]
    key = "limited.example" if dom == "limited.example" else "others"
    times[key].append(os.stat(p).st_mtime)
    times["all"].append(os.stat(p).st_mtime)
print(f"sealmail send wall time: {end - start:.1f}s")
print(f"{'destination':18} {'messages':>8} {'span s':>7} {'measured/s':>11} {'configured/s':>13} {'diff':>7}")
for key, conf in (("all", 200.0), ("limited.example", 25.0), ("others", None)):
    t = sorted(times[key])
    if len(t) < 2:
        print(f"{key:18} {len(t):8}")
        continue
    # The first second's burst (one second's worth of tokens) is excluded:
    # the rate is (messages after the first second's) / (time after it).
    burst = int(conf) if conf else 0
    span = t[-1] - t[0]
    rate = (len(t) - burst) / span if span > 0 else float("inf")
    if conf:
        print(f"{key:18} {len(t):8} {span:7.2f} {rate:11.2f} {conf:13.2f} {100 * (rate - conf) / conf:+6.1f}%")
    else:
        print(f"{key:18} {len(t):8} {span:7.2f} {len(t) / span:11.2f} {'(shared)':>13}")
PY
