#!/usr/bin/env python3
"""End-to-end throughput (issue #9): `sealmail send` of N recipients to
Postfix's smtp-sink on 127.0.0.1, next to the peer (nodemailer's pooled
transport, same sink, same message shapes, same connections) and the
machine's limits measured in the same run, each right before the run it
limits (smtp-source against the same sink; `openssl speed -multi 2` for the
signatures, and for Ed25519 also libsodium, which sealmail signs with, by
bench/dkim_bench with 2 threads). Medians of --runs runs, ratios as medians of per-run ratios.
Prints a Markdown table. A benchmark, not a test: nothing fails on a slow
machine. Network: 127.0.0.1 only.

Usage: bench/e2e_bench.py [--build DIR] [--n N] [--runs R] [--quick]
nodemailer is installed into bench/node_modules from npm on first use."""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
CONNS = 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"smtp-sink did not listen on {port}")


class Sink:
    def __enter__(self):
        self.port = free_port()
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.p = subprocess.Popen([SINK, *user, f"127.0.0.1:{self.port}", "1024"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def __exit__(self, *exc):
        self.p.terminate()
        self.p.wait(timeout=10)


def timed(argv, env=None):
    """(seconds, peak RSS MiB, stdout, CPU seconds: user + system) of one command."""
    t = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *argv], capture_output=True,
                       text=True, env=env)
    dt = time.monotonic() - t
    rss, cpu = 0, 0.0
    if p.stderr.strip():
        kib, user, system = p.stderr.strip().splitlines()[-1].split()
        rss, cpu = int(kib) / 1024, float(user) + float(system)
    return dt, rss, p, cpu


def templates(work, size):
    text = ("Dear {{first_name}},\n\nWe are changing how your account works on 1 December. "
            "Nothing changes for you unless you trade derivatives; if you do, please read the "
            "new terms at https://example.com/terms before then.\n\n") * 4 + \
        "This message was sent to {{email}}.\nThe Example team\n"
    para = ("<p>We are changing how your account works on <b>1 December</b>. Nothing changes "
            "for you unless you trade derivatives; if you do, please read the "
            "<a href=\"https://example.com/terms\">new terms</a> before then.</p>\n")
    reps = 4 if size == "3KB" else 330
    html = ("<html><body><p>Dear {{first_name}},</p>\n" + para * reps +
            "<p>This message was sent to {{email}}.</p></body></html>\n")
    for name, body in (("body.txt", text), ("body.html", html)):
        with open(os.path.join(work, f"{size}-{name}"), "w") as f:
            f.write(body)


def audience(path, n):
    # Addresses in random key order, as a real audience is (sorted by sign-up,
    # not by address): customer{k} for k a permutation of 0..n-1 (k = i * p
    # mod n, p a prime that does not divide n). Writing customer{i} in order
    # flattered the import: consecutive keys land on the same index pages.
    p = 7919 if n % 7919 else 7927
    with open(path, "w") as f:
        f.write("email,first_name\n")
        for i in range(n):
            k = i * p % n
            f.write(f"customer{k}@example{k % 97}.com,Name{k}\n")


