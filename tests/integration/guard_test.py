"""Adversarial campaigns through the CLI: each must be blocked by the leak
guard with nothing leaked (check exits 2 listing masked violations; send
exits 2 with no message written and the recipient marked blocked), and
legitimate campaigns must pass."""
import json
import os
import shutil
import sqlite3
import tempfile

import harness
from harness import check

AUDIENCE = ("email,first_name,referrer\n"
            "jo@example.net,Jo,\n"
            "al@example.net,Al,\n"
            "kunde@bücher.example,Kunde,\n"
            "cy@example.org,Cy,\n")


def campaign(tmp, name, subject="Hello {{first_name}}", text="Hi {{first_name}}\n",
             html=None, audience=AUDIENCE, extra_message="", to_name=None):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    toml = (f'name = "{name}"\n[message]\nfrom = "Example <support@example.com>"\n'
            f'subject = "{subject}"\ntext = "body.txt"\n')
    if html is not None:
        toml += 'html = "body.html"\n'
        with open(os.path.join(d, "body.html"), "w", encoding="utf-8") as f:
            f.write(html)
    if to_name is not None:
        toml += f'to_name = "{to_name}"\n'
    toml += extra_message
    toml += '[audience]\ncsv = "audience.csv"\n[transport]\nurl = "dir:out"\n'
    for fname, content in (("campaign.toml", toml), ("body.txt", text),
                           ("audience.csv", audience)):
        with open(os.path.join(d, fname), "w", encoding="utf-8") as f:
            f.write(content)
    return d


def blocked(s, d, why):
    p = harness.run(s, "check", d, want=2)
    check("BLOCKED" in p.stdout, f"{why}: check did not list the violation:\n{p.stdout}")
    report = "\n".join(l for l in p.stdout.splitlines() if "BLOCKED" in l)
    for leaked in ("jo@example.net", "al@example.net", "cy@example.org", "kunde@"):
        check(leaked not in report, f"{why}: report shows a full address {leaked}:\n{report}")
    j = json.loads(harness.run(s, "check", d, "--json", want=2).stdout)
    check(j["violations"], f"{why}: no violations in --json")
    p = harness.run(s, "send", d, "--quiet", want=2)
    out = os.path.join(d, "out")
    check(not os.path.exists(out) or not os.listdir(out), f"{why}: send wrote messages")
    st = json.loads(harness.run(s, "status", d, "--json", want=0).stdout)
    check(st["blocked"] >= 1 and st["sent"] == 0, f"{why}: status {st}")


def audience_read_once_or_twice(s, tmp):
    """An audience file of up to 4 MiB is read once: preflight takes the rows
    the guard's set was built from. A larger one is read again. Both must
    give the same report (the same rows refused for the same reasons at the
    same lines, the same violation) and send the same messages."""
    rows = ["jo@example.net,Jo,,{pad}", "al@example.net,Al,,{pad}",
            "not-an-address,Nn,,{pad}", "cy@example.org,Cy,{ref},{pad}",
            "JO@example.net,Dup,,{pad}", "kunde@bücher.example,Kunde,,{pad}"]
    checks, sends = {}, {}
    # 6 rows of 950,000 bytes: 5.7 MB, well past the 4 MiB kept (and under
    # the reader's 1 MiB a record).
    for name, pad in (("kept1", "x"), ("read1", "p" * 950000)):
        for ref in ("jo@example.net", ""):  # a violation, then none
            audience = "email,first_name,referrer,pad\n" + "".join(
                r.format(pad=pad, ref=ref) + "\n" for r in rows)
            tag = "v" if ref else "ok"
            d = campaign(tmp, f"{name}{tag}", text="Hi {{first_name}} {{referrer}}\n",
                         audience=audience)
            size = os.path.getsize(os.path.join(d, "audience.csv"))
            check((size < 4 << 20) == (name == "kept1"), f"{name}: audience of {size} bytes")
            want = 2 if ref else 0
            j = json.loads(harness.run(s, "check", d, "--json", want=want).stdout)
            j.pop("campaign", None)
            checks[name + tag] = j
            j = json.loads(harness.run(s, "send", d, "--quiet", "--json", want=want).stdout)
            check(j["stages"]["audience_reads"] == (1 if name == "kept1" else 2),
                  f"{name}{tag}: stages {j['stages']}")
            out = os.path.join(d, "out")
            to = []  # the To of each message written (file names hold the campaign's name)
            for f in sorted(os.listdir(out)) if os.path.exists(out) else []:
                with open(os.path.join(out, f), encoding="utf-8", errors="replace") as m:
                    to += [l.strip() for l in m if l.startswith("To:")]
            sends[name + tag] = (j["sent"], j["state"], sorted(to))
    for tag in ("v", "ok"):
        a, b = checks["kept1" + tag], checks["read1" + tag]
        check(a == b, f"the audience read once and twice disagree:\n{a}\n{b}")
        check(a["audience"] == {"accepted": 4, "duplicates": 1, "invalid": 1, "rows": 6},
              f"audience {a['audience']}")
        check([e["line"] for e in a["audience_errors"]] == [4, 6],
              f"errors {a['audience_errors']}")
        check(sends["kept1" + tag] == sends["read1" + tag],
              f"sent {sends['kept1' + tag]} against {sends['read1' + tag]}")
    check(len(checks["kept1v"]["violations"]) == 1 and not checks["kept1ok"]["violations"],
          f"violations {checks['kept1v']['violations']}")
    check(sends["kept1ok"][0] == 4 and len(sends["kept1ok"][2]) == 4 and sends["kept1v"][0] == 0,
          f"sent {sends}")


