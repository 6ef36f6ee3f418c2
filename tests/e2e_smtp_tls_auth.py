#!/usr/bin/env python3
"""e2e_smtp_tls_auth - the smtp connector against an aiosmtpd upstream.

The upstream offers STARTTLS (a certificate made here with openssl) and
AUTH PLAIN/LOGIN.  Cases: delivery with STARTTLS required, certificate
verified against our CA, AUTH that succeeds; three recipients of which
the upstream refuses one with 550 5.1.1: the other two are delivered and
one DSN (multipart/report, Final-Recipient, Status 5.1.1) for the third
is relayed back to the sender through the same upstream; AUTH with a
wrong password: deferred with the upstream's reason, nothing delivered;
AUTH CRAM-MD5 (a handler added to aiosmtpd) with the right and a wrong
password; certificate checks: a self-signed upstream certificate that is
not in ca_file (deferred, the reason says why), the same certificate as
ca_file (delivered), a host-name mismatch with verify_name (deferred);
the channel AUTH may use (auth.tls): by default no AUTH command reaches an
upstream without STARTTLS (even one offering CRAM-MD5), one whose
certificate is self-signed or for another name (deferred, 4.7.4/4.7.5
with the reason; checked on the upstream's transcript), AUTH over a
verified session (by name or by IP address) delivers; auth.tls: encrypt
over the self-signed session and none without TLS deliver, and
gatewayd -n warns about them (and about cleartext without tls: none,
and auth with starttls: none).
"""
import email
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwtest import (Gateway, check, dotted_message, free_port, main,  # noqa: E402
                    strip_received, wait_for)
from e2e_smtp_relay import Servers, files  # noqa: E402


def make_cert(d):
    """A CA and a server certificate for 127.0.0.1 / upstream.test."""
    ca_key, ca, key, csr, crt = (os.path.join(d, n) for n in
                                 ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:upstream.test,IP:127.0.0.1\n")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=60)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=gatewayd test CA", "-keyout", ca_key, "-out", ca)
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=upstream.test",
        "-keyout", key, "-out", csr)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt)
    for p in (ca, key, crt):
        os.chmod(p, 0o644)
    return ca, crt, key


def make_self_signed(d):
    """A self-signed certificate for upstream.test (no CA)."""
    key, crt = os.path.join(d, "self.key"), os.path.join(d, "self.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=upstream.test", "-addext",
                    "subjectAltName=DNS:upstream.test,IP:127.0.0.1",
                    "-keyout", key, "-out", crt], check=True, capture_output=True, timeout=60)
    for p in (key, crt):
        os.chmod(p, 0o644)
    return crt, key


def password_file(d, text):
    p = os.path.join(d, "relay.pw")
    with open(p, "w") as f:
        f.write(text + "\n")
    os.chmod(p, 0o600)  # read by init() as root, before the privilege drop
    return p


def gateway(name, port, ca, pwfile):
    settings = {"hosts": "[127.0.0.1:%d]" % port, "helo": "gw.test",
                "starttls": "required", "ca_file": ca, "verify_name": "upstream.test",
                "auth": "{username: scanner, password_file: %s, mechanisms: [PLAIN, LOGIN]}" % pwfile,
                "timeouts": "{connect: 3s, command: 5s}"}
    conn = {"name": "relay", "type": "smtp", "settings": settings,
            "retry": {"min_backoff": "1h", "max_backoff": "1h"}}
    return Gateway(name, connectors=[conn])


