#!/usr/bin/env python3
"""Devices as they really behave (issue 14, point 9), each a scripted
session: a TLS ClientHello on a plain listener is answered at once (a TLS
alert and close) and, with implicit_tls_detect, becomes TLS on the same
port; AUTH LOGIN with the user name inline (Konica Minolta), the exact
"334 VXNlcm5hbWU6" prompt (Xerox), CRAM-MD5 (Ricoh); MAIL FROM/RCPT TO
without angle brackets (refused with smtp.strict_rfc5321), a source route
in MAIL FROM, 555 for unknown parameters, 553 5.6.7 for a non-ASCII
address without SMTPUTF8, the session closed after hard_error_limit
errors, and HTTP request lines disconnected at once."""
import base64
import hashlib
import hmac
import os
import socket
import ssl
import tempfile
import time

from gwtest import Gateway, check, main, wait_for
from rawsmtp import Raw, make_cert, make_sasldb

PASSWORD = "Mfp-p4ss"
ALERT = b"\x15\x03\x01\x00\x02\x02\x28"


def client_hello():
    """The bytes of a real TLS ClientHello (python's ssl over memory BIOs)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    data = out.read()
    check(data[:2] == b"\x16\x03", "a ClientHello: %r" % data[:8])
    return data


def test_hello_plain(gw):
    """HP: a ClientHello on the plain port, answered at once, not after
    the idle timeout (60 s here)."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    t0 = time.monotonic()
    s.sendall(client_hello())
    got = b""
    while time.monotonic() - t0 < 10:
        d = s.recv(4096)
        if not d:
            break
        got += d
    elapsed = time.monotonic() - t0
    s.close()
    check(elapsed < 5, "closed at once after a ClientHello: %.1f s" % elapsed)
    check(got.endswith(ALERT), "a fatal TLS alert before the close: %r" % got)
    check("TLS handshake on a plain SMTP listener" in gw.read_log(), "logged")
    # python's ssl client against the plain port fails fast too
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    ctx = ssl._create_unverified_context()
    t0 = time.monotonic()
    try:
        ctx.wrap_socket(s).close()
        check(False, "TLS handshake succeeded on a plain listener")
    except (ssl.SSLError, OSError):
        pass
    check(time.monotonic() - t0 < 5, "python ssl refused at once")


def auth_login_inline(gw):
    """Konica Minolta: AUTH LOGIN <user-b64> in one line."""
    c = Raw(gw.port)
    c.cmd("EHLO konica.test")
    code, text = c.cmd("AUTH LOGIN " + base64.b64encode(b"scanner@gw.test").decode())
    check((code, text) == (334, b"334 UGFzc3dvcmQ6"), "inline user, password prompt: %r" % text)
    code, text = c.cmd(base64.b64encode(PASSWORD.encode()).decode())
    check(code == 235, "AUTH LOGIN inline: %d %r" % (code, text))
    check(c.cmd("MAIL FROM:<konica@scan.test>")[0] == 250, "MAIL after inline LOGIN")
    c.cmd("QUIT")
    c.close()


def auth_login_xerox(gw):
    """Xerox: waits for exactly "334 VXNlcm5hbWU6" (base64 "Username:")."""
    c = Raw(gw.port)
    c.cmd("EHLO xerox.test")
    code, text = c.cmd("AUTH LOGIN")
    check(text == b"334 VXNlcm5hbWU6", "the exact user prompt: %r" % text)
    code, text = c.cmd(base64.b64encode(b"scanner@gw.test").decode())
    check(text == b"334 UGFzc3dvcmQ6", "the exact password prompt: %r" % text)
    code, text = c.cmd(base64.b64encode(PASSWORD.encode()).decode())
    check(code == 235, "AUTH LOGIN: %d %r" % (code, text))
    c.cmd("QUIT")
    c.close()


def auth_cram(gw):
    """Ricoh: CRAM-MD5."""
    c = Raw(gw.port)
    code, text = c.cmd("EHLO ricoh.test")
    if b"CRAM-MD5" not in text:
        print("SKIP CRAM-MD5: not offered (no libsasl2 crammd5 plugin)")
        c.close()
        return
    code, text = c.cmd("AUTH CRAM-MD5")
    check(code == 334, "CRAM-MD5 challenge: %r" % text)
    challenge = base64.b64decode(text[4:])
    digest = hmac.new(PASSWORD.encode(), challenge, hashlib.md5).hexdigest()
    code, text = c.cmd(base64.b64encode(b"scanner@gw.test " + digest.encode()).decode())
    check(code == 235, "AUTH CRAM-MD5: %d %r" % (code, text))
    c.cmd("QUIT")
    c.close()


