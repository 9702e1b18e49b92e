#!/usr/bin/env bash
# `sealmail scope` over a generated mbox (default ~1024 MB): prints MB/s on
# one core and peak RSS. A benchmark, not a test: nothing is asserted.
#
# Usage: bench/scope_bench.sh [MB]
#   BUILD_DIR  build directory to use or create (default: build-bench), built
#              RelWithDebInfo, the project's default optimised build
#   JOBS       parallel build jobs (default: 1)
#   SEALMAIL   an already built sealmail binary to measure instead (no build)
#   MBOX       an mbox generated earlier by this script to reuse (no generation)
#
# Prints wall time and CPU time (user + sys): on a shared machine the CPU
# time is the steadier figure.
#
# The archive mixes what a sender's "Sent" folder holds: mostly one-recipient
# multipart/alternative messages (quoted-printable text, base64 HTML), one in
# 200 an incident-style batch with 1,000 visible To: recipients, one in 50 a
# base64 attachment; 200,000 distinct customers. It lives in a temporary
# directory that is removed afterwards.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mb=${1:-1024}
build=${BUILD_DIR:-$root/build-bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bin=${SEALMAIL:-}
if [ -z "$bin" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEALMAIL_TESTS=OFF >/dev/null
  cmake --build "$build" --target sealmail -j"${JOBS:-1}" >/dev/null
  bin=$build/src/cli/sealmail
fi

mbox=${MBOX:-$work/sent.mbox}
[ -n "${MBOX:-}" ] || python3 - "$work/sent.mbox" "$mb" <<'PY'
import base64, random, sys
path, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(8)
N = 200000
def cust(i): return f"customer{i:06d}@{['gmail.com','example.net','mail.example','web.example'][i % 4]}"
words = ("the index changes next month and your account keeps every balance; nothing for you "
         "to do, but read the terms at https://exchange.example/terms?utm_source=mail&amp;x=1 ").split()
def para(n): return " ".join(rnd.choice(words) for _ in range(n))
text = "\n".join(para(12) for _ in range(40))
html = "<html><body>" + "".join(f"<p>{para(14)}</p>\n" for _ in range(40)) + "</body></html>"
html_b64 = base64.encodebytes(html.encode()).decode()
attach = base64.encodebytes(bytes(rnd.getrandbits(8) for _ in range(60000))).decode()
limit = mb << 20
size, i = 0, 0
with open(path, "w") as f:
    while size < limit:
        i += 1
        if i % 200 == 0:
            start = rnd.randrange(N - 1000)
            to = "To: " + ",\n ".join(cust(k) for k in range(start, start + 1000)) + "\n"
        else:
            to = f"To: \"Customer {i}\" <{cust(rnd.randrange(N))}>\n"
        parts = [f"--b{i}\nContent-Type: text/plain; charset=utf-8\n"
                 f"Content-Transfer-Encoding: quoted-printable\n\n{text}\n",
                 f"--b{i}\nContent-Type: text/html; charset=utf-8\n"
                 f"Content-Transfer-Encoding: base64\n\n{html_b64}"]
        if i % 50 == 0:
            parts.append(f"--b{i}\nContent-Type: application/pdf; name=\"statement.pdf\"\n"
                         f"Content-Transfer-Encoding: base64\n\n{attach}")
        m = (f"From support@exchange.example Tue Jan  1 10:00:00 2019\n"
             f"Return-Path: <bounces@exchange.example>\n"
             f"Received: from mailer.exchange.example by mx.example.net; Tue, 1 Jan 2019 10:00:00 +0000\n"
             f"From: Example Exchange <support@exchange.example>\n{to}"
             f"Subject: Index change {i}\nDate: Tue, 1 Jan 2019 10:00:00 +0000\n"
             f"Message-ID: <{i}.bench@mailer.exchange.example>\nMIME-Version: 1.0\n"
             f"Content-Type: multipart/alternative; boundary=\"b{i}\"\n\n"
             + "".join(parts) + f"--b{i}--\n\n")
        f.write(m)
        size += len(m)
print(f"generated {size / 1048576:.0f} MiB, {i} messages", file=sys.stderr)
PY

bytes=$(stat -c %s "$mbox")
for mode in "" "--audience"; do
  extra=()
  label="no audience"
  if [ -n "$mode" ]; then
    python3 -c "
import sys
print('email')
for i in range(200000): print(f\"customer{i:06d}@{['gmail.com','example.net','mail.example','web.example'][i % 4]}\")
" >"$work/audience.csv"
    extra=(--audience "$work/audience.csv")
    label="--audience (200,000 customers)"
  fi
  # One core: taskset when available.
  pin=()
  command -v taskset >/dev/null && pin=(taskset -c 0)
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "${pin[@]}" "$bin" scope \
    "$mbox" "${extra[@]}" --out "$work/exposed.csv" >"$work/report"
  read -r secs user sys kb <"$work/time"
  grep -E "^(messages|exposure)" "$work/report" | sed 's/^/  /'
  awk -v b="$bytes" -v s="$secs" -v u="$user" -v y="$sys" -v kb="$kb" -v l="$label" 'BEGIN {
    c = u + y
    printf "scope %s: %.0f MB in %.2f s = %.0f MB/s (CPU %.2f s = %.0f MB/s), peak RSS %.0f MB\n",
      l, b / 1e6, s, b / 1e6 / s, c, b / 1e6 / c, kb / 1024 }'
done
