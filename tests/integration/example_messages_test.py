"""`sealmail send` on the bundled example writes one file per recipient, and
every file parses with Python's email package (policy=default) with no
defects, exactly one To address equal to the recipient, and subject and
bodies equal to an independent rendering of the templates."""
import email
import email.policy
import json
import os
import re
import shutil

import harness
from harness import check


def test(a):
    tmp, camp = harness.copy_campaign(os.path.join(a.source, "examples", "announce"))
    try:
        s = a.sealmail
        harness.run(s, "check", camp, want=0)
        rep = json.loads(harness.run(s, "check", camp, "--json", want=0).stdout)
        rows = harness.read_csv(os.path.join(camp, "audience.csv"))
        check(rep["audience"]["rows"] == len(rows), f"rows {rep['audience']}")
        accepted = rep["audience"]["accepted"]
        check(accepted >= 250, f"example has {accepted} accepted recipients")
        check(rep["violations"] == [], "guard violations in the example")

        harness.run(s, "send", camp, "--quiet", want=0)
        out = os.path.join(camp, "out")
        files = sorted(os.listdir(out))
        check(len(files) == accepted, f"{len(files)} files for {accepted} recipients")

        conf = open(os.path.join(camp, "campaign.toml"), encoding="utf-8").read()
        subject_t = re.search(r'^subject\s*=\s*"(.*)"', conf, re.M).group(1)
        to_name_t = re.search(r'^to_name\s*=\s*"(.*)"', conf, re.M).group(1)
        text_t = open(os.path.join(camp, "body.txt"), encoding="utf-8").read()
        html_t = open(os.path.join(camp, "body.html"), encoding="utf-8").read()
        by_addr = {}
        for row in rows:
            row = dict(row)
            row["email"] = harness.idna_address(row["email"])
            by_addr.setdefault(row["email"].lower(), row)

        ids = set()
        for name in files:
            raw = open(os.path.join(out, name), "rb").read()
            check(b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b""),
                  f"{name}: not CRLF throughout")
            check(all(len(l) <= 998 for l in raw.split(b"\r\n")), f"{name}: line over 998")
            msg = harness.parse(raw)
            check(not msg.defects, f"{name}: defects {msg.defects}")
            for part in msg.walk():
                check(not part.defects, f"{name}: part defects {part.defects}")
            to = msg["To"]
            harness.check_header_defects(name, to)
            check(len(to.addresses) == 1, f"{name}: To has {len(to.addresses)} addresses")
            addr = to.addresses[0].addr_spec
            row = by_addr.get(addr.lower())
            check(row is not None, f"{name}: To {addr} is not an audience member")
            check(msg.get_all("Cc") is None and msg.get_all("Bcc") is None, f"{name}: Cc/Bcc")
            check(len(msg.get_all("To")) == 1, f"{name}: several To headers")
            check(str(msg["Subject"]) == harness.render(subject_t, row, False),
                  f"{name}: subject {msg['Subject']!r}")
            check(to.addresses[0].display_name == harness.render(to_name_t, row, False),
                  f"{name}: To name {to.addresses[0].display_name!r}")
            check(msg["Message-ID"] not in ids, f"{name}: duplicate Message-ID")
            ids.add(msg["Message-ID"])
            check(msg.get_content_type() == "multipart/alternative", f"{name}: not alternative")
            text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
            want_text = harness.render(text_t, row, False)
            check(text == want_text, f"{name}: text part differs:\n{text!r}\n{want_text!r}")
            body = msg.get_body(("html",)).get_content().replace("\r\n", "\n")
            want_html = harness.render(html_t, row, True)
            check(body == want_html, f"{name}: html part differs:\n{body!r}\n{want_html!r}")
            check(msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", f"{name}: RFC 8058")
        # Running send again writes nothing twice.
        before = {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in files}
        again = harness.run(s, "send", camp, "--json", "--quiet", want=0)
        j = json.loads(again.stdout)
        check(j["attempted"] == 0 and j["sent"] == 0, f"second send did work: {j}")
        after = {f: os.stat(os.path.join(out, f)).st_mtime_ns for f in os.listdir(out)}
        check(before == after, "second send touched files")
        st = json.loads(harness.run(s, "status", camp, "--json", want=0).stdout)
        for k in ("total", "pending", "sent", "deferred", "failed", "suppressed", "blocked",
                  "uncertain"):
            check(isinstance(st[k], int), f"status --json lacks {k}")
        check(st["total"] == accepted and st["sent"] == accepted, f"status {st}")
        # preview prints exactly the bytes that were sent (Date aside).
        some = harness.read_csv(os.path.join(camp, "audience.csv"))[0]["email"]
        prev = harness.run(s, "preview", camp, "--to", some, want=0).stdout
        pm = harness.parse(prev.encode("utf-8"))
        check(pm["To"].addresses[0].addr_spec.lower() == harness.idna_address(some).lower(),
              "preview To")
        print(f"{len(files)} messages parsed by Python's email package; all match")
    finally:
        shutil.rmtree(tmp)


harness.main(test)
