"""Helpers for the SMTP tests: free loopback ports, campaigns of any size,
and starting/stopping local SMTP servers by PID. Network: 127.0.0.1 only."""
import json
import os
import socket
import subprocess
import time

from harness import Failure, check, run

LOOPBACK = "127.0.0.1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_listening(port, proc, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:  # bounded
        if proc is not None and proc.poll() is not None:
            raise Failure(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise Failure(f"nothing listening on {LOOPBACK}:{port} after {seconds}s")


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()  # by PID (Popen.terminate signals proc.pid only)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def start_smtp_sink(dump, *extra, port=None, backlog="256"):
    """Postfix's smtp-sink on 127.0.0.1 (a free port unless given), dumping
    each transaction it accepts into DUMP; started by PID, stop() it."""
    import shutil
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    os.makedirs(dump, exist_ok=True)
    os.chmod(dump, 0o777)
    port = port or free_port()
    argv = [sink] + (["-u", "nobody"] if os.geteuid() == 0 else []) + [
        *extra, "-d", os.path.join(dump, "%M."), f"{LOOPBACK}:{port}", backlog]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, p)
    return p, port


def write_campaign(path, n, url, transport_extra="", name="smtp-test", bad=()):
    """A campaign of n recipients user<i>@d<i%7>.example; addresses in `bad`
    are added at the end."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "campaign.toml"), "w") as f:
        f.write(f'''name = "{name}"

[message]
from    = "Example <news@example.com>"
subject = "Hello {{{{first_name}}}}"
text    = "body.txt"

[audience]
csv = "audience.csv"

[transport]
url = "{url}"
{transport_extra}
''')
    with open(os.path.join(path, "body.txt"), "w") as f:
        f.write("Dear {{first_name}},\n\nthis line is fine.\n.this line starts with a dot.\n.\n"
                "..and two dots.\nRegards\n")
    emails = [f"user{i}@d{i % 7}.example" for i in range(n)] + list(bad)
    with open(os.path.join(path, "audience.csv"), "w") as f:
        f.write("email,first_name\n")
        for i, e in enumerate(emails):
            f.write(f"{e},Name{i}\n")
    return emails


def status(sealmail, campaign):
    p = run(sealmail, "status", campaign, "--json", want=0)
    return json.loads(p.stdout)


def check_counts(sealmail, campaign, **want):
    got = status(sealmail, campaign)
    for k, v in want.items():
        check(got.get(k) == v, f"status {k} = {got.get(k)}, want {v}: {got}")
    return got