def case_auth_dsn(srv, tmp, ca, crt, key):
    port = free_port()
    out = srv.python("aiosmtpd", port, "--cert", crt, "--key", key,
                     "--auth", "scanner:s3cret", "--reject", "bad@example.org")
    gw = gateway("smtp-auth", port, ca, password_file(tmp, "s3cret")).start()
    ok = False
    try:
        with gw.smtp() as s:
            s.sendmail("sender@client.test", ["one@example.org", "bad@example.org",
                                               "two@example.org"],
                       b"From: sender@client.test\r\nSubject: three\r\n\r\nscan\r\n")
        wait_for(lambda: len(files(out, "*.eml")) >= 2, 30, "the message and the DSN")
        metas = [json.load(open(f)) for f in files(out, "*.json")]
        msgs = [open(f, "rb").read() for f in files(out, "*.eml")]
        first = metas[0]
        check(sorted(first["to"]) == ["one@example.org", "two@example.org"],
              "the two good recipients in one transaction: %r" % first)
        check(first["tls"] and first["auth"] == "scanner", "over TLS, authenticated")
        check(b"Subject: three" in msgs[0], "the message itself")
        dsn_meta, dsn = metas[1], email.message_from_bytes(msgs[1])
        check(dsn_meta["from"] in ("", "<>") and dsn_meta["to"] == ["sender@client.test"],
              "the DSN goes from <> to the sender: %r" % dsn_meta)
        check(dsn.get_content_type() == "multipart/report" and
              dsn.get_param("report-type") == "delivery-status", "multipart/report")
        parts = dsn.get_payload()
        check([p.get_content_type() for p in parts] ==
              ["text/plain", "message/delivery-status", "message/rfc822"],
              "text, delivery-status and the original message")
        status = msgs[1].decode("ascii", "replace")
        check("Final-Recipient: rfc822; bad@example.org" in status, "Final-Recipient")
        check("Action: failed" in status and "Status: 5.1.1" in status, "Action and Status")
        check("Diagnostic-Code: smtp; 550 5.1.1" in status, "the upstream's reply")
        check("one@example.org" not in status.split("message/delivery-status")[1]
              .split("message/rfc822")[0], "only the failed recipient is reported")
        check("Subject: three" in status, "the original message is attached")
        check(len(files(out, "*.eml")) == 2, "exactly one DSN")
        ok = True
    finally:
        gw.cleanup(ok)


def case_large_tls(srv, tmp, ca, crt, key):
    """300 KB over TLS: the connector's writes larger than its buffer go out
    as TLS records from its chunk; the server gets the message whole."""
    port = free_port()
    out = srv.python("aiosmtpd", port, "--cert", crt, "--key", key,
                     "--auth", "scanner:s3cret")
    gw = gateway("smtp-tls-large", port, ca, password_file(tmp, "s3cret")).start()
    ok = False
    try:
        msg = dotted_message(300 * 1024)
        with gw.smtp() as s:
            s.sendmail("sender@client.test", ["one@example.org"], msg)
        got = wait_for(lambda: files(out, "*.eml"), 30, "the message at the server")
        meta = json.load(open(files(out, "*.json")[0]))
        check(meta["tls"] and meta["auth"] == "scanner", "over TLS, authenticated")
        data = open(got[0], "rb").read()
        check(strip_received(data) == msg, "the %d bytes arrived unchanged (got %d)"
              % (len(msg), len(data)))
        ok = True
    finally:
        gw.cleanup(ok)


def case_auth_failure(srv, tmp, ca, crt, key):
    port = free_port()
    out = srv.python("aiosmtpd", port, "--cert", crt, "--key", key, "--auth", "scanner:s3cret")
    d = os.path.join(tmp, "bad")
    os.makedirs(d)
    gw = gateway("smtp-authfail", port, ca, password_file(d, "wrong")).start()
    ok = False
    try:
        with gw.smtp() as s:
            s.sendmail("sender@client.test", ["one@example.org"], b"Subject: x\r\n\r\nx\r\n")
        qf = wait_for(lambda: gw.spool_files("deferred/relay"), 20, "the job deferred")
        text = open(qf[0], "rb").read()
        check(b"authentication" in text and b"535" in text, "deferred with the AUTH failure: %r" % text)
        check(files(out, "*.eml") == [], "nothing delivered")
        ok = True
    finally:
        gw.cleanup(ok)


def case_password_mode(tmp, ca):
    p = password_file(os.path.join(tmp), "s3cret")
    os.chmod(p, 0o644)
    gw = gateway("smtp-pwmode", free_port(), ca, p)
    r = subprocess.run([os.path.join(os.environ.get("GW_TOP_BUILDDIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")), "gatewayd", "gatewayd"),
        "-n", "-c", gw.config], capture_output=True, text=True, timeout=30)
    gw.start(wait_ready=False)
    try:
        wait_for(lambda: "others cannot read" in gw.read_log(), 20,
                 "a world-readable password file refused")
    finally:
        gw.cleanup(True)
    os.chmod(p, 0o600)
    del r


