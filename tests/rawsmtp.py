"""rawsmtp - helpers for the receiver's end-to-end tests: a raw SMTP
client over a socket (optionally TLS), a test certificate, a SASL
database.  Every wait is bounded."""
import os
import socket
import ssl
import subprocess
import time

from gwtest import TestFailure, recv_user


def make_cert(directory, cn="gw.test"):
    """A self-signed certificate and key made now; returns (cert, key)."""
    cert = os.path.join(directory, "cert-%s.pem" % cn)
    key = os.path.join(directory, "key-%s.pem" % cn)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=%s" % cn],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, 0o600)		# root only: the receiver reads it before the drop
    return cert, key


def make_sasldb(directory, users):
    """A sasldb file made with saslpasswd2: {user: password}."""
    db = os.path.join(directory, "sasldb2")
    for user, password in users.items():
        subprocess.run(["saslpasswd2", "-f", db, "-p", "-c", "-u", "gw.test", user],
                       input=password.encode(), check=True, capture_output=True,
                       timeout=30)
    user = recv_user()		# the receiver reads it after its drop
    if user:
        import pwd
        pw = pwd.getpwnam(user)
        os.chown(db, 0, pw.pw_gid)
        os.chmod(db, 0o640)
    return db


class Raw:
    """A line-oriented SMTP client on a plain socket."""

    def __init__(self, port, timeout=10, greet=True, prefix=b""):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        if prefix:
            self.sock.sendall(prefix)
        if greet:
            code, text = self.reply()
            if code != 220:
                raise TestFailure("greeting: %d %r" % (code, text))

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed; have %r" % self.buf)
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self):
        """(code, full text) of one possibly multi-line reply."""
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3:4] != b"-":
                break
        return int(lines[-1][:3]), b"\n".join(lines)

    def cmd(self, line):
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def starttls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock)
        self.buf = b""

    def closed(self, timeout=5):
        """True when the server closed the connection (EOF) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def spool_messages(gw):
    """Every message file anywhere in the spool (tmp included)."""
    out = []
    for state in ("tmp", "incoming", "data", "queue", "active", "deferred", "hold", "failed"):
        out += gw.spool_files(state)
    return out


def settle(gw, seconds=1.0):
    """Give the router and worker time to move what arrived."""
    time.sleep(seconds)


def scram_auth(c, mech, user, password):
    """AUTH SCRAM-SHA-1 or SCRAM-SHA-256 (RFC 5802, RFC 7677) on a Raw
    client, without channel binding; the server's signature is verified.
    Returns the (code, text) of the final reply."""
    import base64
    import hashlib
    import hmac

    name = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}[mech]
    b64 = lambda b: base64.b64encode(b).decode()
    mac = lambda key, msg: hmac.new(key, msg, name).digest()
    saslname = user.replace("=", "=3D").replace(",", "=2C")
    nonce = b64(os.urandom(18))
    first_bare = "n=%s,r=%s" % (saslname, nonce)
    code, text = c.cmd("AUTH %s %s" % (mech, b64(("n,," + first_bare).encode())))
    if code != 334:
        return code, text
    server_first = base64.b64decode(text[4:]).decode()
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    if not attrs["r"].startswith(nonce) or len(attrs["r"]) <= len(nonce):
        raise TestFailure("SCRAM server nonce %r does not extend ours" % attrs["r"])
    salted = hashlib.pbkdf2_hmac(name, password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = mac(salted, b"Client Key")
    stored_key = hashlib.new(name, client_key).digest()
    final_bare = "c=biws,r=%s" % attrs["r"]	# biws = base64("n,,")
    auth_message = ("%s,%s,%s" % (first_bare, server_first, final_bare)).encode()
    proof = bytes(a ^ b for a, b in zip(client_key, mac(stored_key, auth_message)))
    code, text = c.cmd(b64(("%s,p=%s" % (final_bare, b64(proof))).encode()))
    if code != 334:
        return code, text
    # server-final-message in a 334 (SMTP AUTH has no success data): check it
    server_final = base64.b64decode(text[4:]).decode()
    want = "v=" + b64(mac(mac(salted, b"Server Key"), auth_message))
    if server_final != want:
        raise TestFailure("SCRAM server signature %r, want %r" % (server_final, want))
    return c.cmd("")
