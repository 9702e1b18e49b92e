"""Bad input through the whole CLI: each gets a defined exit code and a
message naming file, line and field; good rows still go out; and no merge
value can add a header, an address or a MIME part (checked by Python's
email package, not by our own parser)."""
import email
import email.policy
import json
import os
import shutil
import tempfile

import harness
from harness import check

TOML = """name = "bad-inputs"
[message]
from = "Example <support@example.com>"
subject = "Hello {{first_name}}"
to_name = "{{first_name}} {{last_name}}"
text = "body.txt"
html = "body.html"
[audience]
csv = "audience.csv"
[transport]
url = "dir:out"
"""

CSV = (
    "email,first_name,last_name,note\n"                                   # 1
    "ok1@example.com,Ann,Lee,plain\n"                                     # 2
    '"two@example.com, three@example.com",Bo,Li,comma\n'                  # 3
    "four@example.com;five@example.com,Cy,Ma,semicolon\n"                 # 4
    "six@example.com seven@example.com,Di,Ng,space\n"                     # 5
    '"eight@example.com\nnine@example.com",Ed,Wu,newline\n'               # 6-7
    "not-an-address,Fa,Xu,bad\n"                                          # 8
    "OK1@EXAMPLE.COM,Gu,Yi,duplicate\n"                                   # 9
    "short@example.com,Ha\n"                                              # 10
    '"inject@example.com","Ivy\r\nBcc: victim@example.org",Oh,subject\n'  # 11-12
    'name@example.com,Jo,"Evil <victim@example.org>, x@example.org",display\n'  # 13
    'body@example.com,Kim,Lo,"--=_sm_x\r\nContent-Type: text/html\r\n\r\n<b>fake part</b>"\n'  # 14-17
    "ok2@bücher.example,Lu,Ma,idn\n"                                      # 18
)


def write(d, name, text):
    with open(os.path.join(d, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def campaign(tmp, name, toml=TOML, csv_text=CSV, text="Hi {{first_name}}\n{{note}}\n",
             html="<p>{{first_name}} {{note}}</p>"):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    write(d, "campaign.toml", toml)
    write(d, "audience.csv", csv_text)
    write(d, "body.txt", text)
    write(d, "body.html", html)
    return d


def test(a):
    s = a.sealmail
    tmp = tempfile.mkdtemp(prefix="sm_bad_")
    try:
        d = campaign(tmp, "c")
        p = harness.run(s, "check", d, want=0)
        out = p.stdout
        for want in [
            "audience.csv:3: email: contains ','",
            "audience.csv:4: email: contains ';'",
            "audience.csv:5: email:",
            "audience.csv:6: email:",
            "audience.csv:8: email:",
            "audience.csv:9: email: duplicate of line 2",
            "audience.csv:10:",
            'audience.csv:11: field "first_name" puts a line break into the subject',
        ]:
            check(want in out, f"check output lacks {want!r}:\n{out}")
        check("victim@example.org" not in out, "a report printed a full customer address")
        harness.run(s, "check", d, "--strict", want=2)
        rep = json.loads(harness.run(s, "check", d, "--json", want=0).stdout)
        check(rep["audience"]["duplicates"] == 1, f"duplicates {rep['audience']}")
        check(rep["messages"]["refused"] == 1, f"refused {rep['messages']}")
        good = rep["messages"]["rendered"]
        check(good == 4, f"want 4 good recipients (ok1, name, body, ok2), got {good}")

        # send: refused rows stay out, the rest go, nothing injected.
        harness.run(s, "send", d, "--quiet", want=0)
        outdir = os.path.join(d, "out")
        files = os.listdir(outdir)
        check(len(files) == 4, f"{len(files)} files")
        tos = set()
        for f in files:
            msg = email.message_from_bytes(open(os.path.join(outdir, f), "rb").read(),
                                           policy=email.policy.default)
            check(not msg.defects, f"{f}: {msg.defects}")
            check(msg.get_all("Bcc") is None and msg.get_all("Cc") is None, f"{f}: Bcc/Cc")
            check(len(msg["To"].addresses) == 1, f"{f}: To {msg['To']}")
            tos.add(msg["To"].addresses[0].addr_spec)
            parts = [p for p in msg.walk() if not p.is_multipart()]
            check(len(parts) == 2, f"{f}: {len(parts)} parts")
            if msg["To"].addresses[0].addr_spec == "name@example.com":
                check(msg["To"].addresses[0].display_name == "Jo Evil <victim@example.org>, x@example.org",
                      f"display name {msg['To'].addresses[0].display_name!r}")
            if msg["To"].addresses[0].addr_spec == "body@example.com":
                check("<b>fake part</b>" in parts[0].get_content(), "fake part not kept as text")
        check(tos == {"ok1@example.com", "name@example.com", "body@example.com",
                      "ok2@xn--bcher-kva.example"}, f"recipients {tos}")

        # Configuration errors: exit 1, file and line named.
        d2 = campaign(tmp, "c2", toml=TOML.replace("subject =", "subjet ="))
        p = harness.run(s, "check", d2, want=1)
        check("campaign.toml:4: unknown key [message] subjet" in p.stderr, p.stderr)
        # A template that names a missing column: preflight refuses (exit 2).
        d3 = campaign(tmp, "c3", text="Hi {{first_name}}\nYour {{referal}}\n")
        p = harness.run(s, "check", d3, want=2)
        check("body.txt:2: {{referal}} is not a column of the audience" in p.stderr, p.stderr)
        p = harness.run(s, "send", d3, want=2)
        check(not os.path.exists(os.path.join(d3, "out")) or not os.listdir(os.path.join(d3, "out")),
              "send wrote messages despite a template error")
        # Broken CSV structure: the whole file is refused with its line.
        d4 = campaign(tmp, "c4", csv_text="email,first_name,last_name,note\n"
                      "a@example.com,A,B,C\n\"b@example.com,B,C,D\n")
        p = harness.run(s, "check", d4, want=1)
        check("audience.csv:3" in p.stderr, p.stderr)
        d5 = campaign(tmp, "c5", csv_text="mail,first_name\na@example.com,A\n")
        p = harness.run(s, "check", d5, want=1)
        check("audience.csv:1" in p.stderr and "email" in p.stderr, p.stderr)
        # preview of someone outside the audience.
        p = harness.run(s, "preview", d, "--to", "stranger@example.com", want=1)
        check("not in audience.csv" in p.stderr, p.stderr)
        # Unknown command / missing DIR: usage error.
        harness.run(s, "launch", d, want=1)
        harness.run(s, "check", want=1)
    finally:
        shutil.rmtree(tmp)


harness.main(test)