def audience_kept_in_chunks(s, tmp):
    """The rows pass one keeps are handed to preflight in chunks of 512: an
    audience of 1,300 rows (three chunks, the last one short) and one of
    1,024 (the file ends where a chunk does) read once must send to every
    row exactly once, and judge a row in the last chunk, exactly as when
    they are read twice (the same rows padded past 4 MiB)."""
    for n in (1300, 1024):
        bad = n - 10  # in the last chunk; names row 3
        results = {}
        for name, pad in ((f"chunks{n}k", ""), (f"chunks{n}r", "p" * 4300)):
            for ref in ("u3@example.net", ""):  # a violation, then none
                lines = ["email,first_name,referrer,pad"]
                for i in range(n):
                    lines.append(f"u{i}@example.net,U{i},{ref if i == bad else ''},{pad}")
                d = campaign(tmp, f"{name}{'v' if ref else 'ok'}",
                             text="Hi {{first_name}} {{referrer}}\n",
                             audience="\n".join(lines) + "\n")
                size = os.path.getsize(os.path.join(d, "audience.csv"))
                kept = name.endswith("k")
                check((size < 4 << 20) == kept, f"{name}: audience of {size} bytes")
                want = 2 if ref else 0
                c = json.loads(harness.run(s, "check", d, "--json", want=want).stdout)
                j = json.loads(harness.run(s, "send", d, "--quiet", "--json", want=want).stdout)
                check(j["stages"]["audience_reads"] == (1 if kept else 2),
                      f"{name}: stages {j['stages']}")
                to = []
                out = os.path.join(d, "out")
                for f in os.listdir(out) if os.path.exists(out) else []:
                    with open(os.path.join(out, f), encoding="utf-8") as m:
                        to += [l.strip()[4:] for l in m if l.startswith("To:")]
                results[(kept, bool(ref))] = (c["audience"], c["messages"]["rendered"],
                                              [v["recipient"] for v in c["violations"]],
                                              j["sent"], sorted(to))
        for ref in (True, False):
            a, b = results[(True, ref)], results[(False, ref)]
            check(a == b, f"{n}: kept in chunks and read twice disagree: {a[:4]} / {b[:4]}")
        audience, rendered, violations, sent, to = results[(True, False)]
        check(audience["accepted"] == n and rendered == n and not violations,
              f"{n}: {audience} {rendered}")
        check(sent == n and to == sorted(f"u{i}@example.net" for i in range(n)),
              f"{n}: sent {sent}, {len(to)} messages, {len(set(to))} recipients")
        audience, rendered, violations, sent, to = results[(True, True)]
        check(len(violations) == 1 and violations[0].startswith(f"u{bad}@") and sent == 0,
              f"{n}: violations {violations}, sent {sent}")

