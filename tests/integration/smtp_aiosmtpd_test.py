"""SMTP delivery to Debian's python3-aiosmtpd on 127.0.0.1, requiring
STARTTLS (self-signed certificate, trusted through ca_file) and AUTH:
messages arrive byte-identical to what `sealmail preview` prints (Date lines
normalised), one envelope recipient each; a 550 for one recipient fails only
that one; a wrong password or an untrusted certificate fails clearly and
sends nothing; tls=required against a server without STARTTLS fails closed."""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import check, main, run
from smtp_util import LOOPBACK, check_counts, free_port, stop, wait_listening, write_campaign

HERE = os.path.dirname(os.path.abspath(__file__))
USER, PASSWORD = "mailer", "s3cret-Pa55"


def start_server(out, cert=None, key=None, user=None, reject="", implicit=False,
                 pipelining=False):
    os.makedirs(out, exist_ok=True)
    port = free_port()
    argv = [sys.executable, os.path.join(HERE, "smtp_aiosmtpd_server.py"), "--port", str(port),
            "--out", out, "--reject-prefix", reject]
    if cert:
        argv += ["--cert", cert, "--key", key]
    if user:
        argv += ["--user", USER, "--password", PASSWORD]
    if implicit:
        argv += ["--implicit"]
    if pipelining:
        argv += ["--pipelining"]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_listening(port, p)
    return p, port


def received(out):
    msgs = []
    for j in sorted(glob.glob(os.path.join(out, "*.json"))):
        with open(j) as f:
            env = json.load(f)
        with open(j[:-5] + ".eml", "rb") as f:
            msgs.append((env, f.read()))
    return msgs


def no_date(b):
    return re.sub(rb"(?m)^Date: [^\r\n]*", b"Date: X", b)


def env_with(pw):
    e = dict(os.environ)
    e["SM_TEST_PW"] = pw
    e["SEALMAIL_SMTP_TIMEOUT"] = "5"
    return e


