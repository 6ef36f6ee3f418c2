#!/usr/bin/env python3
"""LDAP lookups never block the router (gatewayd.yaml(5), LDAP LOOKUPS).

A real slapd on loopback (the throw-away directory of e2e_ldap.py, with
StartTLS and a bind DN), logging each operation.  The gateway's LDAP
lookup has a 5 s timeout; a csv table answers for another domain, so that
those recipients are also asked of the router (the receiver holds no
table) but need no LDAP.

1. Several queries in flight on one connection: with slapd stopped
   (SIGSTOP) after a first query made the connection, eight sessions ask
   at once for LDAP recipients; none is answered while slapd sleeps; once
   it runs again (SIGCONT, well within the timeout) every one gets its
   right answer (250 for a person in the directory, 550 for an unknown
   one), the router logged the searches in flight together, and slapd saw
   every search on the one connection.
2. A hung server costs only the LDAP recipients: with slapd stopped, an
   RCPT that needs LDAP waits for the timeout and gets 451 (not earlier
   than 3.5 s, not later than 9 s), while in the same seconds other
   sessions' csv-table recipients are answered within 2 s each and a plain
   message is routed and delivered within 3 s.  Once slapd runs again,
   the LDAP recipient is accepted (after the 5 s hold of a failed
   connection).
3. The other paths that use a lookup park too: a message from a client
   outside relay.allow (127.0.0.2) gets its end-of-DATA check and is
   routed and delivered through LDAP; a lookup whose first URI refuses
   connections answers through its second one (failover, URI by URI).
"""
import os
import re
import shutil
import signal
import smtplib
import tempfile
import threading
import time

import e2e_ldap
import gwtest
from gwtest import check, record_file, wait_for

TIMEOUT = 5          # lookups[].timeout of the LDAP lookup
PROMPT = 2.0         # a question that needs no LDAP, answered within
BURST = ["alice@example.test", "bob@example.test", "nobody1@example.test",
         "alice@example.test", "nobody2@example.test", "bob@example.test",
         "nobody3@example.test", "nobody4@example.test"]


def timed_rcpt(gw, addr, out, key):
    """RCPT addr in a new session: out[key] = (code, seconds, monotonic end)."""
    t0 = time.monotonic()
    code = -1
    try:
        s = gw.smtp(timeout=30)
        try:
            s.ehlo()
            s.mail("mfp@client.test")
            t0 = time.monotonic()
            code, _ = s.rcpt(addr)
        finally:
            s.quit()
    except (OSError, smtplib.SMTPException) as e:
        code = "error %s" % e
    end = time.monotonic()
    out[key] = (code, end - t0, end)


def in_flight_max(log):
    """The most searches the router logged in flight at once."""
    counts = [int(n) for n in re.findall(r"lookup users: search #\d+ sent, (\d+) in flight",
                                          log)]
    return max(counts) if counts else 0


def slapd_search_conns(slapd, filters):
    """{filter: set of slapd connection numbers} of the SRCH operations."""
    out = {f: set() for f in filters}
    for line in slapd.read_log().splitlines():
        m = re.search(r"conn=(\d+) op=\d+ SRCH .*filter=\"(\([^\"]*\))\"", line)
        if m and m.group(2) in out:
            out[m.group(2)].add(m.group(1))
    return out


def burst(gw, slapd):
    """Part 1: eight LDAP questions at once on one connection."""
    check(timed_rcpt_code(gw, "alice@example.test") == 250, "the first query connects")
    slapd.proc.send_signal(signal.SIGSTOP)
    out = {}
    threads = [threading.Thread(target=timed_rcpt, args=(gw, a, out, i))
               for i, a in enumerate(BURST)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    check(not out, "nothing is answered while slapd sleeps: %r" % out)
    wait_for(lambda: in_flight_max(gw.read_log()) >= len(set(BURST)), 5,
             "the searches in flight at once")
    cont = time.monotonic()
    slapd.proc.send_signal(signal.SIGCONT)
    for t in threads:
        t.join(30)
    check(len(out) == len(BURST), "every session answered: %r" % out)
    for i, addr in enumerate(BURST):
        code, _, end = out[i]
        want = 550 if addr.startswith("nobody") else 250
        check(code == want, "RCPT %s: %r, expected %d" % (addr, code, want))
        check(end - cont < TIMEOUT - 1, "RCPT %s answered %.1f s after SIGCONT" %
              (addr, end - cont))
    filters = ["(mail=%s)" % a for a in set(BURST)]
    conns = slapd_search_conns(slapd, filters)
    allc = set().union(*conns.values())
    check(all(conns[f] for f in filters) and len(allc) == 1,
          "every search reached slapd on one connection: %r" % conns)
    print("burst: %d sessions answered %.2f-%.2f s after SIGCONT, %d in flight at most" %
          (len(BURST), min(o[2] for o in out.values()) - cont,
           max(o[2] for o in out.values()) - cont, in_flight_max(gw.read_log())))


def timed_rcpt_code(gw, addr):
    out = {}
    timed_rcpt(gw, addr, out, 0)
    return out[0][0]


def hang(gw, slapd, rec):
    """Part 2: a hung slapd delays only the LDAP recipient."""
    slapd.proc.send_signal(signal.SIGSTOP)
    ldap = {}
    t = threading.Thread(target=timed_rcpt, args=(gw, "carol@example.test", ldap, 0))
    t0 = time.monotonic()
    t.start()
    time.sleep(0.5)
    others, n = [], 0
    sent = False
    while t.is_alive() and time.monotonic() - t0 < 20 and n < 40:
        out = {}
        timed_rcpt(gw, "dave@file.test", out, 0)
        others.append(out[0])
        n += 1
        if not sent:
            s = gw.smtp()
            m0 = time.monotonic()
            s.sendmail("mfp@client.test", ["erin@file.test"],
                       b"From: mfp@client.test\r\nSubject: plain\r\n\r\nplain\r\n")
            s.quit()
            wait_for(lambda: ("erin@file.test", "ok") in e2e_ldap.records(rec)[0], 3,
                     "the plain message delivered while slapd hangs")
            delivered = time.monotonic() - m0
            sent = True
        time.sleep(0.3)
    t.join(30)
    code, secs, end = ldap[0]
    check(code == 451, "RCPT with slapd hung: %r" % code)
    check(3.5 <= secs <= TIMEOUT + 4, "the LDAP recipient waited %.1f s (timeout %d s)" %
          (secs, TIMEOUT))
    check(sent and end - t0 > delivered, "the plain message went through meanwhile")
    check(len(others) >= 3, "several other sessions were answered meanwhile: %r" % others)
    for c, secs2, _ in others:
        check(c == 250 and secs2 < PROMPT, "a csv recipient: %r in %.2f s" % (c, secs2))
    print("hang: LDAP RCPT 451 after %.2f s; %d other RCPTs at most %.2f s; plain message "
          "delivered in %.2f s" % (secs, len(others), max(o[1] for o in others), delivered))
    slapd.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: timed_rcpt_code(gw, "alice@example.test") == 250, 30,
             "LDAP answers again once slapd runs", interval=1)