def test(a):
    s = a.sealmail
    tmp = tempfile.mkdtemp(prefix="sm_guard_")
    try:
        ref = AUDIENCE.replace("jo@example.net,Jo,", "jo@example.net,Jo,al@example.net")
        cases = [
            ("referrer in body", dict(text="Hi {{first_name}}, {{referrer}} referred you\n",
                                      audience=ref)),
            ("referrer in subject", dict(subject="From {{referrer}}", audience=ref)),
            ("referrer in display name", dict(to_name="{{first_name}} ({{referrer}})",
                                              audience=ref)),
            ("referrer in mailto", dict(html='<a href="mailto:{{referrer}}">ask</a>',
                                        audience=ref)),
            ("reply-to is a customer", dict(extra_message='reply_to = "al@example.net"\n')),
            ("from is a customer", dict(extra_message="")),
            ("static list in body", dict(text="Also mailed: al@example.net, cy@example.org\n")),
            ("qp soft break", dict(text="x" * 70 + " al@example.net\n")),
            ("upper case", dict(text="AL@EXAMPLE.NET\n")),
            ("html entities", dict(html="<p>al&#64;example.net</p>")),
            ("idn u-label", dict(text="kunde@BÜCHER.example\n")),
            ("idn a-label", dict(text="kunde@xn--bcher-kva.example\n")),
            ("refused row's address", dict(
                audience=AUDIENCE + '"dd@example.com, ee@example.com",Dd,\n',
                text="ee@example.com\n")),
        ]
        for i, (why, kw) in enumerate(cases):
            d = campaign(tmp, f"c{i}", **kw)
            if why == "from is a customer":
                with open(os.path.join(d, "campaign.toml"), encoding="utf-8") as f:
                    t = f.read().replace("support@example.com", "cy@example.org")
                with open(os.path.join(d, "campaign.toml"), "w", encoding="utf-8") as f:
                    f.write(t)
            blocked(s, d, why)
        # Legitimate: own address, support address, non-members.
        d = campaign(tmp, "ok", text="Sent to {{email}}. Help: support@example.com, "
                     "partner news@partner.example\n",
                     html='<a href="mailto:support@example.com">{{email}}</a>')
        harness.run(s, "check", d, want=0)
        sent = json.loads(harness.run(s, "send", d, "--quiet", "--json", want=0).stdout)
        check(len(os.listdir(os.path.join(d, "out"))) == 4, "legitimate campaign not sent")
        # Preflight proved each message; the send phase composed it again and
        # reused that proof (the bytes hash the same but for the Date value).
        check(sent["stages"]["guard_proofs_reused"] == 4, f"proofs reused: {sent['stages']}")
        # scope over the audit trail: nobody saw anyone else's address...
        sc = json.loads(harness.run(s, "scope", d, "--json", want=0).stdout)
        check(sc["messages"] == 4 and sc["recipients"] == 4 and sc["exposed_addresses"] == 0,
              f"scope {sc}")
        # ...and when a trail does record an exposure (written here by hand, as
        # an older sender without the guard would have), scope names who saw whom.
        db = sqlite3.connect(os.path.join(d, ".sealmail", "state.db"))
        db.execute("UPDATE audit SET found = email || char(10) || 'al@example.net' "
                   "WHERE email = 'jo@example.net'")
        db.commit()
        db.close()
        sc = json.loads(harness.run(s, "scope", d, "--json", "--list", want=0).stdout)
        check(sc["exposed_addresses"] == 1 and sc["exposing_messages"] == 1, f"scope {sc}")
        e = sc["exposed"][0]
        check(e["address"] == "al@example.net" and e["viewed_by"] == ["jo@example.net"],
              f"scope exposed {e}")
        audience_read_once_or_twice(s, tmp)
        audience_kept_in_chunks(s, tmp)
        print(f"{len(cases)} adversarial campaigns blocked; legitimate campaign sent")
    finally:
        shutil.rmtree(tmp)


harness.main(test)
