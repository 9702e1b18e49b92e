"""The user's DKIM commands, end to end:

- `sealmail check` prints the [dkim] result, refuses (exit 2) a From domain not
  aligned with d= (DMARC relaxed: same organisational domain), and refuses
  (exit 1, naming the file) a key that does not load or fit the algorithm;
  `send` refuses a misaligned campaign before anything is written.
- `sealmail dkim-record` prints the TXT record (<=255-octet strings) whose key
  is the campaign's; `--json` too.
- `sealmail verify FILE [DIR] [--key F]`: exit 0 only for a genuine message,
  2 with the right reason otherwise, 1 for usage errors.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import tempfile

import harness
from harness import check

TOOL = os.environ.get("SEALMAIL_DKIM_SIGN_TOOL", "")


def openssl(*argv):
    return subprocess.run(["openssl", *argv], capture_output=True, check=True, timeout=60).stdout


def genkey(path, kind="rsa", bits=2048):
    if kind == "rsa":
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}", "-out", path)
    else:
        openssl("genpkey", "-algorithm", "ED25519", "-out", path)


def campaign(a, tmp, name, dkim=None, from_addr=None, rows=None):
    parent, camp = harness.copy_campaign(os.path.join(a.source, "examples", "announce"), name)
    camp = shutil.move(camp, os.path.join(tmp, name))
    os.rmdir(parent)
    conf = open(os.path.join(camp, "campaign.toml"), encoding="utf-8").read()
    conf = re.sub(r'^name\s*=.*$', f'name = "{name}"', conf, count=1, flags=re.M)
    if from_addr:
        conf = re.sub(r'^from\s*=.*$', f'from = "{from_addr}"', conf, count=1, flags=re.M)
        conf = re.sub(r'^reply_to\s*=.*$', f'reply_to = "{from_addr}"', conf, count=1, flags=re.M)
    if dkim:
        conf += "\n[dkim]\n" + "".join(f'{k} = "{v}"\n' for k, v in dkim.items())
    with open(os.path.join(camp, "campaign.toml"), "w", encoding="utf-8") as f:
        f.write(conf)
    if rows:
        lines = open(os.path.join(camp, "audience.csv"), encoding="utf-8").read().splitlines()
        with open(os.path.join(camp, "audience.csv"), "w", encoding="utf-8") as f:
            f.write("\n".join(lines[:rows + 1]) + "\n")
    return camp


def verify(s, *argv, want):
    p = harness.run(s, "verify", *argv, "--json", want=want)
    return json.loads(p.stdout)


def test(a):
    s = a.sealmail
    tmp = tempfile.mkdtemp(prefix="sm_dkimcli_")
    try:
        key = os.path.join(tmp, "k.pem")
        genkey(key)
        edkey = os.path.join(tmp, "ed.pem")
        genkey(edkey, "ed25519")
        dk = {"domain": "example.com", "selector": "s2026", "key": key}

        # --- check: aligned, subdomain-aligned, misaligned, bad keys ---
        good = campaign(a, tmp, "good", dk, rows=5)
        out = harness.run(s, "check", good, want=0).stdout
        check("dkim       d=example.com s=s2026 rsa-sha256, 2048-bit RSA key" in out, out)
        check("aligned with d=example.com" in out, out)
        rep = json.loads(harness.run(s, "check", good, "--json", want=0).stdout)
        check(rep["dkim"]["aligned"] and rep["dkim"]["key_bits"] == 2048, rep["dkim"])

        sub = campaign(a, tmp, "sub", dk, from_addr="Example <news@mail.example.com>", rows=3)
        rep = json.loads(harness.run(s, "check", sub, "--json", want=0).stdout)
        check(rep["dkim"]["aligned"] and rep["dkim"]["from_org"] == "example.com", rep["dkim"])

        for name, dom, frm in [("mis", "example.net", None),
                               ("psl", "other.co.uk", "Shop <info@shop.co.uk>")]:
            camp = campaign(a, tmp, name, dict(dk, domain=dom), from_addr=frm, rows=3)
            out = harness.run(s, "check", camp, want=2).stdout
            check("NOT ALIGNED: From domain" in out and "BLOCKED" in out, out)
            rep = json.loads(harness.run(s, "check", camp, "--json", want=2).stdout)
            check(not rep["dkim"]["aligned"] and rep["exit"] == 2, rep["dkim"])
            p = harness.run(s, "send", camp, "--quiet", want=2)
            check("not aligned" in p.stderr, p.stderr)
            check(not os.path.exists(os.path.join(camp, ".sealmail", "state.db")),
                  f"{name}: send wrote a state")
            check(not os.listdir(os.path.join(camp, "out")) if os.path.isdir(
                os.path.join(camp, "out")) else True, f"{name}: send wrote messages")

        notkey = os.path.join(tmp, "notkey.pem")
        with open(notkey, "w") as f:
            f.write("hello\n")
        for name, conf, want_msg in [
                ("badkey", dict(dk, key=notkey), "[dkim] key: "),
                ("algmismatch", dict(dk, algorithm="ed25519-sha256"),
                 "needs an Ed25519 key, but the key is a 2048-bit RSA key"),
                ("edmismatch", dict(dk, key=edkey), "needs an RSA key"),
                ("badcanon", dict(dk, canonicalization="loose/loose"), "canonicalization")]:
            camp = campaign(a, tmp, name, conf, rows=2)
            p = harness.run(s, "check", camp, want=1)
            check(want_msg in p.stderr and "campaign.toml" in p.stderr, f"{name}: {p.stderr}")

        weak = os.path.join(tmp, "weak.pem")
        genkey(weak, "rsa", 1024)
        camp = campaign(a, tmp, "weak", dict(dk, key=weak), rows=2)
        out = harness.run(s, "check", camp, want=0).stdout
        check("note: a 1024-bit RSA key: RFC 8301 recommends 2048 bits" in out, out)

        # --- dkim-record ---
        line = harness.run(s, "dkim-record", good, want=0).stdout.strip()
        m = re.fullmatch(r's2026\._domainkey\.example\.com\. IN TXT((?: "[^"]*")+)', line)
        check(m is not None, line)
        strings = re.findall(r'"([^"]*)"', m.group(1))
        check(all(len(x) <= 255 for x in strings) and len(strings) == 2, strings)
        pub = base64.b64encode(openssl("pkey", "-in", key, "-pubout", "-outform", "DER")).decode()
        check("".join(strings) == "v=DKIM1; k=rsa; p=" + pub, "record is not the key's")
        j = json.loads(harness.run(s, "dkim-record", good, "--json", want=0).stdout)
        check(j["name"] == "s2026._domainkey.example.com." and j["strings"] == strings and
              j["value"] == "".join(strings) and j["key_bits"] == 2048, j)
        edc = campaign(a, tmp, "edc", dict(dk, key=edkey, algorithm="ed25519-sha256"), rows=3)
        j = json.loads(harness.run(s, "dkim-record", edc, "--json", want=0).stdout)
        edpub = base64.b64encode(
            openssl("pkey", "-in", edkey, "-pubout", "-outform", "DER")[-32:]).decode()
        check(j["value"] == "v=DKIM1; k=ed25519; p=" + edpub, j)
        nodkim = campaign(a, tmp, "nodkim", None, rows=2)
        p = harness.run(s, "dkim-record", nodkim, want=1)
        check("no [dkim] section" in p.stderr, p.stderr)

        # --- verify ---
        # Before any send: a preview is ours, but nothing can confirm it left.
        pv = os.path.join(tmp, "preview.eml")
        with open(pv, "w", encoding="utf-8", newline="") as f:
            f.write(harness.run(s, "preview", good, "--to", "Huynh.mai@example.com",
                                want=0).stdout)
        r = verify(s, pv, good, want=0)
        check(r["genuine"] and r["state"] == "no state" and r["message_id_ours"], r)

        harness.run(s, "send", good, "--quiet", want=0)
        outdir = os.path.join(good, "out")
        files = sorted(os.listdir(outdir))
        sent = os.path.join(outdir, files[0])
        r = verify(s, sent, good, want=0)
        check(r["genuine"] and r["state"] == "sent" and r["signatures"][0]["result"] == "pass", r)
        out = harness.run(s, "verify", sent, good, want=0).stdout
        check("result     GENUINE" in out, out)
        # With the published record instead of the private key.
        rec = os.path.join(tmp, "record.txt")
        with open(rec, "w") as f:
            f.write(line + "\n")  # the zone line itself is accepted
        r = verify(s, sent, "--key", rec, want=0)
        check(r["genuine"] and not r["campaign_checked"], r)
        r = verify(s, sent, good, "--key", rec, want=0)
        check(r["genuine"] and r["state"] == "sent", r)

        raw = open(sent, "rb").read()

        def variant(name, data):
            path = os.path.join(tmp, name + ".eml")
            with open(path, "wb") as f:
                f.write(data)
            return path

        head_end = raw.index(b"\r\n\r\n")
        body_changed = raw[:head_end] + raw[head_end:].replace(b"=", b"=3D=", 1)
        subject_changed = re.sub(rb"\r\nSubject: ", b"\r\nSubject: URGENT ", raw, count=1)
        unsigned = raw[raw.index(b"\r\nDate: ") + 2:]
        for name, data, reason in [
                ("body", body_changed, "body changed: "),
                ("subject", subject_changed, "header changed: "),
                ("unsigned", unsigned, "no signature: ")]:
            r = verify(s, variant(name, data), good, want=2)
            check(not r["genuine"] and r["reason"].startswith(reason), f"{name}: {r['reason']}")
        out = harness.run(s, "verify", variant("body", body_changed), good, want=2).stdout
        check("NOT GENUINE: body changed" in out, out)

        # Another sender's domain and key: wrong domain.
        other_key = os.path.join(tmp, "other.pem")
        genkey(other_key)
        evil = campaign(a, tmp, "evil", {"domain": "example.net", "selector": "s2026",
                                          "key": other_key},
                        from_addr="Example Exchange <support@example.net>", rows=3)
        pe = variant("evil", harness.run(s, "preview", evil, "--to", "Huynh.mai@example.com",
                                          want=0).stdout.encode())
        r = verify(s, pe, good, want=2)
        check(r["reason"] == "wrong domain: signed by d=example.net, not by example.com", r)

        # Same domain and selector, another key (a phisher guessing, or a rotated key).
        spoof = campaign(a, tmp, "good-spoof", dict(dk, key=other_key), rows=3)
        ps = variant("spoof", harness.run(s, "preview", spoof, "--to", "Huynh.mai@example.com",
                                           want=0).stdout.encode())
        r = verify(s, ps, good, want=2)
        check(r["reason"].startswith("key mismatch: the signature was not made with the key"), r)

        # Our key, another selector.
        othersel = campaign(a, tmp, "othersel", dict(dk, selector="s2025"), rows=3)
        po = variant("othersel", harness.run(s, "preview", othersel, "--to",
                                             "Huynh.mai@example.com", want=0).stdout.encode())
        r = verify(s, po, good, want=2)
        check("signed with selector s=s2025, but the campaign's key is s2026._domainkey" in
              r["reason"], r)

        # Our key and domain, another campaign: its Message-ID is not ours.
        sibling = campaign(a, tmp, "sibling", dk, rows=3)
        pb = variant("sibling", harness.run(s, "preview", sibling, "--to",
                                            "Huynh.mai@example.com", want=0).stdout.encode())
        r = verify(s, pb, good, want=2)
        check(r["reason"].startswith("unknown Message-ID: ") and not r["message_id_ours"], r)

        # A recipient who is not in the state (added after the send).
        with open(os.path.join(good, "audience.csv"), "a", encoding="utf-8") as f:
            f.write("late.comer@example.org,Late,Comer,free\n")
        pl = variant("late", harness.run(s, "preview", good, "--to", "late.comer@example.org",
                                         want=0).stdout.encode())
        r = verify(s, pl, good, want=2)
        check(r["reason"].startswith("unknown recipient: late.comer@example.org"), r)

        # Valid signature for a From that is not aligned with d=.
        if TOOL:
            msg = (b"From: Boss <boss@example.org>\r\nTo: a@example.org\r\nSubject: x\r\n"
                   b"Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\nhi\r\n")
            signed = subprocess.run([TOOL, key, "example.com", "s2026"], input=msg,
                                    capture_output=True, check=True).stdout
            r = verify(s, variant("unaligned", signed), "--key", rec, want=2)
            check(r["reason"].startswith("wrong domain: the signature by d=example.com is valid, "
                                         "but the From domain example.org is not aligned"), r)

        # LF line ends (a saved message) still verify.
        r = verify(s, variant("lf", raw.replace(b"\r\n", b"\n")), good, want=0)
        check(r["genuine"], r)

        # Usage errors: exit 1.
        for argv, msg in [
                (["verify", sent], "give the campaign DIR, or --key"),
                (["verify", os.path.join(tmp, "missing.eml"), good], "missing.eml"),
                (["verify", sent, "--key", notkey], "--key "),
                (["verify", sent, nodkim], "no [dkim] section")]:
            p = harness.run(s, *argv, want=1)
            check(msg in p.stderr, f"{argv}: {p.stderr}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    harness.main(test)
