#!/usr/bin/python3
"""Reference MIME walk with Python's `email` package, for sealmail's decoder tests.

For each message file given, prints one JSON line for the message
  {"file": NAME, "subject": TEXT, "subject_hex": HEX}
and then one JSON line per leaf part (not multipart, not message/*), in walk
order:
  {"content_type": ..., "charset": ..., "filename": ..., "len": N, "sha256": HEX}
with len/sha256 of get_payload(decode=True). Subject is the decoded header
(policy=default); subject_hex is its UTF-8 (surrogateescape) bytes, the field
that is compared, since undecodable bytes make the text form lossy.

Usage: mime_walk.py FILE...
"""
import email
import email.policy
import hashlib
import json
import os
import sys


def walk(path):
    with open(path, 'rb') as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.default)
    subject = msg['subject']
    subject = None if subject is None else str(subject)
    head = {'file': os.path.basename(path), 'subject': None, 'subject_hex': None}
    if subject is not None:
        raw = subject.encode('utf-8', 'surrogateescape')
        head['subject'] = raw.decode('utf-8', 'replace')
        head['subject_hex'] = raw.hex()
    print(json.dumps(head, sort_keys=True))
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b''
        print(json.dumps({
            'content_type': part.get_content_type(),
            'charset': part.get_content_charset(),
            'filename': part.get_filename(),
            'len': len(payload),
            'sha256': hashlib.sha256(payload).hexdigest(),
        }, sort_keys=True))


def main():
    if len(sys.argv) < 2:
        sys.exit('usage: mime_walk.py FILE...')
    for path in sys.argv[1:]:
        walk(path)


if __name__ == '__main__':
    main()
