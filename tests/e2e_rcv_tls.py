#!/usr/bin/env python3
"""Receiver TLS: STARTTLS with a certificate made now (openssl s_client,
swaks, python), the protocol and cipher in Received:, plaintext pipelined
behind STARTTLS thrown away (CVE-2011-0411), TLS 1.1 refused, tls:
required, implicit TLS, a reload that picks up a new certificate, and
missing, unreadable, malformed or mismatched certificate and key files
reported with FILE:LINE:COLUMN by gatewayd -n, at start-up and on reload
(which keeps the running configuration)."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from gwtest import GATEWAYD, Gateway, TestFailure, check, main, run_user, wait_for
from rawsmtp import Raw, make_cert


def s_client(port, *args, data=b"QUIT\r\n"):
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                        "-starttls", "smtp", "-ign_eof"] + list(args),
                       input=data, capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")


def peer_cn(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"EHLO c.test\r\n")
    while f.readline()[3:4] == b"-":
        pass
    s.sendall(b"STARTTLS\r\n")
    f.readline()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s)
    der = t.getpeercert(binary_form=True)
    t.close()
    return der


def check_n(gw, want, user=None):
    """gatewayd -n on gw's configuration: (exit status, output)."""
    cmd = [GATEWAYD, "-n", "-c", gw.config]
    saved = None
    if user:
        import pwd
        import shutil
        import tempfile
        pw = pwd.getpwnam(user)
        # The build tree may sit below a directory only root can search:
        # give the other user its own copies of the program and connector.
        tmp = tempfile.mkdtemp(prefix="gw-n-")
        os.chmod(tmp, 0o755)
        shutil.copy2(GATEWAYD, os.path.join(tmp, "gatewayd"))
        with open(gw.config) as f:
            saved = f.read()
        cdir = [l.split(":", 1)[1].strip() for l in saved.splitlines()
                if l.startswith("connector_dir:")][0]
        for so in os.listdir(cdir):
            if so.endswith(".so"):
                shutil.copy2(os.path.join(cdir, so), os.path.join(tmp, so))
        with open(gw.config, "w") as f:
            f.write(saved.replace("connector_dir: %s" % cdir, "connector_dir: %s" % tmp))
        cmd = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
               "--clear-groups", os.path.join(tmp, "gatewayd"), "-n", "-c", gw.config]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    finally:
        if saved is not None:
            with open(gw.config, "w") as f:
                f.write(saved)
            shutil.rmtree(tmp, ignore_errors=True)
    out = (r.stdout + r.stderr).strip()
    check((r.returncode == 0) == (want is None), "gatewayd -n exit %d: %s" % (r.returncode, out))
    if want is not None:
        check(want in out, "gatewayd -n says %r, want %r" % (out, want))
    return out


def place(gw, key):
    """FILE:LINE:COLUMN of the value of a listener key in gw's configuration."""
    with open(gw.config) as f:
        for n, line in enumerate(f, 1):
            if line.startswith("    %s: " % key):
                return "%s:%d:%d" % (gw.config, n, len("    %s: " % key) + 1)
    raise TestFailure("no %s in %s" % (key, gw.config))


