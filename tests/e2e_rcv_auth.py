#!/usr/bin/env python3
"""SMTP AUTH with Cyrus SASL against a sasldb made with saslpasswd2:
offered only under TLS, PLAIN/LOGIN/CRAM-MD5 with smtplib, wrong
passwords refused (535) and rate limited (421), SCRAM-SHA-1 and
SCRAM-SHA-256 with a client written here, "*" aborts and mechanism
switches start afresh, authenticated clients relay, the identity reaches
the envelope and Received:, and passwords never reach the log."""
import base64
import os
import shutil
import smtplib
import ssl
import tempfile

from gwtest import Gateway, check, main, wait_for
from rawsmtp import Raw, make_cert, make_sasldb, scram_auth, spool_messages

PASSWORD = "Sc4n-p4ss"


def tls_client(gw):
    s = smtplib.SMTP("127.0.0.1", gw.port, local_hostname="scan.test", timeout=20)
    s.starttls(context=ssl._create_unverified_context())
    s.ehlo("scan.test")
    return s


def test_scram(keys, cert, key, db):
    """SCRAM-SHA-1 and SCRAM-SHA-256 (libsasl2-modules' scram plugin): a
    client written here, since smtplib has none.  saslpasswd2 stores only
    userPassword in the sasldb; the plugin derives the SCRAM secrets from it
    with a fresh salt."""
    if not any(os.path.exists(os.path.join(d, "libscram.so.2"))
               for d in ("/usr/lib/x86_64-linux-gnu/sasl2", "/usr/lib/aarch64-linux-gnu/sasl2",
                         "/usr/lib/sasl2", "/usr/lib64/sasl2")):
        print("SKIP SCRAM: no libscram plugin installed (libsasl2-modules)")
        return
    gw = Gateway("rcvscram", relay_allow=["192.0.2.0/24"],
                 listener={"tls": "optional", "tls_cert": cert, "tls_key": key, "auth": "yes"},
                 extra="sasl:\n  backend: sasldb\n  sasldb_path: %s\n" % db)
    ok = False
    try:
        gw.start()
        for mech in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
            c = Raw(gw.port)
            c.cmd("EHLO c.test")
            c.cmd("STARTTLS")
            c.starttls()
            code, text = c.cmd("EHLO c.test")
            check(b" " + mech.encode() + b" " in text.split(b"AUTH", 1)[1].split(b"\n")[0] + b" ",
                  "%s offered: %r" % (mech, text))
            code, text = scram_auth(c, mech, "scanner@gw.test", "wrong-" + PASSWORD)
            check(code == 535 and b"5.7.8" in text, "%s with a wrong password: %d %r" % (mech, code, text))
            code, text = scram_auth(c, mech, "scanner@gw.test", PASSWORD)
            check(code == 235, "%s: %d %r" % (mech, code, text))
            check(c.cmd("MAIL FROM:<scanner@scan.test>")[0] == 250, "MAIL after %s" % mech)
            code, text = c.cmd("RCPT TO:<someone@foreign.example>")
            check(code == 250, "relay after %s: %d %r" % (mech, code, text))
            c.cmd("QUIT")
            c.close()
        log = gw.read_log()
        check("method=SCRAM-SHA-1, username=scanner@gw.test" in log and
              "method=SCRAM-SHA-256, username=scanner@gw.test" in log, "SCRAM logins logged")
        check(PASSWORD not in log, "no password in the log")
        ok = True
    finally:
        gw.cleanup(ok)