def case_cram_md5(srv, tmp):
    port = free_port()
    out = srv.python("aiosmtpd", port, "--auth", "scanner:s3cret", "--cram", "1")
    d = os.path.join(tmp, "cram")
    os.makedirs(d)
    good, bad = password_file(d, "s3cret"), os.path.join(d, "bad.pw")
    with open(bad, "w") as f:
        f.write("wrong\n")
    os.chmod(bad, 0o600)
    auth = "{username: scanner, password_file: %s, mechanisms: [CRAM-MD5], tls: none}"
    conns = [{"name": "relay", "type": "smtp",
              "settings": {"hosts": "[127.0.0.1:%d]" % port, "starttls": "none",
                           "auth": auth % good, "timeouts": "{connect: 3s, command: 5s}"}},
             {"name": "badpw", "type": "smtp",
              "settings": {"hosts": "[127.0.0.1:%d]" % port, "starttls": "none",
                           "auth": auth % bad, "timeouts": "{connect: 3s, command: 5s}"},
              "retry": {"min_backoff": "1h", "max_backoff": "1h"}}]
    rules = [{"name": "b", "recipient": "*@bad.test", "connector": "badpw"},
             {"name": "all", "connector": "relay"}]
    gw = Gateway("smtp-cram", connectors=conns, rules=rules).start()
    ok = False
    try:
        with gw.smtp() as s:
            s.sendmail("sender@client.test", ["one@example.org"], b"Subject: cram\r\n\r\nx\r\n")
            s.sendmail("sender@client.test", ["one@bad.test"], b"Subject: bad\r\n\r\nx\r\n")
        wait_for(lambda: files(out, "*.eml"), 20, "the message at the upstream")
        meta = json.load(open(files(out, "*.json")[0]))
        check(meta["auth"] == "scanner" and meta["mech"] == "CRAM-MD5" and not meta["tls"],
              "authenticated with CRAM-MD5 without TLS: %r" % meta)
        qf = wait_for(lambda: gw.spool_files("deferred/badpw"), 20, "the wrong password deferred")
        text = open(qf[0], "rb").read()
        check(b"535" in text and b"authentication" in text, "deferred with the AUTH failure: %r" % text)
        check(len(files(out, "*.eml")) == 1, "nothing delivered with the wrong password")
        check("s3cret" not in gw.read_log() and "wrong" not in gw.read_log(),
              "no password in the log")
        ok = True
    finally:
        gw.cleanup(ok)


def case_cert_checks(srv, tmp, ca, crt, key):
    """Three connectors: unknown self-signed, trusted self-signed, wrong name."""
    self_crt, self_key = make_self_signed(tmp)
    p_self, p_ca = free_port(), free_port()
    out_self = srv.python("aiosmtpd", p_self, "--cert", self_crt, "--key", self_key)
    out_ca = srv.python("aiosmtpd", p_ca, "--cert", crt, "--key", key)

    def conn(name, port, ca_file, verify_name):
        return {"name": name, "type": "smtp",
                "settings": {"hosts": "[127.0.0.1:%d]" % port, "starttls": "required",
                             "verify": "true", "ca_file": ca_file,
                             "verify_name": verify_name,
                             "timeouts": "{connect: 3s, command: 5s}"},
                "retry": {"min_backoff": "1h", "max_backoff": "1h"}}
    conns = [conn("unknown", p_self, ca, "upstream.test"),
             conn("trusted", p_self, self_crt, "upstream.test"),
             conn("wrongname", p_ca, ca, "other.test")]
    rules = [{"name": c["name"], "recipient": "*@%s.test" % c["name"], "connector": c["name"]}
             for c in conns]
    gw = Gateway("smtp-certs", connectors=conns, rules=rules).start()
    ok = False
    try:
        with gw.smtp() as s:
            for c in conns:
                s.sendmail("sender@client.test", ["x@%s.test" % c["name"]],
                           b"Subject: %s\r\n\r\nx\r\n" % c["name"].encode())
        wait_for(lambda: files(out_self, "*.eml"), 20, "the message over a trusted certificate")
        check(b"Subject: trusted" in open(files(out_self, "*.eml")[0], "rb").read(),
              "the trusted connector's message")
        for name, why in (("unknown", b"self-signed certificate"),
                          ("wrongname", b"hostname mismatch")):
            qf = wait_for(lambda: gw.spool_files("deferred/" + name), 20, name + " deferred")
            text = open(qf[0], "rb").read().replace(b"\\x20", b" ")
            check(b"last-error 451 4.7.5" in text and
                  b"TLS certificate verification failed" in text and why in text,
                  "%s: deferred with a clear reason: %r" % (name, text))
        check(len(files(out_self, "*.eml")) == 1 and not files(out_ca, "*.eml"),
              "nothing sent over an unverified connection")
        ok = True
    finally:
        gw.cleanup(ok)


