"""Batches grow while they are quick and small (Scheduler::Observe): a
campaign of small messages into the discard: transport leases more than 256
recipients at a time (at most 1,024), one of 100 KB messages never does
(twice its batch would pass 16 MiB). Either way every recipient is sent
once, and send --json says how many leases were taken and the largest."""
import json
import os
import shutil
import tempfile

import harness
from harness import check


def campaign(tmp, name, n, body_bytes):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    with open(os.path.join(d, "campaign.toml"), "w") as f:
        f.write(f'name = "{name}"\n[message]\nfrom = "Ex <support@example.com>"\n'
                'subject = "Hi {{first_name}}"\ntext = "body.txt"\n'
                '[audience]\ncsv = "audience.csv"\n[transport]\nurl = "discard:"\n')
    line = "Hello {{first_name}}, nothing changes for you this month.\n"
    with open(os.path.join(d, "body.txt"), "w") as f:
        f.write(line * max(1, body_bytes // len(line)))
    with open(os.path.join(d, "audience.csv"), "w") as f:
        f.write("email,first_name\n")
        for i in range(n):
            f.write(f"user{i * 7919 % n}@example{i % 50}.com,Name{i}\n")
    return d


def send(a, d, n):
    p = harness.run(a.sealmail, "send", d, "--quiet", "--json", want=0)
    j = json.loads(p.stdout)
    check(j["sent"] == n and j["state"]["sent"] == n, f"{d}: sent {j['sent']} of {n}: {j}")
    return j["stages"]


def test(a):
    tmp = tempfile.mkdtemp(prefix="sm_batch_")
    try:
        # Small messages: the first lease is 256; the discard: transport takes
        # a batch in milliseconds, so later ones double, up to 1,024.
        n = 6000
        st = send(a, campaign(tmp, "small", n, 300), n)
        check(256 < st["largest_batch"] <= 1024, f"small: {st}")
        check(st["batches"] < n // 256, f"small: {st}")
        # 100 KB messages: 256 × 2 × 100 KB is over 16 MiB: they stay at 256
        # whatever the timing.
        n = 600
        st = send(a, campaign(tmp, "large", n, 100_000), n)
        check(st["largest_batch"] == 256 and st["batches"] == 3, f"large: {st}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    harness.main(test)