def test():
    keys = tempfile.mkdtemp(prefix="gw-auth-keys-")
    os.chmod(keys, 0o755)
    cert, key = make_cert(keys)
    db = make_sasldb(keys, {"scanner": PASSWORD, "other": "x-Other-1"})
    gw = Gateway("rcvauth", relay_allow=["192.0.2.0/24"],
                 listener={"tls": "optional", "tls_cert": cert, "tls_key": key, "auth": "yes"},
                 smtp={"auth_max_failures": 3},
                 extra="sasl:\n  backend: sasldb\n  sasldb_path: %s\n" % db)
    ok = False
    try:
        gw.start()
        # no AUTH in clear text
        c = Raw(gw.port)
        code, text = c.cmd("EHLO c.test")
        check(b"AUTH" not in text, "AUTH not offered before TLS: %r" % text)
        code, text = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0scanner@gw.test\0" + PASSWORD.encode()).decode())
        check(code == 503, "AUTH refused before TLS: %d %r" % (code, text))
        c.close()

        # unauthenticated relaying refused even under TLS
        s = tls_client(gw)
        check("PLAIN" in s.esmtp_features.get("auth", "") and "LOGIN" in s.esmtp_features["auth"],
              "PLAIN and LOGIN offered: %r" % s.esmtp_features)
        offered = s.esmtp_features["auth"]
        s.mail("scanner@scan.test")
        code, resp = s.rcpt("someone@foreign.example")
        check(code == 550 and resp.startswith(b"5.7.1"), "relay refused without AUTH: %d %r" % (code, resp))
        s.quit()

        # every mechanism smtplib knows that the plugins offer
        mechs = ["PLAIN", "LOGIN"]
        if "CRAM-MD5" in offered:
            mechs.append("CRAM-MD5")
        for i, mech in enumerate(mechs):
            s = tls_client(gw)
            s.user, s.password = "scanner@gw.test", PASSWORD
            code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower().replace("-", "_")),
                                initial_response_ok=(mech == "PLAIN"))
            check(code == 235, "AUTH %s: %d %r" % (mech, code, resp))
            s.sendmail("scanner@scan.test", ["someone@foreign.example"],
                       b"Subject: auth %s\r\n\r\nbody\r\n" % mech.encode())
            s.quit()
        wait_for(lambda: len(gw.delivered()) == len(mechs), 30, "the authenticated messages")
        for m in gw.delivered().values():
            head = m.split(b"\r\n\r\n")[0]
            check(b"(Authenticated sender: scanner@gw.test)" in head and b"with ESMTPSA" in head,
                  "Received: shows the identity: %r" % head)

        # "*" aborts; a different mechanism afterwards starts from scratch
        c = Raw(gw.port)
        c.cmd("EHLO c.test")
        c.cmd("STARTTLS")
        c.starttls()
        c.cmd("EHLO c.test")
        code, _ = c.cmd("AUTH LOGIN")
        check(code == 334, "LOGIN challenge")
        code, _ = c.cmd(base64.b64encode(b"scanner@gw.test").decode())
        check(code == 334, "LOGIN password challenge")
        code, text = c.cmd("*")
        check(code == 501, "abort with *: %d %r" % (code, text))
        code, text = c.cmd("AUTH PLAIN")
        check(code == 334, "PLAIN after the abort: %d %r" % (code, text))
        code, text = c.cmd(base64.b64encode(b"\0other@gw.test\0x-Other-1").decode())
        check(code == 235, "a fresh exchange succeeds: %d %r" % (code, text))
        code, text = c.cmd("AUTH PLAIN")
        check(code == 503, "AUTH twice refused: %d" % code)
        c.close()

        # wrong passwords: 535, then the client is blocked (421)
        c = Raw(gw.port)
        c.cmd("EHLO c.test")
        c.cmd("STARTTLS")
        c.starttls()
        c.cmd("EHLO c.test")
        for i in range(3):
            code, text = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0scanner@gw.test\0wrong-secret-%d" % i).decode())
            check(code == 535 and b"5.7.8" in text, "wrong password: %d %r" % (code, text))
        code, text = c.cmd("AUTH PLAIN " + base64.b64encode(b"\0scanner@gw.test\0" + PASSWORD.encode()).decode())
        check(code == 421, "rate limited after 3 failures: %d %r" % (code, text))
        check(c.closed(), "closed after 421")
        log = gw.read_log()
        check("wrong-secret" not in log and PASSWORD not in log and "x-Other-1" not in log,
              "no password in the log")
        check("method=PLAIN" in log and "too many failures" in log, "failures logged")
        test_scram(keys, cert, key, db)
        ok = True
    finally:
        gw.cleanup(ok)
        shutil.rmtree(keys, ignore_errors=True)


main(test)