def test(a):
    tmp = tempfile.mkdtemp(prefix="sm_smtp_aio_")
    procs = []
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=120)
        auth = f'username = "{USER}"\npassword_env = "SM_TEST_PW"\nca_file = "relay-ca.pem"'

        # 1. STARTTLS + AUTH + PIPELINING: every message arrives as preview
        # prints it, and the next transaction went behind a message's data.
        out = os.path.join(tmp, "ok-out")
        srv, port = start_server(out, cert, key, user=True, reject="bad", pipelining=True)
        procs.append(srv)
        camp = os.path.join(tmp, "ok")
        emails = write_campaign(camp, 12, f"smtp://{LOOPBACK}:{port}", auth + "\nconcurrency = 2",
                                bad=["jürgen.müller@d1.example", "bad1@d2.example"])
        shutil.copy(cert, os.path.join(camp, "relay-ca.pem"))
        p = run(a.sealmail, "send", camp, want=3, env=env_with(PASSWORD))
        check(PASSWORD not in p.stdout + p.stderr, "the password was printed")
        stop(srv)
        got = received(out)
        check(len(got) == 13, f"received {len(got)} messages, want 13")
        behind = sum(1 for env, _ in got if env["bytes_behind"] > 0)
        check(behind >= 1, "no transaction was pipelined behind a message's data")
        by_rcpt = {}
        for env, raw in got:
            check(len(env["rcpt_tos"]) == 1, f"envelope recipients: {env['rcpt_tos']}")
            check(env["tls"] and env["auth"], f"not over TLS with AUTH: {env}")
            by_rcpt[env["rcpt_tos"][0]] = raw
        for e in emails:
            if e.startswith("bad"):
                check(e not in by_rcpt, f"{e} was refused yet received")
                continue
            check(e in by_rcpt, f"{e} did not arrive: {sorted(by_rcpt)}")
            want = subprocess.run([a.sealmail, "preview", camp, "--to", e], capture_output=True,
                                  timeout=60, check=True).stdout
            check(no_date(by_rcpt[e]) == no_date(want),
                  f"{e}: received bytes differ from preview\n--- got\n{by_rcpt[e][:600]!r}\n"
                  f"--- want\n{want[:600]!r}")
        st = check_counts(a.sealmail, camp, sent=13, failed=1)
        db = os.path.join(camp, ".sealmail", "state.db")
        detail = subprocess.run(["sqlite3", db, "SELECT detail FROM recipients WHERE state=4"],
                                capture_output=True, text=True, timeout=60).stdout
        check("550" in detail and "5.1.1" in detail, f"failure detail: {detail!r} {st}")

        # 2. A wrong password: a clear error, nothing sent, nobody failed.
        out = os.path.join(tmp, "pw-out")
        srv, port = start_server(out, cert, key, user=True)
        procs.append(srv)
        camp = os.path.join(tmp, "pw")
        write_campaign(camp, 5, f"smtp://{LOOPBACK}:{port}", auth)
        shutil.copy(cert, os.path.join(camp, "relay-ca.pem"))
        p = run(a.sealmail, "send", camp, want=4, env=env_with("wrong-password"))
        stop(srv)
        check(not received(out), "messages sent with a wrong password")
        check("AUTH" in p.stdout + p.stderr and "535" in p.stdout + p.stderr,
              f"unclear error for a wrong password:\n{p.stdout}\n{p.stderr}")
        check("wrong-password" not in p.stdout + p.stderr, "the password was printed")
        check_counts(a.sealmail, camp, sent=0, failed=0)
        # The password variable missing altogether: a configuration error.
        e = dict(os.environ)
        e.pop("SM_TEST_PW", None)
        p = run(a.sealmail, "send", camp, want=1, env=e)
        check("SM_TEST_PW" in p.stderr, f"missing variable not named: {p.stderr}")

        # 3. A certificate nobody told us to trust: fails closed.
        out = os.path.join(tmp, "ca-out")
        srv, port = start_server(out, cert, key, user=True)
        procs.append(srv)
        camp = os.path.join(tmp, "ca")
        write_campaign(camp, 3, f"smtp://{LOOPBACK}:{port}",
                       f'username = "{USER}"\npassword_env = "SM_TEST_PW"')
        p = run(a.sealmail, "send", camp, want=4, env=env_with(PASSWORD))
        stop(srv)
        check(not received(out), "sent over TLS with an untrusted certificate")
        check("certificate" in p.stdout + p.stderr, f"unclear TLS error:\n{p.stdout}\n{p.stderr}")

        # 4. tls=required against a server without STARTTLS: fails closed.
        out = os.path.join(tmp, "plain-out")
        srv, port = start_server(out)
        procs.append(srv)
        camp = os.path.join(tmp, "plain")
        write_campaign(camp, 3, f"smtp://{LOOPBACK}:{port}?tls=required")
        p = run(a.sealmail, "send", camp, want=4, env=env_with(PASSWORD))
        check(not received(out), "sent in clear text despite tls=required")
        check("STARTTLS" in p.stdout + p.stderr, f"unclear error:\n{p.stdout}\n{p.stderr}")
        # ...and opportunistic TLS against the same server sends in clear text.
        camp = os.path.join(tmp, "plain2")
        write_campaign(camp, 3, f"smtp://{LOOPBACK}:{port}")
        run(a.sealmail, "send", camp, want=0, env=env_with(PASSWORD))
        stop(srv)
        check(len(received(out)) == 3, "opportunistic TLS: not delivered in clear text")

        # 5. smtps:// (TLS from the first byte) with AUTH.
        out = os.path.join(tmp, "smtps-out")
        srv, port = start_server(out, cert, key, user=True, implicit=True)
        procs.append(srv)
        camp = os.path.join(tmp, "smtps")
        emails = write_campaign(camp, 4, f"smtps://{LOOPBACK}:{port}", auth)
        shutil.copy(cert, os.path.join(camp, "relay-ca.pem"))
        run(a.sealmail, "send", camp, want=0, env=env_with(PASSWORD))
        stop(srv)
        got = sorted(env["rcpt_tos"][0] for env, _ in received(out))
        check(got == sorted(emails), f"smtps: received {got}")
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
