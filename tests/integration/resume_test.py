"""A killed send resumes: SIGKILL at random moments, then run again until
done. Every recipient ends with exactly one file (the dir transport names
files by Message-ID, so a resent message replaces itself), the state counts
every recipient sent, and possible duplicates were reported as uncertain.
SIGINT stops cleanly with exit 4 and the next run finishes with exit 0."""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time

import harness
from harness import check

N = 5000


def test(a):
    s = a.sealmail
    tmp = tempfile.mkdtemp(prefix="sm_resume_")
    try:
        d = os.path.join(tmp, "c")
        os.makedirs(d)
        with open(os.path.join(d, "campaign.toml"), "w") as f:
            f.write('name = "resume"\n[message]\nfrom = "Ex <support@example.com>"\n'
                    'subject = "Hi {{first_name}}"\ntext = "body.txt"\n'
                    '[audience]\ncsv = "audience.csv"\n[transport]\nurl = "dir:out"\n')
        with open(os.path.join(d, "body.txt"), "w") as f:
            f.write("Hello {{first_name}}, this is message for {{email}}.\n")
        with open(os.path.join(d, "audience.csv"), "w") as f:
            f.write("email,first_name\n")
            for i in range(N):
                f.write(f"user{i}@example{i % 50}.com,Name{i}\n")

        rng = random.Random(7)
        kills = 0
        uncertain_reported = 0
        # SIGINT first: a clean stop with work left is exit 4.
        p = subprocess.Popen([s, "send", d, "--quiet"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        if p.returncode == 4:
            check("interrupted" in out, out)
        else:
            check(p.returncode == 0, f"SIGINT: exit {p.returncode}\n{out}\n{err}")
        for _ in range(4):
            p = subprocess.Popen([s, "send", d, "--quiet", "--json"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            time.sleep(rng.uniform(0.1, 0.8))
            if p.poll() is None:
                p.kill()
                kills += 1
            out, _ = p.communicate(timeout=60)
            if p.returncode == 0:
                uncertain_reported += json.loads(out)["recovered_uncertain"]
        for _ in range(10):
            p = harness.run(s, "send", d, "--quiet", "--json")
            uncertain_reported += json.loads(p.stdout)["recovered_uncertain"]
            if p.returncode == 0:
                break
        check(p.returncode == 0, f"never finished: {p.stdout}")
        files = os.listdir(os.path.join(d, "out"))
        check(len(files) == N, f"{len(files)} files for {N} recipients")
        check(not [f for f in files if ".tmp." in f], "temp files left behind")
        st = json.loads(harness.run(s, "status", d, "--json", want=0).stdout)
        check(st["total"] == N and st["sent"] == N and st["uncertain"] == 0, f"status {st}")
        print(f"{kills} kills, {uncertain_reported} uncertain re-sent, {N} recipients, "
              f"{len(files)} files")
    finally:
        shutil.rmtree(tmp)


harness.main(test)
