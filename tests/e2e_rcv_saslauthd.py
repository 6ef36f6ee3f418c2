#!/usr/bin/env python3
"""SMTP AUTH through saslauthd (sasl.backend: saslauthd): a real saslauthd
started here with -a shadow in the foreground on a private mux directory
(-a sasldb would read the system's own sasldb, not one made here),
checking a throw-away system user this test creates (and removes): PLAIN
and LOGIN succeed with the right password and get 535 with a wrong one or
an unknown user; only PLAIN and LOGIN are offered.  Then a fake saslauthd
that answers after a delay: the session that asked waits, the others go
on (the request is made from the receiver's event loop); one that never
answers gives 454 after sasl.saslauthd_timeout, and so does a missing
socket, at once.  Needs root (useradd, shadow); skipped otherwise."""
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


def counted(data, n):
    """The first n counted strings (16-bit length, network order) of data."""
    out = []
    for _ in range(n):
        if len(data) < 2:
            return None
        k = int.from_bytes(data[:2], "big")
        if len(data) < 2 + k:
            return None
        out.append(data[2:2 + k])
        data = data[2 + k:]
    return out


def fake_saslauthd(path, stop, answer=True, requests=None):
    """A saslauthd that answers OK after DELAY seconds to each request (or,
    answer=False, never); the decoded requests are appended to requests."""
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
            conn.settimeout(10)
            try:
                data = b""
                while counted(data, 4) is None:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if requests is not None:
                    requests.append(counted(data, 4))
                if answer:
                    time.sleep(DELAY)
                    conn.sendall(b"\x00\x02OK")
                else:
                    stop.wait(30)
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


def sasl_gateway(name, keys, cert, key, mux, timeout=None):
    extra = "sasl:\n  backend: saslauthd\n  saslauthd_path: %s\n" % mux
    if timeout:
        extra += "  saslauthd_timeout: %s\n" % timeout
    return Gateway(name, relay_allow=["192.0.2.0/24"],
                   listener={"tls": "optional", "tls_cert": cert, "tls_key": key, "auth": "yes"},
                   smtp={"auth_max_failures": 20}, extra=extra)


def auth_client(gw):
    """A raw session over STARTTLS, ready for AUTH."""
    a = Raw(gw.port, timeout=30)
    a.cmd("EHLO c.test")
    a.cmd("STARTTLS")
    a.starttls()
    a.cmd("EHLO c.test")
    return a


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
    """A saslauthd that takes DELAY s: only the session that asked waits."""
    mux_dir = tempfile.mkdtemp(prefix="gw-saslauthd-slow-")
    os.chmod(mux_dir, 0o755)
    stop = threading.Event()
    requests = []
    fake_saslauthd(os.path.join(mux_dir, "mux"), stop, requests=requests)
    gw = sasl_gateway("rcvsaslslow", keys, cert, key, os.path.join(mux_dir, "mux"))
    ok = False
    try:
        gw.start()
        other = Raw(gw.port, timeout=30)
        other.cmd("EHLO other.test")
        a = auth_client(gw)
        t0 = time.monotonic()
        a.send(b"AUTH PLAIN " + base64.b64encode(b"\0slow\0" + PASSWORD.encode()) + b"\r\n")
        # saslauthd has the request: the receiver took the AUTH line alone
        wait_for(lambda: requests, 10, "the request at saslauthd")
        a.send(b"NOOP\r\n")		# read only once AUTH is answered
        code, _ = other.cmd("NOOP")
        waited = time.monotonic() - t0
        check(code == 250, "NOOP of the other session")
        check(waited < DELAY - 1, "the other session was answered in %.1fs while "
              "saslauthd worked (%.0fs)" % (waited, DELAY))
        code, text = a.reply()
        took = time.monotonic() - t0
        check(code == 235, "AUTH PLAIN through the slow saslauthd: %d %r" % (code, text))
        check(took >= DELAY - 0.5, "the AUTH answer waited for saslauthd (%.1fs)" % took)
        code, _ = a.reply()
        check(code == 250, "the NOOP sent during the wait answered after the AUTH")
        check(requests and requests[0] == [b"slow", PASSWORD.encode(), b"smtp", b""],
              "the saslauthd request: login, password, service, realm: %r" % requests[:1])
        a.close()
        other.close()
        ok = True
    finally:
        stop.set()
        gw.cleanup(ok)
        shutil.rmtree(mux_dir, ignore_errors=True)


def test_hung(keys, cert, key):
    """A saslauthd that never answers: 454 after sasl.saslauthd_timeout;
    no saslauthd at all: 454 at once.  Neither counts as a failed login."""
    mux_dir = tempfile.mkdtemp(prefix="gw-saslauthd-hung-")
    os.chmod(mux_dir, 0o755)
    stop = threading.Event()
    mux = os.path.join(mux_dir, "mux")
    fake_saslauthd(mux, stop, answer=False)
    gw = sasl_gateway("rcvsaslhung", keys, cert, key, mux, timeout="2s")
    ok = False
    try:
        gw.start()
        a = auth_client(gw)
        t0 = time.monotonic()
        a.send(b"AUTH LOGIN\r\n")
        check(a.reply()[0] == 334, "LOGIN asks for the user name")
        a.send(base64.b64encode(b"hung") + b"\r\n")
        check(a.reply()[0] == 334, "LOGIN asks for the password")
        a.send(base64.b64encode(PASSWORD.encode()) + b"\r\n")
        code, text = a.reply()
        took = time.monotonic() - t0
        check(code == 454 and 1.5 <= took < 10, "no answer: %d %r after %.1fs" % (code, text, took))
        code, _ = a.cmd("NOOP")
        check(code == 250, "the session goes on")
        # malformed PLAIN responses never reach saslauthd
        for raw, want in ((b"no-nul-at-all", 501), (b"\0\0pw", 501),
                          (b"other\0hung\0pw", 535), (b"\0u\0p\0x", 501)):
            code, text = a.cmd("AUTH PLAIN " + base64.b64encode(raw).decode())
            check(code == want, "PLAIN %r: %d %r" % (raw, code, text))
        code, _ = a.cmd("AUTH CRAM-MD5")
        check(code == 504, "only PLAIN and LOGIN with saslauthd")
        a.close()
        stop.set()
        time.sleep(0.5)
        os.unlink(mux)
        a = auth_client(gw)
        t0 = time.monotonic()
        code, text = a.cmd("AUTH PLAIN " + base64.b64encode(b"\0u\0p").decode())
        check(code == 454 and time.monotonic() - t0 < 2, "no saslauthd: %d %r" % (code, text))
        a.close()
        check("saslauthd (%s): no answer within 2 s" % mux in gw.read_log(),
              "the timeout is logged")
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
        test_hung(keys, cert, key)
    finally:
        run_locked(["userdel", user])
        shutil.rmtree(keys, ignore_errors=True)


if os.geteuid() != 0 or not shutil.which("saslauthd") or not shutil.which("useradd"):
    print("SKIP e2e_rcv_saslauthd.py: needs root, saslauthd (sasl2-bin) and useradd")
    sys.exit(77)
main(test)