def other_paths(gw, slapd, rec, closed):
    """Part 3: the end-of-DATA check and routing park too; failover."""
    s = smtplib.SMTP("127.0.0.1", gw.port, local_hostname="client.test", timeout=30,
                     source_address=("127.0.0.2", 0))
    s.sendmail("mfp@client.test", ["bob@example.test"],
               b"From: mfp@client.test\r\nSubject: outside\r\n\r\nscan\r\n")
    s.quit()
    wait_for(lambda: ("bob@example.test", "ok") in e2e_ldap.records(rec)[0], 15,
             "the message from outside relay.allow delivered")
    log = gw.read_log()
    for what in ("recipient check", "end-of-DATA check", "message"):
        check(re.search(r": %s waits for a lookup" % what, log),
              "a %s waited for a lookup: %s" % (what, log[-3000:]))
    check(timed_rcpt_code(gw, "alice@fo.test") == 250, "failover to the second URI")
    check("ldap://127.0.0.1:%d/: connect" % closed in gw.read_log()
          and "trying ldap://127.0.0.1:%d/" % slapd.port in gw.read_log(),
          "the refused first URI is logged, the second one tried")


def test():
    if shutil.which("slapd") is None or shutil.which("slapadd") is None:
        check(False, "slapd and slapadd are needed (Debian slapd, in .ci/run)")
    d = tempfile.mkdtemp(prefix="gw-ldapasync-")
    os.chmod(d, 0o755)
    e2e_ldap.make_certs(d)
    slapd = e2e_ldap.Slapd(d)
    pwfile = os.path.join(d, "bind.pw")
    with open(pwfile, "w") as f:
        f.write(e2e_ldap.PASSWORD + "\n")
    os.chmod(pwfile, 0o600)
    table = os.path.join(d, "file.csv")
    with open(table, "w") as f:
        f.write("dave@file.test,dave@file.test\nerin@file.test,erin@file.test\n")
    os.chmod(table, 0o644)
    closed = gwtest.free_port()     # nothing listens there: refused
    gw = gwtest.Gateway("ldapasync", connectors=[{"name": "relay", "type": "testconn"}],
                        rules=[{"name": "all", "connector": "relay"}])
    ok = False
    try:
        slapd.start(debug=256)
        rec = record_file(gw)
        connectors = [{"name": "relay", "type": "testconn", "settings": {"record": rec}}]
        rules = [
            {"name": "users", "recipient": "*@example.test", "lookup": "users",
             "connector": "relay"},
            {"name": "fo", "recipient": "*@fo.test", "lookup": "fo", "connector": "relay"},
            {"name": "file", "recipient": "*@file.test", "lookup": "file",
             "connector": "relay"},
        ]
        bind = "bind_dn: \"%s\", bind_password_file: %s" % (e2e_ldap.BIND_DN, pwfile)
        extra = ("lookups:\n"
                 + e2e_ldap.lookup("users", slapd.port, d, bind + ", filter: \"(mail=%s)\", "
                                   "attribute: mail").replace("timeout: 3", "timeout: %d" %
                                                              TIMEOUT)
                 + e2e_ldap.lookup("fo", slapd.port, d, bind + ", filter: "
                                   "\"(mail=%u@example.test)\", attribute: mail").replace(
                                       "ldap://", "ldap://127.0.0.1:%d/ ldap://" % closed, 1)
                 + "  - { name: file, path: %s, key: address }\n" % table)
        gw.write_config(connectors, rules, ["127.0.0.1", "::1"],
                        ["gw.test", "example.test", "file.test", "fo.test"], extra,
                        {"rcpt_check": "yes", "rcpt_check_timeout": "20s"})
        gw.start()
        burst(gw, slapd)
        hang(gw, slapd, rec)
        other_paths(gw, slapd, rec, closed)
        check("failed (451" not in gw.read_log(), "no temporary failure became a failure")
        ok = True
    finally:
        if slapd.proc is not None and slapd.proc.poll() is None:
            slapd.proc.send_signal(signal.SIGCONT)
        slapd.stop()
        gw.cleanup(ok)
        if ok:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("kept %s for inspection" % d)


if __name__ == "__main__":
    gwtest.main(test)
