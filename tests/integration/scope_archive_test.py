"""sealmail scope over mail archives (issue #8): mbox (mboxo, mboxrd), Maildir,
a tree of .eml files and a single .eml. Builds each archive here, with the
incident's shape (20,000 customers mailed in batches of 1,000 visible To:
recipients, one batch overlapping two others, the rest mailed one by one),
and asserts exact counts computed independently from the plan; checks that
encodings which hide an address are seen through; that bad input is counted
with file and offset and never stops the report; and that exposed.csv is a
usable audience (csv module, and `sealmail check` of a notification campaign
built on it)."""
import base64
import csv
import json
import os
import shutil
import sys
import tempfile

import harness
from harness import Failure, check

SENDER = "support@exchange.example"
N = 20000


def customer(i):
    return f"c{i:05d}@{['mail', 'post', 'inbox', 'web'][i % 4]}.example"


def message(to_header, subject, body, date, mid, extra=""):
    return (f"From: Example Exchange <{SENDER}>\n"
            f"{to_header}"
            f"Subject: {subject}\n"
            f"Date: {date}\n"
            f"Message-ID: <{mid}@mailer.exchange.example>\n"
            f"MIME-Version: 1.0\n"
            f"{extra}"
            f"Content-Type: text/plain; charset=utf-8\n\n{body}")


def to_header(addrs, style):
    if style == "group":
        return "To: customers: " + ",\n ".join(addrs) + ";\n"
    if style == "names":
        parts = [f'"Customer, No. {a[1:6]}" <{a}>' for a in addrs]
        return "To: " + ",\n ".join(parts) + "\n"
    return "To: " + ",\n ".join(addrs) + "\n"


def incident():
    """(messages, plan): plan is a list of (receivers, visible) for the
    expected graph, computed without sealmail."""
    msgs, plan = [], []
    styles = ["plain", "names", "group"]
    for b in range(15):
        addrs = [customer(i) for i in range(1000 * b, 1000 * b + 1000)]
        body = ("Dear customer,\n\nFrom next month the index changes.\n"
                "From the desk of the CEO: thank you.\n")
        msgs.append(message(to_header(addrs, styles[b % 3]), f"Index change (batch {b})", body,
                            f"Tue, 1 Jan 2019 {10 + b // 10:02d}:{b % 10:02d}:00 +0000",
                            f"batch{b}"))
        plan.append((addrs, addrs + [SENDER]))
    # The resend that overlapped batch 14 and reached half of the next range.
    addrs = [customer(i) for i in range(14500, 15500)]
    msgs.append(message(to_header(addrs, "plain"), "Index change (resend)", "Again.\n",
                        "Tue, 1 Jan 2019 12:00:00 +0000", "resend"))
    plan.append((addrs, addrs + [SENDER]))
    # Everyone else got a message of their own (no exposure among customers).
    for i in range(15500, N):
        c = customer(i)
        msgs.append(message(f"To: {c}\n", "Index change", f"Dear {c},\nhello.\n",
                            "Wed, 2 Jan 2019 08:00:00 +0000", f"single{i}"))
        plan.append(([c], [c, SENDER]))
    return msgs, plan


def expected(plan, audience=None):
    """address -> set of viewers, exposing message count, largest exposure."""
    viewers, exposing, largest = {}, 0, 0
    for receivers, visible in plan:
        if audience is not None:
            receivers = [r for r in receivers if r in audience]
            visible = [v for v in visible if v in audience]
        rs = set(receivers)
        foreign = 0
        for v in set(visible):
            others = rs - {v}
            if others:
                viewers.setdefault(v, set()).update(others)
                foreign += 1
        exposing += foreign > 0
        largest = max(largest, foreign)
    return viewers, exposing, largest


def write_mbox(path, msgs, rd=True):
    with open(path, "w") as f:
        for i, m in enumerate(msgs):
            f.write(f"From {SENDER} Tue Jan  1 10:00:00 2019\n")
            for line in m.split("\n"):
                if rd and line.lstrip(">").startswith("From "):
                    line = ">" + line
                elif not rd and line.startswith("From "):
                    line = ">" + line
                f.write(line + "\n")
            f.write("\n")


def scope(s, path, *extra, want=0, cwd_out=None):
    out = cwd_out or os.path.join(tempfile.mkdtemp(prefix="sm_scope_out_"), "exposed.csv")
    p = harness.run(s, "scope", path, "--json", "--out", out, *extra, want=want)
    return (json.loads(p.stdout) if want == 0 else p), out


