#!/usr/bin/env python3
"""Receiver TLS: STARTTLS with a certificate made now (openssl s_client,
swaks, python), the protocol and cipher in Received:, plaintext pipelined
behind STARTTLS thrown away (CVE-2011-0411), TLS 1.1 refused, tls:
required, implicit TLS, and a reload that picks up a new certificate."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from gwtest import Gateway, check, main, wait_for
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

        # swaks over STARTTLS: delivered with ESMTPS (proto:cipher) in Received:
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(gw.port),
                            "--tls", "--to", "scan@gw.test", "--from", "mfp@client.test",
                            "--helo", "mfp.test", "--body", "swaks over tls"],
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "swaks --tls: %s" % r.stdout.decode(errors="replace")[-800:])
        wait_for(lambda: len(gw.delivered()) == 1, 30, "the swaks message")
        msg = list(gw.delivered().values())[0]
        check(b"with ESMTPS (TLSv1." in msg.split(b"\r\n\r\n")[0], "Received: names TLS: %r" % msg[:300])
        check(b"TLS from [127.0.0.1]: TLSv1." in gw.read_log().encode(), "TLS logged")

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
        finally:
            gw3.cleanup(True)
        ok = True
    finally:
        gw.cleanup(ok)
        shutil.rmtree(keys, ignore_errors=True)


main(test)
