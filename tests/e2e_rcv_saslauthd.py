#!/usr/bin/env python3
"""SMTP AUTH through saslauthd (sasl.backend: saslauthd): a real saslauthd
started here with -a shadow in the foreground on a private mux directory
(-a sasldb would read the system's own sasldb, not one made here),
checking a throw-away system user this test creates (and removes): PLAIN
and LOGIN succeed with the right password and get 535 with a wrong one or
an unknown user; only PLAIN and LOGIN are offered.  Then a fake saslauthd
that answers after a delay shows what gatewayd.yaml(5) documents: the
receiver asks saslauthd synchronously, so every session of that receiver
waits for the answer.  Needs root (useradd, shadow); skipped otherwise."""
import base64
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from gwtest import Gateway, TestFailure, check, main, wait_for
from rawsmtp import Raw, make_cert

PASSWORD = "S4sl-authd-pw"
DELAY = 3.0


def start_saslauthd(mux_dir):
    """saslauthd -a shadow in the foreground; returns the Popen."""
    # its own session: on SIGTERM saslauthd signals its whole process group
    p = subprocess.Popen(["saslauthd", "-a", "shadow", "-m", mux_dir, "-n", "1", "-d"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    mux = os.path.join(mux_dir, "mux")

    def ready():
        if p.poll() is not None:
            raise TestFailure("saslauthd exited with %s" % p.returncode)
        return os.path.exists(mux)
    wait_for(ready, 15, "the saslauthd socket")
    return p


def fake_saslauthd(path, stop):
    """A saslauthd that answers OK after DELAY seconds to each request."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.chmod(path, 0o777)
    srv.listen(5)
    srv.settimeout(0.2)

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            conn.settimeout(5)
            try:
                conn.recv(4096)		# login, password, service, realm: counted strings
                time.sleep(DELAY)
                conn.sendall(b"\x00\x02OK")
            except OSError:
                pass
            conn.close()
        srv.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return t


def tls_client(gw):
    s = smtplib.SMTP("127.0.0.1", gw.port, local_hostname="scan.test", timeout=30)
    s.starttls(context=ssl._create_unverified_context())
    s.ehlo("scan.test")
    return s


def try_auth(gw, mech, user, password):
    s = tls_client(gw)
    s.user, s.password = user, password
    try:
        code, resp = s.auth(mech, getattr(s, "auth_" + mech.lower()),
                            initial_response_ok=(mech == "PLAIN"))
    except smtplib.SMTPAuthenticationError as e:
        code, resp = e.smtp_code, e.smtp_error
    features = s.esmtp_features.get("auth", "")
    s.close()
    return code, resp, features


def sasl_gateway(name, keys, cert, key, mux):
    return Gateway(name, relay_allow=["192.0.2.0/24"],
                   listener={"tls": "optional", "tls_cert": cert, "tls_key": key, "auth": "yes"},
                   smtp={"auth_max_failures": 20},
                   extra="sasl:\n  backend: saslauthd\n  saslauthd_path: %s\n" % mux)


def test_real(keys, cert, key, user):
    mux_dir = tempfile.mkdtemp(prefix="gw-saslauthd-")
    os.chmod(mux_dir, 0o755)	# the receiver runs as _gatewayd
    sd = start_saslauthd(mux_dir)
    gw = sasl_gateway("rcvsaslauthd", keys, cert, key, os.path.join(mux_dir, "mux"))
    ok = False
    try:
        gw.start()
        for mech in ("PLAIN", "LOGIN"):
            code, resp, offered = try_auth(gw, mech, user, PASSWORD)
            check(offered.split() == ["PLAIN", "LOGIN"], "saslauthd offers PLAIN LOGIN: %r" % offered)
            check(code == 235, "%s through saslauthd: %d %r" % (mech, code, resp))
            code, resp, _ = try_auth(gw, mech, user, "wrong-" + PASSWORD)
            check(code == 535, "%s with a wrong password: %d %r" % (mech, code, resp))
            code, resp, _ = try_auth(gw, mech, user + "x", PASSWORD)
            check(code == 535, "%s for an unknown user: %d %r" % (mech, code, resp))
        # an authenticated client relays
        s = tls_client(gw)
        s.login(user, PASSWORD)
        s.sendmail("scanner@scan.test", ["someone@foreign.example"], b"Subject: sd\r\n\r\nbody\r\n")
        s.quit()
        wait_for(lambda: len(gw.delivered()) == 1, 30, "the message sent after saslauthd AUTH")
        head = list(gw.delivered().values())[0].split(b"\r\n\r\n")[0]
        check(b"(Authenticated sender: %s)" % user.encode() in head, "identity in Received: %r" % head)
        log = gw.read_log()
        check("SMTP AUTH with saslauthd (%s/mux)" % mux_dir in log, "backend logged")
        check(PASSWORD not in log, "no password in the log")
        ok = True
    finally:
        gw.cleanup(ok)
        sd.terminate()
        try:
            sd.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sd.kill()
        shutil.rmtree(mux_dir, ignore_errors=True)


def test_slow(keys, cert, key):
    """A saslauthd that takes DELAY s: the other sessions wait as long."""
    mux_dir = tempfile.mkdtemp(prefix="gw-saslauthd-slow-")
    os.chmod(mux_dir, 0o755)
    stop = threading.Event()
    fake_saslauthd(os.path.join(mux_dir, "mux"), stop)
    gw = sasl_gateway("rcvsaslslow", keys, cert, key, os.path.join(mux_dir, "mux"))
    ok = False
    try:
        gw.start()
        other = Raw(gw.port, timeout=30)
        other.cmd("EHLO other.test")
        a = Raw(gw.port, timeout=30)
        a.cmd("EHLO c.test")
        a.cmd("STARTTLS")
        a.starttls()
        a.cmd("EHLO c.test")
        t0 = time.monotonic()
        a.send(b"AUTH PLAIN " + base64.b64encode(b"\0slow\0" + PASSWORD.encode()) + b"\r\n")
        time.sleep(0.5)			# the receiver is now inside the saslauthd call
        code, _ = other.cmd("NOOP")
        waited = time.monotonic() - t0
        check(code == 250, "NOOP of the other session")
        code, text = a.reply()
        check(code == 235, "AUTH PLAIN through the slow saslauthd: %d %r" % (code, text))
        check(waited >= DELAY - 0.5,
              "the other session waited %.1fs: update gatewayd.yaml(5) if saslauthd no "
              "longer blocks the receiver" % waited)
        a.close()
        other.close()
        ok = True
    finally:
        stop.set()
        gw.cleanup(ok)
        shutil.rmtree(mux_dir, ignore_errors=True)


def run_locked(cmd, data=None):
    """useradd/chpasswd/userdel, retried while another process holds the
    /etc/passwd lock (tests of other trees may run at the same time)."""
    for _ in range(20):
        r = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
        if r.returncode == 0:
            return
        if b"lock" not in r.stderr.lower():
            break
        time.sleep(0.5)
    raise TestFailure("%s: %s" % (" ".join(cmd), r.stderr.decode(errors="replace")))


def test():
    keys = tempfile.mkdtemp(prefix="gw-saslauthd-keys-")
    os.chmod(keys, 0o755)
    cert, key = make_cert(keys)
    user = "gwsasl%d" % os.getpid()
    try:
        run_locked(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    user])
    except TestFailure:
        shutil.rmtree(keys, ignore_errors=True)
        raise
    try:
        run_locked(["chpasswd"], ("%s:%s\n" % (user, PASSWORD)).encode())
        test_real(keys, cert, key, user)
        test_slow(keys, cert, key)
    finally:
        run_locked(["userdel", user])
        shutil.rmtree(keys, ignore_errors=True)


if os.geteuid() != 0 or not shutil.which("saslauthd") or not shutil.which("useradd"):
    print("SKIP e2e_rcv_saslauthd.py: needs root, saslauthd (sasl2-bin) and useradd")
    sys.exit(77)
main(test)