def test_paths(gw):
    """Paths as firmware writes them, parameters, non-ASCII."""
    c = Raw(gw.port)
    c.cmd("EHLO mfp.test")
    code, text = c.cmd("MAIL FROM:scan@mfp.test")
    check(code == 250, "MAIL FROM without brackets: %r" % text)
    code, text = c.cmd("RCPT TO:someone@gw.test")
    check(code == 250, "RCPT TO without brackets: %r" % text)
    check(c.cmd("DATA")[0] == 354, "DATA")
    code, text = c.cmd(b"Subject: no brackets\r\n\r\nbody\r\n.")
    check(code == 250, "queued: %r" % text)
    code, text = c.cmd("MAIL FROM:<@relay1.test,@relay2.test:routed@mfp.test>")
    check(code == 250, "MAIL FROM with a source route: %r" % text)
    check(c.cmd("RCPT TO:<someone@gw.test>")[0] == 250, "RCPT after the route")
    c.cmd("DATA")
    code, text = c.cmd(b"Subject: route\r\n\r\nbody\r\n.")
    check(code == 250, "queued: %r" % text)
    code, text = c.cmd("MAIL FROM:<a@mfp.test> X-VENDOR=1")
    check(text.startswith(b"555 5.5.4"), "unknown MAIL parameter: %r" % text)
    c.cmd("MAIL FROM:<a@mfp.test>")
    code, text = c.cmd("RCPT TO:<b@gw.test> FOO=bar")
    check(text.startswith(b"555 5.5.4"), "unknown RCPT parameter: %r" % text)
    code, text = c.cmd("RCPT TO:<b@@gw.test> BAR")
    check(code == 501, "bad path before unknown parameter: %r" % text)
    c.cmd("QUIT")
    c.close()
    wait_for(lambda: "from=<routed@mfp.test>" in gw.read_log(), 20,
             "the route dropped from the sender")
    check("from=<scan@mfp.test>" in gw.read_log(), "the bracketless sender logged")
    # non-ASCII without SMTPUTF8 (HELO: no extensions at all)
    c = Raw(gw.port)
    c.cmd("HELO mfp.test")
    code, text = c.cmd("MAIL FROM:<j\u00fcrgen@mfp.test>".encode())
    check(text.startswith(b"553 5.6.7") and b"SMTPUTF8" in text,
          "non-ASCII sender without SMTPUTF8: %r" % text)
    c.cmd("MAIL FROM:<a@mfp.test>")
    code, text = c.cmd("RCPT TO:<\u00e9l\u00e8ve@gw.test>".encode())
    check(text.startswith(b"553 5.6.7") and b"SMTPUTF8" in text,
          "non-ASCII recipient without SMTPUTF8: %r" % text)
    c.close()


def test_errors(gw):
    """20 errors (smtp.hard_error_limit's default), not 10, then 421."""
    c = Raw(gw.port)
    for i in range(19):
        code, text = c.cmd("XYZZY %d" % i)
        check(code == 500, "error %d: %r" % (i + 1, text))
    code, text = c.cmd("NOOP")
    check(code == 250, "still open after 19 errors: %r" % text)
    code, text = c.cmd("XYZZY 20")
    check(code == 500, "error 20: %r" % text)
    code, text = c.reply()
    check(code == 421, "closed after 20 errors: %r" % text)
    check(c.closed(), "connection closed")
    c.close()


def test_http(gw):
    """GET/POST/CONNECT: 221 and close at once, logged."""
    for first, line in ((True, "GET / HTTP/1.1"), (False, "POST /cgi HTTP/1.0"),
                        (True, "CONNECT relay.example:25 HTTP/1.1")):
        c = Raw(gw.port)
        if not first:
            c.cmd("EHLO web.test")
        c.send(line.encode() + b"\r\nHost: gw.test\r\n\r\n")
        code, text = c.reply()
        check(code == 221, "%s: %r" % (line, text))
        check(c.closed(2), "%s: closed at once" % line)
        c.close()
    log = gw.read_log()
    check("sent an HTTP request (GET)" in log and "(CONNECT)" in log, "HTTP requests logged")


def test_detect(cert, key):
    """implicit_tls_detect: a ClientHello first makes the session TLS on the
    same port; a plain client is greeted after the short wait; strict
    paths refuse the bracketless forms."""
    gw = Gateway("rcvdetect", relay_allow=["192.0.2.0/24"],
                 listener={"tls": "optional", "tls_cert": cert, "tls_key": key,
                           "implicit_tls_detect": "yes"},
                 smtp={"strict_rfc5321": "yes"})
    ok = False
    try:
        gw.start()
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
        t = ssl._create_unverified_context().wrap_socket(s)
        check(t.version() is not None, "TLS on the plain port")
        c = Raw.__new__(Raw)
        c.sock, c.buf = t, b""
        code, text = c.reply()
        check(code == 220, "greeting inside TLS: %r" % text)
        code, text = c.cmd("EHLO hp.test")
        check(b"STARTTLS" not in text, "no STARTTLS inside TLS: %r" % text)
        code, text = c.cmd("MAIL FROM:scan@hp.test")
        check(code == 501, "strict_rfc5321 refuses a bare path: %r" % text)
        check(c.cmd("MAIL FROM:<scan@hp.test>")[0] == 250, "MAIL inside TLS")
        check(c.cmd("RCPT TO:<x@gw.test>")[0] == 250, "RCPT inside TLS")
        c.cmd("DATA")
        code, text = c.cmd(b"Subject: implicit\r\n\r\nbody\r\n.")
        check(code == 250, "queued over detected TLS: %r" % text)
        c.cmd("QUIT")
        c.close()
        c = Raw(gw.port)
        code, text = c.cmd("EHLO plain.test")
        check(b"STARTTLS" in text, "plain session on the same port: %r" % text)
        c.close()
        check("implicit TLS" in gw.read_log(), "the detection logged")
        ok = True
    finally:
        gw.cleanup(ok)


def test():
    keys = tempfile.mkdtemp(prefix="gw-dev-keys-")
    os.chmod(keys, 0o755)
    cert, key = make_cert(keys)
    db = make_sasldb(keys, {"scanner": PASSWORD})
    gw = Gateway("rcvdevices", relay_allow=["192.0.2.0/24"],
                 listener={"auth": "yes", "auth_plaintext": "yes"},
                 smtp={"idle_timeout": 60},
                 extra="sasl:\n  backend: sasldb\n  sasldb_path: %s\n" % db)
    ok = False
    try:
        gw.start()
        test_hello_plain(gw)
        auth_login_inline(gw)
        auth_login_xerox(gw)
        auth_cram(gw)
        test_paths(gw)
        test_errors(gw)
        test_http(gw)
        ok = True
    finally:
        gw.cleanup(ok)
    test_detect(cert, key)


if __name__ == "__main__":
    main(test)
