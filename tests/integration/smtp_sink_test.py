"""SMTP delivery against Postfix's smtp-sink on 127.0.0.1: a 20,000-recipient
campaign with PIPELINING, and smtp-sink's failure injection (5xx and 4xx on
RCPT, 421 and disconnect, a dropped connection after the final "."), a hung
server and a refused connection. Every recipient ends delivered exactly once
or failed/deferred as the server dictated."""
import collections
import os
import shutil
import socket
import subprocess
import threading
import time

from harness import check, main, run
from smtp_util import (LOOPBACK, check_counts, free_port, stop, wait_listening,
                       write_campaign)

SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def start_sink(dump, *extra):
    os.makedirs(dump, exist_ok=True)
    os.chmod(dump, 0o777)
    port = free_port()
    argv = [SINK]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    argv += [*extra, "-d", os.path.join(dump, "%M."), f"{LOOPBACK}:{port}", "256"]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, p)
    return p, port


def dumped(dump):
    """recipient -> number of transactions that named it; checks each
    transaction had exactly one envelope recipient."""
    got = collections.Counter()
    if not os.path.isdir(dump):
        return got
    for name in os.listdir(dump):
        with open(os.path.join(dump, name), "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
        rcpts = [l[len("X-Rcpt-Args: <"):].split(">")[0] for l in head.split("\n")
                 if l.startswith("X-Rcpt-Args:")]
        check(len(rcpts) == 1, f"{name}: {len(rcpts)} envelope recipients: {rcpts}")
        got[rcpts[0]] += 1
    return got


def env_fast():
    e = dict(os.environ)
    e["SEALMAIL_SMTP_TIMEOUT"] = "2"
    return e


def test_bulk(a, tmp):
    n = int(os.environ.get("SEALMAIL_SMTP_BULK", "20000"))
    dump = os.path.join(tmp, "bulk-dump")
    sink, port = start_sink(dump)
    try:
        camp = os.path.join(tmp, "bulk")
        emails = write_campaign(camp, n, f"smtp://{LOOPBACK}:{port}", "concurrency = 8")
        t0 = time.time()
        run(a.sealmail, "send", camp, "--quiet", want=0)
        dt = time.time() - t0
    finally:
        stop(sink)
    got = dumped(dump)
    check(len(got) == n and all(got[e] == 1 for e in emails),
          f"bulk: {len(got)} distinct recipients, want {n} each once")
    check_counts(a.sealmail, camp, sent=n, failed=0, deferred=0)
    print(f"bulk: {n} messages in {dt:.2f}s ({n / dt:.0f}/s) through smtp-sink with PIPELINING")
    # A second run sends nothing again.
    sink, port2 = start_sink(os.path.join(tmp, "bulk-dump2"))
    try:
        run(a.sealmail, "send", camp, "--quiet", want=0)
    finally:
        stop(sink)
    check(not dumped(os.path.join(tmp, "bulk-dump2")), "a finished campaign sent again")


def test_plain_variants(a, tmp):
    """No PIPELINING (-p): one command at a time. No ESMTP (-e): EHLO is
    refused and HELO is used."""
    for name, args in (("nopipe", ["-p"]), ("noesmtp", ["-e"])):
        dump = os.path.join(tmp, name + "-dump")
        sink, port = start_sink(dump, *args)
        try:
            camp = os.path.join(tmp, name)
            emails = write_campaign(camp, 30, f"smtp://{LOOPBACK}:{port}", "concurrency = 3")
            run(a.sealmail, "send", camp, "--quiet", want=0, env=env_fast())
        finally:
            stop(sink)
        got = dumped(dump)
        check(len(got) == 30 and all(got[e] == 1 for e in emails), f"{name}: {dict(got)}")
        with open(os.path.join(dump, os.listdir(dump)[0]), "rb") as f:
            proto = f.read(200)
        want = b"X-Client-Proto: SMTP\n" if name == "noesmtp" else b"X-Client-Proto: ESMTP\n"
        check(want in proto, f"{name}: {proto!r}")


def test_rate(a, tmp):
    """rate = 25/s over 8 connections: 100 messages take at least
    (100 - 25 burst) / 25 = 3 s."""
    dump = os.path.join(tmp, "rate-dump")
    sink, port = start_sink(dump)
    try:
        camp = os.path.join(tmp, "rate")
        write_campaign(camp, 100, f"smtp://{LOOPBACK}:{port}", "rate = 25")
        t0 = time.time()
        run(a.sealmail, "send", camp, "--quiet", want=0)
        dt = time.time() - t0
    finally:
        stop(sink)
    check(len(dumped(dump)) == 100, "rate: not all delivered")
    check(2.9 <= dt <= 20, f"rate 25/s: 100 messages took {dt:.2f}s, want about 3s")


def test_idle_reconnect(a, tmp):
    """smtp-sink -t 1 drops connections idle for 1 s; at rate 0.5/s on one
    connection every message after the first finds its kept-open connection
    closed, reconnects and is delivered (nothing deferred)."""
    dump = os.path.join(tmp, "idle-dump")
    sink, port = start_sink(dump, "-t", "1")
    try:
        camp = os.path.join(tmp, "idle")
        emails = write_campaign(camp, 4, f"smtp://{LOOPBACK}:{port}",
                                "concurrency = 1\nrate = 0.5")
        run(a.sealmail, "send", camp, "--quiet", want=0)
    finally:
        stop(sink)
    got = dumped(dump)
    check(len(got) == 4 and all(got[e] == 1 for e in emails), f"idle: {dict(got)}")


def test_hard_reject(a, tmp):
    dump = os.path.join(tmp, "hard-dump")
    sink, port = start_sink(dump, "-f", "RCPT")
    try:
        camp = os.path.join(tmp, "hard")
        write_campaign(camp, 50, f"smtp://{LOOPBACK}:{port}")
        run(a.sealmail, "send", camp, "--quiet", want=3)
    finally:
        stop(sink)
    check(not dumped(dump), "5xx on RCPT, yet messages were taken")
    check_counts(a.sealmail, camp, sent=0, failed=50)


def test_soft_then_ok(a, tmp, name, sink_args, want_exit=4):
    """4xx or 421 first: everything deferred, nothing taken; the next run,
    after retry_interval, delivers each recipient exactly once."""
    camp = os.path.join(tmp, name)
    dump1 = os.path.join(tmp, name + "-dump1")
    sink, port = start_sink(dump1, *sink_args)
    try:
        emails = write_campaign(camp, 40, f"smtp://{LOOPBACK}:{port}", 'retry_interval = "1s"')
        t0 = time.time()
        run(a.sealmail, "send", camp, "--quiet", want=want_exit, env=env_fast())
        check(time.time() - t0 < 60, f"{name}: first run took {time.time() - t0:.1f}s")
    finally:
        stop(sink)
    check(not dumped(dump1), f"{name}: messages taken on a refusal")
    check_counts(a.sealmail, camp, sent=0, failed=0, deferred=40)
    # Same port, a healthy server now.
    time.sleep(2.1)  # retry_interval 1s doubled at most with jitter: due by then
    dump2 = os.path.join(tmp, name + "-dump2")
    os.makedirs(dump2, exist_ok=True)
    os.chmod(dump2, 0o777)
    argv = [SINK] + (["-u", "nobody"] if os.geteuid() == 0 else []) + [
        "-d", os.path.join(dump2, "%M."), f"{LOOPBACK}:{port}", "256"]
    sink = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(port, sink)
        run(a.sealmail, "send", camp, "--quiet", want=0)
    finally:
        stop(sink)
    got = dumped(dump2)
    check(all(got[e] == 1 for e in emails) and len(got) == 40,
          f"{name}: second run delivered {dict(got)}")
    check_counts(a.sealmail, camp, sent=40, deferred=0, failed=0)


def test_drop_after_dot(a, tmp):
    """The server hangs up after the final "." without a reply: the outcome
    is uncertain (recorded as such, retried later with the same Message-ID)."""
    camp = os.path.join(tmp, "drop")
    dump = os.path.join(tmp, "drop-dump")
    sink, port = start_sink(dump, "-q", ".")
    try:
        write_campaign(camp, 10, f"smtp://{LOOPBACK}:{port}", "concurrency = 1")
        run(a.sealmail, "send", camp, "--quiet", want=4, env=env_fast())
    finally:
        stop(sink)
    check_counts(a.sealmail, camp, sent=0, failed=0, deferred=10)
    db = os.path.join(camp, ".sealmail", "state.db")
    out = subprocess.run(["sqlite3", db, "SELECT detail FROM recipients"], capture_output=True,
                         text=True, timeout=60).stdout
    check(out.count("uncertain") == 10, f"details: {out}")


def hung_server(port, stop_event):
    """Accepts connections and never answers."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((LOOPBACK, port))
    srv.listen(64)
    srv.settimeout(0.2)
    conns = []
    while not stop_event.is_set():
        try:
            c, _ = srv.accept()
            conns.append(c)
        except socket.timeout:
            pass
    for c in conns:
        c.close()
    srv.close()


def test_hung(a, tmp):
    """A server that accepts the connection and never answers: the greeting
    timeout fires after [transport] timeout, the relay is paused and every
    recipient ends deferred; `send` exits 4 instead of hanging."""
    port = free_port()
    ev = threading.Event()
    th = threading.Thread(target=hung_server, args=(port, ev), daemon=True)
    th.start()
    try:
        wait_listening(port, None)
        camp = os.path.join(tmp, "hung")
        # The campaign's own timeout key caps the RFC 5321 timeouts (no
        # SEALMAIL_SMTP_TIMEOUT in the environment).
        write_campaign(camp, 30, f"smtp://{LOOPBACK}:{port}", 'timeout = "2s"')
        env = dict(os.environ)
        env.pop("SEALMAIL_SMTP_TIMEOUT", None)
        t0 = time.time()
        run(a.sealmail, "send", camp, "--quiet", want=4, env=env)
        dt = time.time() - t0
    finally:
        ev.set()
        th.join(timeout=5)
    check(dt < 30, f"hung server: sealmail took {dt:.1f}s")
    check_counts(a.sealmail, camp, sent=0, deferred=30)


def test_refused(a, tmp):
    port = free_port()  # nothing listens
    camp = os.path.join(tmp, "refused")
    write_campaign(camp, 20, f"smtp://{LOOPBACK}:{port}")
    t0 = time.time()
    run(a.sealmail, "send", camp, "--quiet", want=4, env=env_fast())
    check(time.time() - t0 < 30, "refused connection: too slow")
    check_counts(a.sealmail, camp, sent=0, deferred=20)


def test(a):
    import tempfile
    tmp = tempfile.mkdtemp(prefix="sm_smtp_sink_")
    os.chmod(tmp, 0o755)
    try:
        test_plain_variants(a, tmp)
        test_rate(a, tmp)
        test_idle_reconnect(a, tmp)
        test_hard_reject(a, tmp)
        test_soft_then_ok(a, tmp, "soft", ["-r", "RCPT"])
        test_soft_then_ok(a, tmp, "close421", ["-Q", "RCPT"])
        test_drop_after_dot(a, tmp)
        test_hung(a, tmp)
        test_refused(a, tmp)
        test_bulk(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
