"""A capturing SMTP server for the tests (Debian's python3-aiosmtpd), on
127.0.0.1 only: optional STARTTLS (required when a certificate is given),
optional AUTH (required when a user is given), RCPT refused with 550 for
addresses that start with --reject-prefix, optional PIPELINING advertised
(--pipelining; aiosmtpd reads commands in order from its stream, so it takes
pipelined ones as they come). Each message is written to OUT/<n>.eml exactly
as received, with OUT/<n>.json for its envelope and whether more bytes (the
next transaction, pipelined) had already arrived behind its final ".".
Runs until SIGTERM."""
import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Capture:
    def __init__(self, out, reject_prefix):
        self.out = out
        self.reject = reject_prefix
        self.n = itertools.count()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject and address.startswith(self.reject):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        i = next(self.n)
        with open(os.path.join(self.out, f"{i}.eml"), "wb") as f:
            f.write(envelope.original_content)
        # (StreamReader's buffer: private, but this is a test of our client.)
        behind = len(getattr(server._reader, "_buffer", b""))
        with open(os.path.join(self.out, f"{i}.json"), "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "tls": session.ssl is not None,
                       "auth": bool(getattr(session, "authenticated", False)),
                       "bytes_behind": behind}, f)
        return "250 2.0.0 OK queued"


class PipeliningCapture(Capture):
    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING", responses[-1]]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--reject-prefix", default="")
    p.add_argument("--implicit", action="store_true", help="TLS from the first byte (smtps)")
    p.add_argument("--pipelining", action="store_true", help="advertise PIPELINING")
    a = p.parse_args()
    ctx = None
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)

    def auth(server, session, envelope, mechanism, data):
        ok = (isinstance(data, LoginPassword) and data.login == a.user.encode()
              and data.password == a.password.encode())
        return AuthResult(success=ok, handled=False)

    kwargs = dict(enable_SMTPUTF8=True)
    if ctx is not None and a.implicit:
        kwargs.update(ssl_context=ctx)
    elif ctx is not None:
        kwargs.update(tls_context=ctx, require_starttls=True)
    if a.user:
        # aiosmtpd counts only STARTTLS as TLS for auth_require_tls.
        kwargs.update(authenticator=auth, auth_required=True,
                      auth_require_tls=ctx is not None and not a.implicit)
    handler = (PipeliningCapture if a.pipelining else Capture)(a.out, a.reject_prefix)
    c = Controller(handler, hostname="127.0.0.1", port=a.port, **kwargs)
    c.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    c.stop()


if __name__ == "__main__":
    main()