def test_check_files(keys):
    """gatewayd -n and start-up check the certificate and key files."""
    cert, key = make_cert(keys, "check.test")
    other_cert, other_key = make_cert(keys, "other.test")
    junk = os.path.join(keys, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    os.chmod(junk, 0o644)
    missing = os.path.join(keys, "missing.pem")
    cases = [({"tls_cert": missing, "tls_key": key}, "tls_cert",
              "listeners[0].tls_cert: cannot read %s: No such file or directory" % missing),
             ({"tls_cert": cert, "tls_key": missing}, "tls_key",
              "listeners[0].tls_key: cannot read %s: No such file or directory" % missing),
             ({"tls_cert": junk, "tls_key": key}, "tls_cert",
              "listeners[0].tls_cert: no usable PEM certificate in %s: " % junk),
             ({"tls_cert": cert, "tls_key": junk}, "tls_key",
              "listeners[0].tls_key: no usable PEM private key in %s: " % junk),
             ({"tls_cert": cert, "tls_key": other_key}, "tls_key",
              "listeners[0].tls_key: the key in %s: does not match the certificate" % other_key)]
    for files, where, msg in cases:
        gw = Gateway("rcvtlsn", listener=dict({"tls": "optional"}, **files))
        try:
            check_n(gw, "%s: %s" % (place(gw, where), msg))
        finally:
            gw.cleanup(True)
    gw = Gateway("rcvtlsn", listener={"tls": "implicit", "tls_cert": cert, "tls_key": key})
    try:
        check_n(gw, None)
        if run_user():
            # the key is root's (0600): unreadable for anyone else running -n
            check_n(gw, "%s: listeners[0].tls_key: cannot read %s: Permission denied"
                    % (place(gw, "tls_key"), key), user=run_user())
        # the daemon refuses to start with a bad pair, naming the place
        gw.listener["tls_key"] = other_key
        gw.write_config([{"name": "archive", "type": "folder", "settings": {"path": gw.mail}}],
                        [{"name": "all", "connector": "archive"}], ["127.0.0.0/8"], ["gw.test"])
        gw.start(wait_ready=False)
        gw.proc.wait(timeout=30)
        check(gw.proc.returncode != 0 and "%s: listeners[0].tls_key: the key in" % place(gw, "tls_key")
              in gw.read_log(), "start-up with a mismatched key refused: %s" % gw.read_log()[-500:])
    finally:
        gw.cleanup(True)


def test():
    keys = tempfile.mkdtemp(prefix="gw-tls-keys-")
    os.chmod(keys, 0o755)
    cert, key = make_cert(keys)
    gw = Gateway("rcvtls", relay_allow=["192.0.2.0/24"],
                 listener={"tls": "optional", "tls_cert": cert, "tls_key": key})
    ok = False
    try:
        gw.start()
        # openssl s_client -starttls smtp: handshake, TLS 1.2 or better
        rc, out = s_client(gw.port)
        check(rc == 0 and ("TLSv1.3" in out or "TLSv1.2" in out), "s_client handshake: %s" % out[-800:])
        rc, out = s_client(gw.port, "-tls1_1")
        check("Cipher is (NONE)" in out or rc != 0, "TLS 1.1 must be refused: %s" % out[-600:])
        # TLS 1.3: one session ticket per handshake, and the session resumes with it
        sess = os.path.join(keys, "session.pem")
        rc, out = s_client(gw.port, "-tls1_3", "-msg", "-sess_out", sess)
        check(rc == 0 and out.count("NewSessionTicket") == 1,
              "one session ticket: %d in %s" % (out.count("NewSessionTicket"), out[-600:]))
        rc, out = s_client(gw.port, "-tls1_3", "-sess_in", sess)
        check(rc == 0 and "Reused, TLSv1.3" in out, "the session resumed: %s" % out[-600:])

        # swaks over STARTTLS: delivered with ESMTPS (proto:cipher) in Received:
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(gw.port),
                            "--tls", "--to", "scan@gw.test", "--from", "mfp@client.test",
                            "--helo", "mfp.test", "--body", "swaks over tls"],
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "swaks --tls: %s" % r.stdout.decode(errors="replace")[-800:])
        wait_for(lambda: len(gw.delivered()) == 1, 30, "the swaks message")
        msg = list(gw.delivered().values())[0]
        check(b"with ESMTPS (TLSv1." in msg.split(b"\r\n\r\n")[0], "Received: names TLS: %r" % msg[:300])
        check(b"TLS connection established from [127.0.0.1]: TLSv1." in gw.read_log().encode(), "TLS logged")

        # CVE-2011-0411: a command pipelined behind STARTTLS never runs
        c = Raw(gw.port)
        code, text = c.cmd("EHLO c.test")
        check(code == 250 and b"STARTTLS" in text, "STARTTLS offered: %r" % text)
        c.send(b"STARTTLS\r\nMAIL FROM:<evil@client.test>\r\n")
        code, _ = c.reply()
        check(code == 220, "220 to STARTTLS")
        c.starttls()
        code, text = c.cmd("EHLO c.test")
        check(code == 250 and b"STARTTLS" not in text, "no STARTTLS inside TLS: %r" % text)
        code, text = c.cmd("RCPT TO:<scan@gw.test>")
        check(code == 503, "the injected MAIL did not run: %d %r" % (code, text))
        code, _ = c.cmd("STARTTLS")
        check(code == 554, "STARTTLS twice refused")
        c.close()
        check(b"discarded" in gw.read_log().encode(), "discarded bytes logged")
        gw.stop()

        # tls: required -> 530 before STARTTLS
        gw2 = Gateway("rcvtlsreq", listener={"tls": "required", "tls_cert": cert, "tls_key": key})
        try:
            gw2.start()
            c = Raw(gw2.port)
            c.cmd("EHLO c.test")
            code, text = c.cmd("MAIL FROM:<a@client.test>")
            check(code == 530, "MAIL before STARTTLS with tls: required: %d %r" % (code, text))
            c.close()
        finally:
            gw2.cleanup(True)

        # implicit TLS, and a reload (SIGHUP) that loads a new certificate
        gw3 = Gateway("rcvtlsimp", listener={"tls": "implicit", "tls_cert": cert, "tls_key": key})
        try:
            gw3.start()
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", gw3.port), timeout=10))
            check(t.recv(100).startswith(b"220"), "greeting inside implicit TLS")
            first = t.getpeercert(binary_form=True)
            t.close()
            cert2, key2 = make_cert(keys, "gw2.test")
            os.replace(cert2, cert)
            os.replace(key2, key)
            gw3.proc.send_signal(signal.SIGHUP)

            def new_cert():
                try:
                    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", gw3.port), timeout=5))
                    der = t.getpeercert(binary_form=True)
                    t.close()
                    return der != first
                except OSError:
                    return False
            wait_for(new_cert, 20, "the reloaded certificate")
            # a reload with a key that does not match keeps the running pair
            junk_cert, junk_key = make_cert(keys, "gw3.test")
            os.replace(junk_key, key)
            gw3.ctl("reload", check_rc=False)
            check("listeners[0].tls_key: the key in %s: does not match" % key in gw3.read_log(),
                  "reload with a bad key refused: %s" % gw3.read_log()[-500:])
            check("reload failed, keeping the running configuration" in gw3.read_log(),
                  "the running configuration kept")
            t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", gw3.port), timeout=5))
            check(t.recv(100).startswith(b"220"), "still serving after the refused reload")
            t.close()
        finally:
            gw3.cleanup(True)
        test_check_files(keys)
        ok = True
    finally:
        gw.cleanup(ok)
        shutil.rmtree(keys, ignore_errors=True)


main(test)
