"""Retries within a run (issue #7, SPEC.md): a relay that answers 4xx to
every RCPT (Postfix's smtp-sink -r RCPT on 127.0.0.1). Without --wait the run
stops with exit 4 and says when the next retry is due. With --wait the same
process keeps retrying, with backoff, and finishes (exit 0) once a healthy
server answers on that port; SIGINT during the wait stops it with exit 4."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import check, main, run
from smtp_util import LOOPBACK, free_port, start_smtp_sink, stop, write_campaign



def sink(port, dump, *extra):
    return start_smtp_sink(dump, *extra, port=port, backlog="64")[0]


def test(a):
    tmp = tempfile.mkdtemp(prefix="sm_wait_")
    os.chmod(tmp, 0o755)
    port = free_port()
    env = dict(os.environ, SEALMAIL_SMTP_TIMEOUT="2")
    soft = healthy = None
    try:
        # No --wait: deferred, told when, exit 4.
        soft = sink(port, os.path.join(tmp, "d0"), "-r", "RCPT")
        c0 = os.path.join(tmp, "nowait")
        write_campaign(c0, 10, f"smtp://{LOOPBACK}:{port}", 'retry_interval = "5m"')
        p = run(a.sealmail, "send", c0, "--quiet", want=4, env=env)
        check(re.search(r"the next is due \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in [3-6]m", p.stdout),
              f"no 'next retry due' line:\n{p.stdout}")
        p = run(a.sealmail, "send", c0, "--quiet", "--json", want=4, env=env)
        j = json.loads(p.stdout)
        check(j["attempted"] == 0 and j["next_retry_at"] > time.time() + 180,
              f"a second run retried before the retry was due: {j}")

        # --wait: the process stays, retries with backoff, and finishes once
        # the server is healthy.
        c1 = os.path.join(tmp, "wait")
        emails = write_campaign(c1, 10, f"smtp://{LOOPBACK}:{port}", 'retry_interval = "1s"',
                                name="wait")
        proc = subprocess.Popen([a.sealmail, "send", c1, "--quiet", "--json", "--wait", "120"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        time.sleep(2.5)
        check(proc.poll() is None, "send --wait exited while retries were due soon")
        stop(soft)
        soft = None
        dump = os.path.join(tmp, "d1")
        healthy = sink(port, dump)
        out, err = proc.communicate(timeout=120)
        check(proc.returncode == 0, f"--wait: exit {proc.returncode}\n{out}\n{err}")
        j = json.loads(out)
        check(j["state"]["sent"] == 10 and j["deferred"] >= 10, f"--wait report: {j}")
        check(len(os.listdir(dump)) == 10, f"{len(os.listdir(dump))} delivered, want 10")
        stop(healthy)
        healthy = None

        # SIGINT while waiting: exit 4 promptly, the recipients stay deferred.
        soft = sink(port, os.path.join(tmp, "d2"), "-r", "RCPT")
        c2 = os.path.join(tmp, "interrupt")
        write_campaign(c2, 5, f"smtp://{LOOPBACK}:{port}", 'retry_interval = "30s"',
                       name="interrupt")
        proc = subprocess.Popen([a.sealmail, "send", c2, "--quiet", "--wait", "600"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        time.sleep(2.0)
        check(proc.poll() is None, "send --wait 600 did not wait")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        check(proc.returncode == 4, f"SIGINT while waiting: exit {proc.returncode}\n{out}{err}")
        check("interrupted" in out, out)
        st = json.loads(run(a.sealmail, "status", c2, "--json", want=0).stdout)
        check(st["deferred"] == 5 and st["leased"] == 0, f"status after SIGINT {st}")
        print(f"no --wait: exit 4 with the next retry time; --wait: {len(emails)} delivered "
              f"after {j['deferred']} deferrals in one run; SIGINT while waiting: exit 4")
    finally:
        stop(soft)
        stop(healthy)
        shutil.rmtree(tmp)


main(test)