def campaign(work, name, size, port, dkim, n, url=None):
    d = os.path.join(work, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for b in ("body.txt", "body.html"):
        shutil.copy(os.path.join(work, f"{size}-{b}"), os.path.join(d, b))
    os.link(os.path.join(work, f"audience-{n}.csv"), os.path.join(d, "audience.csv"))
    toml = (f'name = "{name}"\n[message]\nfrom = "Example <news@example.com>"\n'
            'subject = "Changes to your account, {{first_name}}"\ntext = "body.txt"\n'
            'html = "body.html"\n[audience]\ncsv = "audience.csv"\n[transport]\n'
            f'url = "{url or f"smtp://127.0.0.1:{port}"}"\nconcurrency = {CONNS}\n')
    if dkim:
        toml += (f'[dkim]\ndomain = "example.com"\nselector = "bench"\n'
                 f'key = "{os.path.join(work, dkim + ".pem")}"\n'
                 f'algorithm = "{"rsa-sha256" if dkim == "rsa" else "ed25519-sha256"}"\n')
    with open(os.path.join(d, "campaign.toml"), "w") as f:
        f.write(toml)
    return d


def sealmail_once(a, work, size, dkim, n, r):
    """msg/s and peak RSS of one `sealmail send` to a fresh sink."""
    with Sink() as sink:
        d = campaign(work, f"s-{size}-{dkim or 'none'}-{r}", size, sink.port, dkim, n)
        dt, rss, p, cpu = timed([a.sealmail, "send", d, "--quiet", "--json"])
    if p.returncode != 0:
        sys.exit(f"sealmail send failed ({p.returncode}): {p.stdout[-2000:]}{p.stderr[-2000:]}")
    shutil.rmtree(d)
    sent = json.loads(p.stdout)["sent"]
    return sent / dt, rss, 1e6 * cpu / max(sent, 1)


def engine_once(a, work, size, dkim, n, r):
    """The same path into the discard: transport: sealmail's own ceiling."""
    d = campaign(work, f"e-{size}-{dkim or 'none'}-{n}-{r}", size, 0, dkim, n, url="discard:")
    dt, rss, p, cpu = timed([a.sealmail, "send", d, "--quiet", "--json"])
    if p.returncode != 0:
        sys.exit(f"sealmail send (discard) failed: {p.stdout[-2000:]}{p.stderr[-2000:]}")
    shutil.rmtree(d)
    j = json.loads(p.stdout)
    return j["sent"] / dt, rss, j["stages"], 1e6 * cpu / max(j["sent"], 1)


def nodemailer_once(a, work, size, dkim, n):
    if not os.path.isdir(os.path.join(HERE, "node_modules", "nodemailer")):
        subprocess.run(["npm", "install", "--prefix", HERE, "--no-save", "--no-package-lock",
                        "--no-audit", "--no-fund",
                        "--silent", "nodemailer@6"], check=True, timeout=600)
    csv = os.path.join(work, f"audience-{n}.csv")
    if not os.path.exists(csv):
        audience(csv, n)
    with Sink() as sink:
        argv = ["node", os.path.join(HERE, "nodemailer_send.js"), str(sink.port), csv,
                os.path.join(work, f"{size}-body.txt"), os.path.join(work, f"{size}-body.html"),
                str(CONNS)]
        if dkim:
            argv.append(os.path.join(work, "rsa.pem"))
        # Nagle off on nodemailer's sockets: with its defaults every message waits
        # out a delayed ACK on loopback (~175/s here), which would flatter us.
        dt, _, p, _ = timed(argv, env=dict(os.environ, NODELAY="1"))
    got = json.loads(p.stdout.strip().splitlines()[-1])
    return got["sent"] / dt


def source_once(size_bytes, n):
    """The sink's own ceiling: Postfix's smtp-source, same connections."""
    with Sink() as sink:
        dt, _, p, _ = timed([SOURCE, "-d", "-s", str(CONNS), "-l", str(size_bytes), "-N",
                          "-m", str(n), f"127.0.0.1:{sink.port}"])
    return n / dt


def openssl_once(alg):
    """2-core sign/s of `openssl speed` for rsa2048 or ed25519."""
    p = subprocess.run(["openssl", "speed", "-multi", "2", "-seconds", "2", alg],
                       capture_output=True, text=True)
    if alg == "rsa2048":
        m = re.search(r"^rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)", p.stdout, re.M)
    else:
        m = re.search(r"^\s*253 bits EdDSA \(Ed25519\)\s+\S+s\s+\S+s\s+([\d.]+)", p.stdout, re.M)
    return float(m.group(1)) if m else 0.0


def dkim_bench_path(a):
    for d in (os.path.join(a.build, "bench"), os.path.join(ROOT, "build-bench", "bench")):
        if os.access(os.path.join(d, "dkim_bench"), os.X_OK):
            return os.path.join(d, "dkim_bench")
    return None


def sodium_once(a):
    """2-thread sign/s of libsodium's Ed25519 (sealmail's signer) by
    bench/dkim_bench, beside `openssl speed -multi 2`; None without it."""
    b = dkim_bench_path(a)
    if b is None:
        return None
    p = subprocess.run([b, "--benchmark_filter=BM_RawSign_ed25519_sodium_2cores",
                        "--benchmark_format=json"],
                       capture_output=True, text=True)
    try:
        return json.loads(p.stdout)["benchmarks"][0]["items_per_second"]
    except (ValueError, KeyError, IndexError):
        return None


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--nodemailer-dkim-n", type=int, default=10000,
                    help="recipients for nodemailer with DKIM (about 500/s: keep it short)")
    ap.add_argument("--scale", default="10000,100000,1000000",
                    help="N values for the engine-alone scale rows (comma-separated, '' for none)")
    ap.add_argument("--quick", action="store_true", help="one run, N=10,000")
    a = ap.parse_args()
    if a.quick:
        a.n, a.runs, a.nodemailer_dkim_n, a.scale = 10000, 1, 2000, "10000"
    a.scale = [int(x) for x in a.scale.split(",") if x.strip()]
    a.sealmail = os.path.join(a.build, "src", "cli", "sealmail")
    if not os.access(a.sealmail, os.X_OK):
        sys.exit(f"build first: {a.sealmail}")
    work = tempfile.mkdtemp(prefix="sm_e2e_")
    os.chmod(work, 0o755)
    try:
        for size in ("3KB", "100KB"):
            templates(work, size)
        n_large = max(a.n // 10, 1000)
        for n in (a.n, n_large):
            audience(os.path.join(work, f"audience-{n}.csv"), n)
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", os.path.join(work, "rsa.pem")],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out",
                        os.path.join(work, "ed25519.pem")], check=True, capture_output=True)
        # The machine is shared and its speed drifts between minutes, so each
        # run measures its limit right before it: every ratio below is the
        # median of per-run ratios, each against a limit taken beside it.
        limits = {
            "3KB": (lambda: source_once(3000, a.n), "smtp-source 3 KB"),
            "100KB": (lambda: source_once(100000, n_large), "smtp-source 100 KB"),
            "rsa": (lambda: openssl_once("rsa2048"), "openssl rsa2048 sign ×2 cores"),
            "ed25519": (lambda: openssl_once("ed25519"), "openssl ed25519 sign ×2 cores"),
        }
        rows = []
        for size, dkim in (("3KB", None), ("3KB", "rsa"), ("3KB", "ed25519"), ("100KB", None)):
            n = a.n if size == "3KB" else n_large
            limit_fn, limit_name = limits[dkim or size]
            rates, rsss, lims, pcts, peers, xs, cpus = [], [], [], [], [], [], []
            for r in range(a.runs):
                lim = limit_fn()
                rate, rss, cpu = sealmail_once(a, work, size, dkim, n, r)
                cpus.append(cpu)
                peer = None
                if dkim != "ed25519":  # nodemailer has no Ed25519
                    peer = nodemailer_once(a, work, size, dkim,
                                           a.nodemailer_dkim_n if dkim else n)
                rates.append(rate)
                rsss.append(rss)
                lims.append(lim)
                pcts.append(100 * rate / lim if lim else None)
                peers.append(peer)
                xs.append(rate / peer if peer else None)
            rows.append((size, dkim or "none", n, median(rates), max(rsss), median(cpus),
                         median(peers), median(xs), median(lims), median(pcts), limit_name))
        engine_rows = []
        for dkim in (None, "ed25519", "rsa"):
            rates, rsss, pcts, lims, stages, cpus, signers = [], [], [], [], [], [], []
            for r in range(a.runs):
                lim = limits[dkim][0]() if dkim else 60000
                # sealmail signs Ed25519 with libsodium, RSA with OpenSSL
                signers.append(sodium_once(a) if dkim == "ed25519" else lim)
                rate, rss, st, cpu = engine_once(a, work, "3KB", dkim, a.n, r)
                cpus.append(cpu)
                rates.append(rate)
                rsss.append(rss)
                lims.append(lim)
                pcts.append(100 * rate / lim if lim else None)
                stages.append(st)
            name = limits[dkim][1] if dkim else "issue target 60,000/s"
            mid = sorted(range(len(rates)), key=lambda i: rates[i])[len(rates) // 2]
            engine_rows.append((dkim or "none", median(rates), max(rsss), median(cpus),
                                median(lims), name, median(pcts), stages[mid], median(signers)))
        scale_rows = []
        for n in a.scale:
            if not os.path.exists(os.path.join(work, f"audience-{n}.csv")):
                audience(os.path.join(work, f"audience-{n}.csv"), n)
            rate, rss, _, _ = engine_once(a, work, "3KB", None, n, 0)
            scale_rows.append((n, rate, rss))
        print(f"\nsealmail send → smtp-sink on 127.0.0.1, {CONNS} connections, durable SQLite "
              f"state, median of {a.runs} run(s); {os.cpu_count()} cores shared by sender and sink\n")
        print("| message | DKIM | N | sealmail msg/s | peak RSS MiB | sealmail CPU µs/msg | "
              "nodemailer msg/s | × nodemailer | limit | limit msg/s | % of limit |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
        for size, dkim, n, rate, rss, cpu, peer, x, lim, pct, name in rows:
            peer_s = f"{peer:.0f}" if peer else "n/a (no Ed25519)"
            x_s = f"{x:.1f}" if x else "–"
            pct_s = f"{pct:.1f}%" if pct else "–"
            print(f"| {size} | {dkim} | {n} | {rate:.0f} | {rss:.0f} | {cpu:.1f} | {peer_s} | "
                  f"{x_s} | {name} | {lim:.0f} | {pct_s} |")
        print(f"\nEngine alone (render, MIME, DKIM, guard, state and audit commits) into the "
              f"discard: transport, 3 KB, N = {a.n}, median of {a.runs}; \"preflight s\" is the time "
              f"before the first message is handed over (audience, preflight, import); CPU is "
              f"the process's user + system time over the whole run; stage "
              f"times (median run, send phase) are µs per message summed over "
              f"{engine_rows[0][7]['compose_threads']} compose threads\n")
        print("| DKIM | msg/s (whole run) | msg/s (send phase) | peak RSS MiB | CPU µs/msg | limit | "
              "limit msg/s | % of limit (whole run) | preflight s | render | MIME | DKIM | guard | "
              "store (its own thread) |")
        print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for dkim, rate, rss, cpu, lim, name, pct, st, _ in engine_rows:
            m = max(st["messages_composed"], 1)
            us = lambda k: f"{1e6 * st[k] / m:.1f}"
            phase = a.n / max(st["sending_seconds"], 1e-9)
            print(f"| {dkim} | {rate:.0f} | {phase:.0f} | {rss:.0f} | {cpu:.1f} | {name} | "
                  f"{lim:.0f} | {pct:.1f}% | {st.get('preflight_seconds', 0):.2f} | {us('render_seconds')} | "
                  f"{us('mime_seconds')} | {us('dkim_seconds')} | {us('guard_seconds')} | "
                  f"{us('store_seconds')} |")
        # The signing targets compare with openssl's signing alone; the
        # engine's own work (the none row) runs on the same two cores, so the
        # estimate for a signed run is both costs one after the other, with
        # the signature at the speed of the library sealmail signs with.
        none_rate = engine_rows[0][1]
        print("\nSigning beside the engine's own work: signer = the signature alone ×2 cores in "
              "the library sealmail uses (Ed25519: libsodium, by bench/dkim_bench with 2 threads; "
              "RSA: OpenSSL, openssl speed); estimate = 1 / (1/signer rate + 1/engine none rate), "
              "the rate if a message cost its signature plus what an unsigned one costs (none "
              "row, start-up included), on the same cores\n")
        print("| DKIM | openssl msg/s | signer | signer msg/s | engine none msg/s | estimate msg/s | "
              "measured msg/s | % of signer | % of estimate |")
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        for dkim, rate, _, _, lim, _, _, _, signer in engine_rows[1:]:
            who = "libsodium" if dkim == "ed25519" else "openssl"
            if not signer:
                why = "n/a (no dkim_bench)" if dkim == "ed25519" else "n/a"
                print(f"| {dkim} | {lim:.0f} | {who} | {why} | {none_rate:.0f} | – | "
                      f"{rate:.0f} | – | – |")
                continue
            est = 1 / (1 / signer + 1 / none_rate)
            print(f"| {dkim} | {lim:.0f} | {who} | {signer:.0f} | {none_rate:.0f} | {est:.0f} | "
                  f"{rate:.0f} | {100 * rate / signer:.1f}% | {100 * rate / est:.1f}% |")
        if scale_rows:
            print("\nScale, engine alone (discard:), 3 KB, no DKIM, one run each\n")
            print("| N | msg/s | seconds | peak RSS MiB |")
            print("|---:|---:|---:|---:|")
            for n, rate, rss in scale_rows:
                print(f"| {n} | {rate:.0f} | {n / rate:.1f} | {rss:.0f} |")
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
