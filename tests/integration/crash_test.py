"""Crash safety (issue #7): a 20,000-recipient campaign to Postfix's
smtp-sink on 127.0.0.1, which dumps every transaction it accepts. The sender
is killed with SIGKILL at random moments and restarted each time until it
finishes. Afterwards every recipient was received at least once (zero lost),
the recipients received more than once are no more than the state reports as
possible duplicates, and every copy of a duplicate carries the same
Message-ID."""
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import check, main, run
from smtp_util import LOOPBACK, start_smtp_sink, stop, write_campaign

N = int(os.environ.get("SEALMAIL_CRASH_N", "20000"))
KILLS = 6


def received(dump):
    """recipient -> list of Message-IDs, one per complete transaction."""
    got = collections.defaultdict(list)
    for name in os.listdir(dump):
        with open(os.path.join(dump, name), "rb") as f:
            data = f.read().decode("utf-8", "replace")
        rcpts = re.findall(r"^X-Rcpt-Args: <([^>]*)>", data, re.M)
        check(len(rcpts) == 1, f"{name}: {len(rcpts)} envelope recipients")
        mids = re.findall(r"^Message-ID: (<[^>]*>)", data, re.M | re.I)
        check(len(mids) == 1, f"{name}: {len(mids)} Message-IDs")
        # The body's last line: a transaction cut short is not a delivery.
        check("Regards" in data, f"{name}: truncated transaction in the dump")
        got[rcpts[0]].append(mids[0])
    return got


def test(a):
    tmp = tempfile.mkdtemp(prefix="sm_crash_")
    os.chmod(tmp, 0o755)
    sink = None
    try:
        dump = os.path.join(tmp, "dump")
        sink, port = start_smtp_sink(dump)
        camp = os.path.join(tmp, "c")
        emails = write_campaign(camp, N, f"smtp://{LOOPBACK}:{port}", "concurrency = 8",
                                name="crash")
        rng = random.Random(int(os.environ.get("SEALMAIL_CRASH_SEED", "20261125")))
        kills = 0
        runs = 0
        for k in range(KILLS):
            runs += 1
            # The moment of each kill follows the work, not the clock (a
            # faster sender would finish before a fixed sleep ran out): the
            # first run dies at a random early moment (preflight or the first
            # batches), the others once the sink has taken a random number of
            # further messages, at most a third of what is left.
            have = len(os.listdir(dump))
            target = have + rng.randint(200, max(201, (N - have) // 3))
            p = subprocess.Popen([a.sealmail, "send", camp, "--quiet"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if k == 0:
                time.sleep(rng.uniform(0.05, 0.4))
            else:
                deadline = time.monotonic() + 60
                while (p.poll() is None and len(os.listdir(dump)) < target and
                       time.monotonic() < deadline):
                    time.sleep(0.01)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
            p.wait(timeout=60)
        finished = None
        for _ in range(5):  # bounded
            runs += 1
            p = run(a.sealmail, "send", camp, "--quiet", "--json")
            if p.returncode == 0:
                finished = json.loads(p.stdout)
                break
        check(finished is not None, f"never finished: {p.stdout}\n{p.stderr}")
        stop(sink)
        sink = None
        st = json.loads(run(a.sealmail, "status", camp, "--json", want=0).stdout)
        got = received(dump)
        lost = [e for e in emails if e not in got]
        check(not lost, f"{len(lost)} recipients never received: {lost[:5]}")
        check(set(got) == set(emails), "a message went to someone outside the audience")
        twice = {e: m for e, m in got.items() if len(m) > 1}
        extra = sum(len(m) - 1 for m in twice.values())
        check(all(len(set(m)) == 1 for m in twice.values()),
              "a duplicate carries a different Message-ID")
        check(len(twice) <= st["possible_duplicates"],
              f"{len(twice)} recipients received twice, state reports only "
              f"{st['possible_duplicates']} possible duplicates")
        check(st["total"] == N and st["sent"] == N and st["uncertain"] == 0, f"status {st}")
        check(kills >= 3, f"only {kills} kills landed: the test did not test much")
        print(f"{N} recipients, {runs} runs, {kills} SIGKILLs; 0 lost; {len(twice)} received "
              f"twice ({extra} extra copies), state reported {st['possible_duplicates']} "
              f"possible duplicates")
    finally:
        stop(sink)
        shutil.rmtree(tmp)


main(test)