def transcript(out):
    """The STARTTLS and AUTH commands the server received (smtp_server.py)."""
    try:
        with open(os.path.join(out, "transcript.log")) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def deferred_text(gw, name):
    qf = wait_for(lambda: gw.spool_files("deferred/" + name), 20, name + " deferred")
    return open(qf[0], "rb").read().replace(b"\\x20", b" ")


def case_auth_channel(srv, tmp, ca, crt, key):
    """AUTH only over verified TLS unless auth.tls says otherwise."""
    self_crt, self_key = make_self_signed(tmp)
    d = os.path.join(tmp, "channel")
    os.makedirs(d)
    pw = password_file(d, "s3cret")
    ports, outs = {}, {}
    for name, cert in (("notls", None), ("selfsigned", (self_crt, self_key)),
                       ("wrongname", (crt, key)), ("verified", (crt, key)),
                       ("byaddress", (crt, key)),
                       ("encrypt", (self_crt, self_key)), ("cleartext", None)):
        ports[name] = free_port()
        # without TLS the upstream offers CRAM-MD5 too, which needs no TLS
        opts = ["--auth", "scanner:s3cret"] + (["--cert", cert[0], "--key", cert[1]]
                                               if cert else ["--cram", "1"])
        outs[name] = srv.python("aiosmtpd", ports[name], *opts)

    def conn(name, port, extra_auth="", **settings):
        st = {"hosts": "[127.0.0.1:%d]" % port, "helo": "gw.test", "ca_file": ca,
              "verify_name": "upstream.test", "timeouts": "{connect: 3s, command: 5s}",
              "auth": "{username: scanner, password_file: %s%s}" % (pw, extra_auth)}
        st.update(settings)
        st = {k: v for k, v in st.items() if v is not None}
        return {"name": name, "type": "smtp", "settings": st,
                "retry": {"min_backoff": "1h", "max_backoff": "1h"}}
    conns = [conn("notls", ports["notls"]),
             conn("tlsoff", ports["notls"], starttls="none"),
             # cleartext: true alone (before auth.tls) allows no cleartext AUTH
             conn("oldcleartext", ports["notls"], ", cleartext: true"),
             conn("selfsigned", ports["selfsigned"]),
             conn("wrongname", ports["wrongname"], verify_name="other.test"),
             conn("verified", ports["verified"]),
             # no verify_name: the certificate's IP address matches the host
             conn("byaddress", ports["byaddress"], verify_name=None),
             conn("encrypt", ports["encrypt"], ", tls: encrypt"),
             conn("cleartext", ports["cleartext"],
                  ", tls: none, mechanisms: [PLAIN], cleartext: true")]
    rules = [{"name": c["name"], "recipient": "*@%s.test" % c["name"], "connector": c["name"]}
             for c in conns]
    gw = Gateway("smtp-authtls", connectors=conns, rules=rules)
    r = subprocess.run([os.path.join(os.environ.get("GW_TOP_BUILDDIR", os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..")), "gatewayd", "gatewayd"),
        "-n", "-c", gw.config], capture_output=True, text=True, timeout=30)
    warnings = [l for l in r.stderr.splitlines() if "warning:" in l]
    check(r.returncode == 0, "gatewayd -n accepts the weaker settings: %s" % r.stderr)
    check(len(warnings) == 4 and
          any("connector oldcleartext: auth.cleartext has no effect" in l for l in warnings) and
          any("connector encrypt: auth.tls is encrypt" in l for l in warnings) and
          any("connector cleartext: auth.tls is none" in l for l in warnings) and
          any("connector tlsoff: auth is set but starttls is none" in l for l in warnings),
          "gatewayd -n warns about encrypt, none, cleartext and starttls none: %r" % warnings)
    gw.start()
    ok = False
    try:
        with gw.smtp() as s:
            for c in conns:
                s.sendmail("sender@client.test", ["x@%s.test" % c["name"]],
                           b"Subject: %s\r\n\r\nx\r\n" % c["name"].encode())
        for name in ("verified", "byaddress", "encrypt", "cleartext"):
            wait_for(lambda: files(outs[name], "*.eml"), 20, name + " delivered")
            meta = json.load(open(files(outs[name], "*.json")[0]))
            check(meta["auth"] == "scanner" and meta["tls"] == (name != "cleartext"),
                  "%s: authenticated, TLS %s: %r" % (name, name != "cleartext", meta))
        check(transcript(outs["verified"]) == ["STARTTLS", "AUTH PLAIN tls=1"],
              "verified: AUTH after STARTTLS: %r" % transcript(outs["verified"]))
        check(transcript(outs["byaddress"]) == ["STARTTLS", "AUTH PLAIN tls=1"],
              "byaddress: AUTH after STARTTLS: %r" % transcript(outs["byaddress"]))
        check(transcript(outs["encrypt"]) == ["STARTTLS", "AUTH PLAIN tls=1"],
              "encrypt: AUTH over the unverified session: %r" % transcript(outs["encrypt"]))
        check(transcript(outs["cleartext"]) == ["AUTH PLAIN tls=0"],
              "none: AUTH in cleartext: %r" % transcript(outs["cleartext"]))
        for name, want in (("notls", b"last-error 451 4.7.4 not sending AUTH to 127.0.0.1"),
                           ("tlsoff", b"without TLS (starttls is none; auth.tls: verify)"),
                           ("oldcleartext", b"the upstream does not offer STARTTLS"),
                           ("selfsigned", b"last-error 451 4.7.5 not sending AUTH"),
                           ("wrongname", b"not verified (hostname mismatch")):
            text = deferred_text(gw, name)
            check(want in text, "%s: deferred with the reason %r: %r" % (name, want, text))
        check(b"the upstream does not offer STARTTLS" in deferred_text(gw, "notls"),
              "notls: the reason names the missing STARTTLS")
        check(b"self-signed certificate" in deferred_text(gw, "selfsigned"),
              "selfsigned: the reason names the certificate problem")
        check(transcript(outs["notls"]) == [], "no AUTH without TLS (not even CRAM-MD5): %r"
              % transcript(outs["notls"]))
        for name in ("selfsigned", "wrongname"):
            check(transcript(outs[name]) == ["STARTTLS"], "%s: TLS, but no AUTH: %r" %
                  (name, transcript(outs[name])))
            check(not files(outs[name], "*.eml"), name + ": nothing delivered")
        check(not files(outs["notls"], "*.eml"), "notls: nothing delivered")
        log = gw.read_log()
        check("not sending AUTH to 127.0.0.1" in log and "self-signed certificate" in log,
              "the refusals are logged")
        check("auth.tls is encrypt" in log and "auth.tls is none" in log,
              "the workers warn about the weaker settings at start")
        check("s3cret" not in log, "no password in the log")
        ok = True
    finally:
        gw.cleanup(ok)


def test():
    srv = Servers()
    tmp = tempfile.mkdtemp(prefix="gw-tls-")
    try:
        ca, crt, key = make_cert(tmp)
        case_auth_dsn(srv, tmp, ca, crt, key)
        case_large_tls(srv, tmp, ca, crt, key)
        case_auth_failure(srv, tmp, ca, crt, key)
        case_password_mode(tmp, ca)
        case_cram_md5(srv, tmp)
        case_cert_checks(srv, tmp, ca, crt, key)
        case_auth_channel(srv, tmp, ca, crt, key)
    finally:
        srv.stop()
        shutil.rmtree(srv.dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
