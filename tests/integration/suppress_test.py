"""The suppression list (issue #7): `sealmail suppress add|import|list|remove`
with bad input named by line, and a list shared through one state by two
campaigns: the first campaign's 5xx recipients (from Debian's aiosmtpd on
127.0.0.1, refusing RCPT for some addresses) and an operator's unsubscribe
are never mailed by the second campaign."""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

from harness import check, main, run
from smtp_util import LOOPBACK, free_port, stop, wait_listening, write_campaign

HERE = os.path.dirname(os.path.abspath(__file__))


def start_server(out, reject):
    os.makedirs(out, exist_ok=True)
    port = free_port()
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "smtp_aiosmtpd_server.py"),
                          "--port", str(port), "--out", out, "--reject-prefix", reject],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, p)
    return p, port


def envelope_recipients(out):
    got = []
    for j in glob.glob(os.path.join(out, "*.json")):
        with open(j) as f:
            got += json.load(f)["rcpt_tos"]
    return got


def listed(a, *where):
    p = run(a.sealmail, "suppress", "list", *where, "--json", want=0)
    return {x["email"]: x for x in json.loads(p.stdout)["suppressed"]}


def test_cli(a, tmp):
    camp = os.path.join(tmp, "cli")
    write_campaign(camp, 5, "dir:out")
    # Nothing yet.
    check(listed(a, camp) == {}, "a new campaign has a suppression list")
    run(a.sealmail, "suppress", "add", camp, "Alice@Example.COM", "bob@example.com",
        "--reason", "unsubscribed", want=0)
    # All or nothing: one bad address, nothing changes.
    p = run(a.sealmail, "suppress", "add", camp, "carol@example.com", "not an address", want=1)
    check("not an address" in p.stderr and "nothing was changed" in p.stderr, p.stderr)
    got = listed(a, camp)
    check(set(got) == {"Alice@example.com", "bob@example.com"}, f"after add: {got}")
    check(got["bob@example.com"]["reason"] == "unsubscribed", str(got))
    # Import: good rows go in, bad rows are named by line and field, exit 1.
    csv_path = os.path.join(tmp, "unsubscribes.csv")
    with open(csv_path, "w") as f:
        f.write("email,reason\n"
                "dave@example.com,complaint\n"
                "eve@@example.com,typo\n"
                '"frank@example.com; grace@example.com",two in one\n'
                "alice@example.com,again\n"
                "heidi@example.com,\n")
    p = run(a.sealmail, "suppress", "import", camp, csv_path, "--json", want=1)
    j = json.loads(p.stdout)
    check(j["added"] == 2 and j["already_listed"] == 1 and j["refused"] == 2,
          f"import report {j}")
    errs = "\n".join(j["errors"])
    check("unsubscribes.csv:3:" in errs and "unsubscribes.csv:4:" in errs, errs)
    got = listed(a, camp)
    check(got["dave@example.com"]["reason"] == "complaint", str(got))
    check(got["heidi@example.com"]["reason"].startswith("imported from"), str(got))
    check(got["dave@example.com"]["source"] == "suppress import unsubscribes.csv", str(got))
    # A missing email column is a usage error naming the file.
    bad = os.path.join(tmp, "noemail.csv")
    with open(bad, "w") as f:
        f.write("address\nx@example.com\n")
    p = run(a.sealmail, "suppress", "import", camp, bad, want=1)
    check("noemail.csv" in p.stderr, p.stderr)
    # Remove: the ones that were there, and which were not.
    p = run(a.sealmail, "suppress", "remove", camp, "BOB@example.com", "zed@example.com",
            "--json", want=0)
    j = json.loads(p.stdout)
    check(j["removed"] == 1 and j["not_listed"] == ["zed@example.com"], str(j))
    check("bob@example.com" not in listed(a, camp), "remove did not remove")
    # Not a campaign directory: a clear usage error, nothing created.
    p = run(a.sealmail, "suppress", "list", os.path.join(tmp, "nowhere"), want=1)
    check("not a campaign directory" in p.stderr, p.stderr)
    check(not os.path.exists(os.path.join(tmp, "nowhere")), "created a directory for a typo")


def test_shared_state(a, tmp):
    state = os.path.join(tmp, "shared", "state.db")
    os.makedirs(os.path.dirname(state))
    out1 = os.path.join(tmp, "srv1")
    srv, port = start_server(out1, reject="gone")
    try:
        c1 = os.path.join(tmp, "first")
        emails = write_campaign(c1, 20, f"smtp://{LOOPBACK}:{port}", name="first",
                                bad=("gone1@d1.example", "gone2@d2.example"))
        p = run(a.sealmail, "send", c1, "--state", state, "--quiet", "--json", want=3)
        check(json.loads(p.stdout)["state"]["failed"] == 2, p.stdout)
    finally:
        stop(srv)
    got = listed(a, "--state", state)
    check(set(got) == {"gone1@d1.example", "gone2@d2.example"}, f"5xx not suppressed: {got}")
    check("550 5.1.1" in got["gone1@d1.example"]["reason"], str(got))
    check(got["gone1@d1.example"]["source"] == "campaign first", str(got))
    run(a.sealmail, "suppress", "add", "--state", state, emails[3], "--reason", "unsubscribed",
        want=0)

    # The second campaign, same audience, same state: never mails them.
    out2 = os.path.join(tmp, "srv2")
    srv, port = start_server(out2, reject="")
    try:
        c2 = os.path.join(tmp, "second")
        write_campaign(c2, 20, f"smtp://{LOOPBACK}:{port}", name="second",
                       bad=("gone1@d1.example", "gone2@d2.example"))
        p = run(a.sealmail, "send", c2, "--state", state, "--quiet", "--json", want=0)
        st = json.loads(p.stdout)["state"]
        check(st["suppressed"] == 3 and st["sent"] == 19 and st["failed"] == 0, str(st))
    finally:
        stop(srv)
    rcpts = envelope_recipients(out2)
    check(len(rcpts) == 19, f"second campaign delivered {len(rcpts)}, want 19")
    check(not {"gone1@d1.example", "gone2@d2.example", emails[3]} & set(rcpts),
          f"a suppressed address was mailed: {rcpts}")
    p = run(a.sealmail, "status", c2, "--state", state, want=0)
    check("suppressed 3" in p.stdout, p.stdout)


def test(a):
    tmp = tempfile.mkdtemp(prefix="sm_suppress_")
    try:
        test_cli(a, tmp)
        test_shared_state(a, tmp)
    finally:
        shutil.rmtree(tmp)


main(test)
