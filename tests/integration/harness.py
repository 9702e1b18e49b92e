"""Shared helpers for sealmail's end-to-end tests: run the binary on a copy of
a campaign in a temp directory, and render the example's templates
independently (a tiny Mustache subset: {{name}} only) to know what each
recipient must receive."""
import argparse
import csv
import email
import email.policy
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--sealmail", required=True)
    p.add_argument("--source", required=True)
    return p.parse_args()


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run(sealmail, *argv, want=None, env=None):
    p = subprocess.run([sealmail, *argv], capture_output=True, text=True, env=env, timeout=300)
    if want is not None and p.returncode != want:
        raise Failure(f"sealmail {' '.join(argv)}: exit {p.returncode}, want {want}\n"
                      f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def copy_campaign(source_dir, name="announce"):
    tmp = tempfile.mkdtemp(prefix="sm_it_")
    dst = os.path.join(tmp, name)
    shutil.copytree(source_dir, dst, ignore=shutil.ignore_patterns(".sealmail", "out"))
    return tmp, dst


def render(template, row, escape):
    def sub(m):
        v = row[m.group(1)]
        return html.escape(v, quote=True).replace("&#x27;", "&apos;") if escape else v
    return re.sub(r"\{\{\s*([A-Za-z0-9_-]+)\s*\}\}", sub, template)


def idna_address(addr):
    local, _, domain = addr.strip().rpartition("@")
    labels = []
    for label in domain.lower().split("."):
        try:
            label.encode("ascii")
            labels.append(label)
        except UnicodeEncodeError:
            labels.append("xn--" + label.encode("punycode").decode("ascii"))
    return local + "@" + ".".join(labels)


def parse(raw):
    """Python's email package, policy=default. An internationalised message
    (RFC 6532: UTF-8 in headers, for SMTPUTF8 recipients) is decoded as UTF-8
    first: message_from_bytes would read its header bytes as undecodable."""
    try:
        raw.decode("ascii")
        return email.message_from_bytes(raw, policy=email.policy.default)
    except UnicodeDecodeError:
        return email.message_from_string(raw.decode("utf-8"), policy=email.policy.default)


def check_header_defects(name, header):
    """No defects in an address header, except the one Python reports for
    every non-ASCII local part: it applies RFC 5322, where RFC 6532 (which
    SMTPUTF8 mail follows) allows UTF-8 there."""
    for d in header.defects:
        allowed = type(d).__name__ == "NonASCIILocalPartDefect" and any(
            ord(c) > 127 for a in header.addresses for c in a.username)
        check(allowed, f"{name}: {header.name} defect {d!r}")


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def main(fn):
    a = args()
    try:
        fn(a)
    except Failure as e:
        print("FAIL:", e)
        sys.exit(1)
    print("ok")
