"""url = "mx:" end to end, on 127.0.0.1 only: recipient domains mapped by the
test resolver table (SEALMAIL_TEST_RESOLVER_TABLE, dns/dns.h TableResolver)
to a Postfix smtp-sink and a python3-aiosmtpd server on different loopback
ports. Each server receives only its domains' recipients, once each; a
domain with a null MX (RFC 7505) ends failed; a domain whose first MX
refuses connections falls back to its second; a domain whose DNS fails is
deferred. No query ever goes to a real DNS server: every run sets the table."""
import collections
import os
import shutil

from harness import check, main, run
from smtp_aiosmtpd_test import received, start_server
from smtp_sink_test import dumped, start_sink
from smtp_util import LOOPBACK, check_counts, free_port, stop, write_campaign


def write_audience(camp, rcpts):
    with open(os.path.join(camp, "audience.csv"), "w") as f:
        f.write("email,first_name\n")
        for i, e in enumerate(rcpts):
            f.write(f"{e},Name{i}\n")


def env_with_table(table):
    e = dict(os.environ)
    e.pop("SEALMAIL_SMTP_TIMEOUT", None)  # the campaign's timeout key applies
    e["SEALMAIL_TEST_RESOLVER_TABLE"] = table
    return e


def test_routes(a, tmp):
    sink_dump = os.path.join(tmp, "sink")
    aio_out = os.path.join(tmp, "aio")
    sink, sink_port = start_sink(sink_dump)
    aio, aio_port = start_server(aio_out)
    refused_port = free_port()  # nothing listens there
    try:
        table = os.path.join(tmp, "resolver-table")
        with open(table, "w") as f:
            f.write(f"""# test resolver table (loopback only)
alpha.example      mx 10 mx.alpha.example
mx.alpha.example   a  {LOOPBACK}:{sink_port}
beta.example       mx 10 mx.beta.example
mx.beta.example    a  {LOOPBACK}:{aio_port}
gamma.example      mx 20 mx2.gamma.example
gamma.example      mx 10 mx1.gamma.example
mx1.gamma.example  a  {LOOPBACK}:{refused_port}
mx2.gamma.example  a  {LOOPBACK}:{aio_port}
delta.example      a  {LOOPBACK}:{sink_port}
null.example       mx 0 .
""")
        camp = os.path.join(tmp, "mx")
        write_campaign(camp, 0, "mx:", 'timeout = "5s"\nconcurrency = 4')
        want = collections.defaultdict(list)
        rcpts = []
        for dom, n in (("alpha", 12), ("beta", 9), ("gamma", 6), ("delta", 2), ("null", 3)):
            for i in range(n):
                rcpts.append(f"user{i}@{dom}.example")
                want[dom].append(f"user{i}@{dom}.example")
        write_audience(camp, rcpts)
        p = run(a.sealmail, "send", camp, "--quiet", want=3, env=env_with_table(table))
        check_counts(a.sealmail, camp, sent=29, failed=3, deferred=0)
        got_sink = dumped(sink_dump)
        check(sorted(got_sink) == sorted(want["alpha"] + want["delta"]) and
              all(v == 1 for v in got_sink.values()), f"smtp-sink got {dict(got_sink)}")
        got_aio = collections.Counter()
        for env, _ in received(aio_out):
            check(len(env["rcpt_tos"]) == 1, f"aiosmtpd: {env}")
            got_aio[env["rcpt_tos"][0]] += 1
        check(sorted(got_aio) == sorted(want["beta"] + want["gamma"]) and
              all(v == 1 for v in got_aio.values()), f"aiosmtpd got {dict(got_aio)}: {p.stderr}")
    finally:
        stop(sink)
        stop(aio)


def test_dns_failure_defers(a, tmp):
    table = os.path.join(tmp, "resolver-table-2")
    with open(table, "w") as f:
        f.write("broken.example servfail\n")
    camp = os.path.join(tmp, "mx-broken")
    write_campaign(camp, 0, "mx:", 'timeout = "5s"')
    write_audience(camp, [f"u{i}@broken.example" for i in range(4)])
    run(a.sealmail, "send", camp, "--quiet", want=4, env=env_with_table(table))
    check_counts(a.sealmail, camp, sent=0, deferred=4)


def test_table_refuses_real_addresses(a, tmp):
    """The test table cannot send mail anywhere but loopback."""
    table = os.path.join(tmp, "resolver-table-3")
    with open(table, "w") as f:
        f.write("x.example mx 10 mx.x.example\nmx.x.example a 192.0.2.1:25\n")
    camp = os.path.join(tmp, "mx-real")
    write_campaign(camp, 0, "mx:")
    write_audience(camp, ["u@x.example"])
    p = run(a.sealmail, "send", camp, "--quiet", want=1, env=env_with_table(table))
    check("not a loopback address" in p.stderr and ":2:" in p.stderr, p.stderr)


def test(a):
    import tempfile
    tmp = tempfile.mkdtemp(prefix="sm_mx_")
    os.chmod(tmp, 0o755)
    try:
        test_routes(a, tmp)
        test_dns_failure_defers(a, tmp)
        test_table_refuses_real_addresses(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
