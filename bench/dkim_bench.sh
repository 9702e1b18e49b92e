#!/usr/bin/env bash
# DKIM signatures per second on one core, for rsa-sha256 (2048-bit) and
# ed25519-sha256, next to `openssl speed` on the same machine in the same run.
# "raw" is the bare signature: by OpenSSL with a fresh context per message, and
# for Ed25519 also by libsodium through DkimSigner's own call, with the key
# expanded once a thread as DkimSigner keeps it (2.3-2.4x OpenSSL here); "DKIM" is DkimSigner::Sign on a real message (the
# example campaign's, via `sealmail preview`): body canonicalisation and hash,
# header selection and canonicalisation, folding, base64. The overhead column
# is what DKIM costs beyond the raw signature (goal: under 10%).
# A benchmark, not a test: nothing is asserted.
#
# Usage: bench/dkim_bench.sh DKIM_BENCH_BINARY [SEALMAIL_BINARY]
#   (bench/run builds build-bench/bench/dkim_bench with -DSEALMAIL_BENCH=ON)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:?path to the dkim_bench binary}
sealmail=${2:-$root/build/src/cli/sealmail}
[ -x "$bin" ] || { echo "no $bin: configure with -DSEALMAIL_BENCH=ON and build dkim_bench" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
msg=()
if [ -x "$sealmail" ]; then
  to=$(sed -n 2p "$root/examples/announce/audience.csv" | cut -d, -f1)
  if "$sealmail" preview "$root/examples/announce" --to "$to" >"$work/m.eml" 2>/dev/null; then
    msg=(--message="$work/m.eml")
  fi
fi
openssl speed -seconds 3 rsa2048 ed25519 >"$work/speed.txt" 2>/dev/null
"$bin" "${msg[@]}" --benchmark_format=json --benchmark_report_aggregates_only=true \
  >"$work/bench.json" 2>/dev/null
/usr/bin/python3 - "$work/speed.txt" "$work/bench.json" <<'PY'
import json, re, sys
speed = open(sys.argv[1]).read()
def openssl_rate(pattern):
    for line in speed.splitlines():
        if re.search(pattern, line):
            nums = re.findall(r"[\d.]+", line.split("bits", 1)[1] if "bits" in line else line)
            return float(nums[-2])
    return float("nan")
rates = {"rsa2048": openssl_rate(r"^rsa\s+2048 bits"), "ed25519": openssl_rate(r"\(Ed25519\)")}
b = {}
for x in json.load(open(sys.argv[2]))["benchmarks"]:
    if x.get("aggregate_name", "median") == "median":
        b[x["run_name"].split("/")[0]] = x
def per_s(name):  # median of the repetitions, CPU time
    scale = {"ns": 1e9, "us": 1e6, "ms": 1e3}[b[name]["time_unit"]]
    return scale / b[name]["cpu_time"]
size = int(b["BM_DkimSign_ed25519"].get("message_bytes", 0))
print(f"one core; message {size} bytes; medians of 5 runs, CPU time; sealmail signs RSA with")
print("OpenSSL and Ed25519 with libsodium: 'signer' is that raw signature, 'overhead' what DKIM")
print("costs beyond it")
print(f"{'algorithm':<10} {'openssl speed':>14} {'raw openssl/s':>14} {'raw signer/s':>13} "
      f"{'DKIM sign/s':>12} {'overhead':>9}")
for alg, signer in (("rsa2048", "BM_RawSign_rsa2048"), ("ed25519", "BM_RawSign_ed25519_sodium")):
    raw, own, dk = per_s(f"BM_RawSign_{alg}"), per_s(signer), per_s(f"BM_DkimSign_{alg}")
    print(f"{alg:<10} {rates[alg]:>14.1f} {raw:>14.1f} {own:>13.1f} {dk:>12.1f} "
          f"{100 * (own / dk - 1):>8.1f}%")
two = [x for x in json.load(open(sys.argv[2]))["benchmarks"]
       if x["run_name"].startswith("BM_RawSign_ed25519_sodium_2cores")]
if two:
    print(f"libsodium ed25519, 2 threads at once: {two[0]['items_per_second']:.1f} sign/s")
PY