def check_report(name, rep, plan, audience, csv_path):
    viewers, exposing, largest = expected(plan, audience)
    check(rep["messages"] == len(plan), f"{name}: messages {rep['messages']} != {len(plan)}")
    check(rep["bad_messages"] == 0, f"{name}: bad {rep['bad']}")
    check(rep["exposed_addresses"] == len(viewers),
          f"{name}: exposed {rep['exposed_addresses']} != {len(viewers)}")
    check(rep["exposing_messages"] == exposing,
          f"{name}: exposing {rep['exposing_messages']} != {exposing}")
    check(rep["largest_exposure"] == largest,
          f"{name}: largest {rep['largest_exposure']} != {largest}")
    got = {e["address"]: e["viewers"] for e in rep["exposed"]}
    want = {a: len(v) for a, v in viewers.items()}
    check(got == want, f"{name}: viewer counts differ, e.g. "
          f"{[(a, got.get(a), want.get(a)) for a in want if got.get(a) != want[a]][:5]}")
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    check(list(rows[0].keys()) == ["email", "seen_by", "messages", "message_ids"] if rows else True,
          f"{name}: csv columns {rows[0].keys() if rows else None}")
    check({r["email"]: int(r["seen_by"]) for r in rows} == want, f"{name}: exposed.csv differs")
    got_msgs = {e["address"]: len(e["messages"]) for e in rep["exposed"]}
    check({r["email"]: int(r["messages"]) for r in rows} == got_msgs, f"{name}: csv messages")
    for r in rows:
        ids = r["message_ids"].split()
        check(len(ids) <= 23 and all(i.startswith("<") or i.startswith("(+") or i == "more)"
                                     for i in ids), f"{name}: message_ids {r['message_ids'][:200]}")


def test_incident(s, tmp):
    msgs, plan = incident()
    audience = {customer(i) for i in range(N)}
    aud_csv = os.path.join(tmp, "customers.csv")
    with open(aud_csv, "w") as f:
        f.write("email,first_name\n")
        for i in range(N):
            f.write(f"{customer(i)},Customer {i}\n")

    mbox = os.path.join(tmp, "sent.mbox")
    write_mbox(mbox, msgs, rd=True)
    rep, out = scope(s, mbox, "--audience", aud_csv)
    check(rep["source"] == "mbox", f"source {rep['source']}")
    check_report("mboxrd+audience", rep, plan, audience, out)
    # The exact numbers of the incident's shape, spelled out.
    check(rep["exposed_addresses"] == 15500, f"exposed {rep['exposed_addresses']}")
    check(rep["exposing_messages"] == 16 and rep["largest_exposure"] == 1000, f"{rep['exposing_messages']}")
    check(rep["recipients"] == N, f"recipients {rep['recipients']}")
    by = {e["address"]: e for e in rep["exposed"]}
    check(by[customer(0)]["viewers"] == 999, f"c0 {by[customer(0)]['viewers']}")
    check(by[customer(14600)]["viewers"] == 1499, f"c14600 {by[customer(14600)]['viewers']}")
    check(by[customer(14600)]["messages"] == ["<batch14@mailer.exchange.example>",
                                              "<resend@mailer.exchange.example>"],
          f"c14600 messages {by[customer(14600)]['messages']}")
    check(by[customer(15200)]["viewers"] == 999, "c15200")
    check(customer(15500) not in by and SENDER not in by, "clean customers / sender exposed")
    check(rep["first_at"] == 1546336800 and rep["last_at"] == 1546416000,
          f"dates {rep['first_at']} {rep['last_at']}")

    # Without an audience the sender's address counts too (seen by everyone).
    rep, out = scope(s, mbox)
    check_report("mboxrd", rep, plan, None, out)
    check(rep["exposed_addresses"] == 15501, f"no audience: {rep['exposed_addresses']}")

    # mboxo: the same messages, only "From " lines quoted.
    mboxo = os.path.join(tmp, "sent.mboxo")
    write_mbox(mboxo, msgs, rd=False)
    rep, out = scope(s, mboxo, "--audience", aud_csv)
    check_report("mboxo", rep, plan, audience, out)

    # Maildir: cur/ and new/.
    md = os.path.join(tmp, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, sub))
    for i, m in enumerate(msgs):
        sub = "cur" if i % 2 else "new"
        with open(os.path.join(md, sub, f"{1546336800 + i}.M{i}P1.host:2,S"), "w") as f:
            f.write(m)
    rep, out = scope(s, md, "--audience", aud_csv)
    check(rep["source"] == "maildir", rep["source"])
    check_report("maildir", rep, plan, audience, out)

    # A tree of .eml files (CRLF line ends), other files ignored.
    tree = os.path.join(tmp, "export")
    for i, m in enumerate(msgs):
        d = os.path.join(tree, f"2019-01-{1 + i % 2:02d}", f"part{i % 7}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"{i}.eml"), "w", newline="") as f:
            f.write(m.replace("\n", "\r\n"))
    with open(os.path.join(tree, "README.txt"), "w") as f:
        f.write("not mail, and not .eml: ignored\n")
    rep, out = scope(s, tree, "--audience", aud_csv)
    check(rep["source"] == "eml directory", rep["source"])
    check_report("eml tree", rep, plan, audience, out)

    # Human output names the numbers.
    p = harness.run(s, "scope", mbox, "--audience", aud_csv, "--out",
                    os.path.join(tmp, "h.csv"), want=0)
    check("15500 addresses exposed by 16 messages (largest: 1000" in p.stdout, p.stdout[:2000])
    check("20000 recipients" in p.stdout, p.stdout[:600])
    return out


def test_encodings(s, tmp):
    people = ["ann", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"]
    addr = {p: f"{p}@example.com" for p in people}
    aud = os.path.join(tmp, "enc.csv")
    with open(aud, "w") as f:
        f.write("email\n" + "".join(a + "\n" for a in addr.values()))
    b64 = base64.encodebytes(f"Please forward to {addr['carol']} today.\n".encode()).decode()
    ew = "=?utf-8?B?" + base64.b64encode(f"Re: ask {addr['dave']}".encode()).decode() + "?="
    msgs = [
        # quoted-printable soft line break inside the address
        message(f"To: {addr['ann']}\n", "qp", "Write to bob@exa=\nmple.com please.\n",
                "Thu, 3 Jan 2019 10:00:00 +0000", "qp",
                "Content-Transfer-Encoding: quoted-printable\n"),
        # base64 body
        message(f"To: {addr['bob']}\n", "b64", b64, "Thu, 3 Jan 2019 10:01:00 +0000", "b64",
                "Content-Transfer-Encoding: base64\n"),
        # RFC 2047 encoded-word in the subject
        message(f"To: {addr['carol']}\n", ew, "hi\n", "Thu, 3 Jan 2019 10:02:00 +0000", "ew"),
        # HTML entities
        message(f"To: {addr['dave']}\n", "html", "<p>erin&#64;example&#x2e;com</p>\n",
                "Thu, 3 Jan 2019 10:03:00 +0000", "ent").replace("text/plain", "text/html"),
        # percent-encoded mailto: link
        message(f"To: {addr['erin']}\n", "pct", '<a href="mailto:frank%40example.com">x</a>\n',
                "Thu, 3 Jan 2019 10:04:00 +0000", "pct").replace("text/plain", "text/html"),
        # clean
        message(f"To: {addr['grace']}\n", "clean", f"Hello {addr['grace']}\n",
                "Thu, 3 Jan 2019 10:05:00 +0000", "clean"),
        # Cc and Bcc receive too; Delivered-To names the mailbox it was delivered to
        message(f"To: {addr['heidi']}\nCc: (ops) {addr['ivan']}\n", "cc", "hi\n",
                "Thu, 3 Jan 2019 10:06:00 +0000", "cc"),
    ]
    mbox = os.path.join(tmp, "enc.mbox")
    write_mbox(mbox, msgs)
    for extra in (["--audience", aud], []):
        rep, out = scope(s, mbox, "--list", *extra)
        by = {e["address"]: e for e in rep["exposed"]}
        want = {addr["bob"]: [addr["ann"]], addr["carol"]: [addr["bob"]],
                addr["dave"]: [addr["carol"]], addr["erin"]: [addr["dave"]],
                addr["frank"]: [addr["erin"]], addr["heidi"]: [addr["ivan"]],
                addr["ivan"]: [addr["heidi"]]}
        got = {a: e["viewed_by"] for a, e in by.items() if a != SENDER}
        check(got == want, f"encodings {extra}: got {got}")
        # Without an audience the sender's address counts: the clean message shows it to grace.
        want_exposing = 6 if extra else 7
        check(rep["exposing_messages"] == want_exposing,
              f"encodings {extra}: exposing {rep['exposing_messages']}")
        if not extra:
            check(by[SENDER]["viewed_by"] == sorted(a for p, a in addr.items() if p != "frank"),
                  f"sender viewers {by[SENDER]['viewed_by']}")


def test_bad_input(s, tmp):
    good = message("To: a@example.com, b@example.com\n", "s", "body\n",
                   "Fri, 4 Jan 2019 10:00:00 +0000", "good")
    mbox = os.path.join(tmp, "bad.mbox")
    with open(mbox, "wb") as f:
        f.write(b"From x Fri Jan  4 10:00:00 2019\n" + good.encode() + b"\n")
        off_junk = f.tell()
        f.write(b"From x Fri Jan  4 10:00:00 2019\n\x00\x01\x02 binary junk, no header\n\n")
        f.write(b"From x Fri Jan  4 10:00:00 2019\n" + good.replace("<good", "<second").encode() + b"\n")
        off_trunc = f.tell()
        f.write(b"From x Fri Jan  4 10:00:00 2019\n" + good.replace("<good", "<cut").encode()[:-3])
    rep, _ = scope(s, mbox)
    check(rep["bad_messages"] == 2, f"bad {rep['bad']}")
    check(rep["bad"][0]["offset"] == off_junk and "not a mail message" in rep["bad"][0]["reason"],
          f"junk {rep['bad']}")
    check(rep["bad"][1]["offset"] == off_trunc and "truncated" in rep["bad"][1]["reason"],
          f"truncated {rep['bad']}")
    check(rep["messages"] == 3, f"messages {rep['messages']} (the truncated one is still read)")
    check(rep["exposing_messages"] == 3 and rep["exposed_addresses"] == 3, f"{rep}")
    p = harness.run(s, "scope", mbox, "--out", os.path.join(tmp, "b.csv"), want=0)
    check(f"bad        {mbox}: offset {off_junk}: not a mail message" in p.stdout, p.stdout)

    # Not mail at all, empty, missing: a clear error naming the file and offset.
    junk = os.path.join(tmp, "picture.png")
    with open(junk, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    p = harness.run(s, "scope", junk, want=1)
    check(f"{junk}: offset 0: not mail" in p.stderr, p.stderr)
    empty = os.path.join(tmp, "empty.mbox")
    open(empty, "w").close()
    p = harness.run(s, "scope", empty, want=1)
    check(f"{empty}: offset 0: empty file" in p.stderr, p.stderr)
    p = harness.run(s, "scope", os.path.join(tmp, "nope"), want=1)
    check("no such file" in p.stderr, p.stderr)
    emptydir = os.path.join(tmp, "emptydir")
    os.makedirs(emptydir)
    p = harness.run(s, "scope", emptydir, want=1)
    check("no mail found" in p.stderr, p.stderr)

    # An .eml tree with one non-mail file: counted, named, the rest read.
    tree = os.path.join(tmp, "tree")
    os.makedirs(tree)
    with open(os.path.join(tree, "1.eml"), "w") as f:
        f.write(good)
    with open(os.path.join(tree, "2.eml"), "wb") as f:
        f.write(b"\xff\xfe garbage")
    rep, _ = scope(s, tree)
    check(rep["messages"] == 1 and rep["bad_messages"] == 1 and
          rep["bad"][0]["file"].endswith("2.eml"), f"tree {rep}")

    # A single .eml file.
    rep, _ = scope(s, os.path.join(tree, "1.eml"))
    check(rep["source"] == "eml file" and rep["exposed_addresses"] == 3, f"eml {rep}")


def test_notify_campaign(s, source, tmp, exposed_csv):
    """exposed.csv is directly the audience of the example notification campaign."""
    src = os.path.join(source, "examples", "notify")
    if not os.path.isdir(src):
        return
    d = os.path.join(tmp, "notify")
    shutil.copytree(src, d)
    shutil.copy(exposed_csv, os.path.join(d, "audience.csv"))
    p = harness.run(s, "check", d, "--json", want=0)
    rep = json.loads(p.stdout)
    check(rep["audience"]["accepted"] == 15500, f"notify check {rep['audience']}")


def main():
    a = harness.args()
    tmp = tempfile.mkdtemp(prefix="sm_scope_")
    try:
        exposed_csv = test_incident(a.sealmail, tmp)
        test_encodings(a.sealmail, tmp)
        test_bad_input(a.sealmail, tmp)
        test_notify_campaign(a.sealmail, a.source, tmp, exposed_csv)
    except Failure as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
