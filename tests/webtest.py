"""webtest - real HTTP servers on loopback for the webdav and http connector
tests: nginx with its dav module and a private configuration, a
multipart receiver (python3 http.server) that records what it parsed,
and a server that answers too late.  Each is started and stopped by the
test; every wait is bounded."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from gwtest import TestFailure, check, free_port, wait_for


def sha(b):
    return hashlib.sha256(b).hexdigest()


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Nginx:
    """nginx on 127.0.0.1 with a private prefix; server blocks given as text
    ({root} and {dir} are replaced)."""

    def __init__(self, d, servers):
        self.dir = d
        self.root = os.path.join(d, "root")
        for sub in ("root", "logs", "tmp"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
            os.chmod(os.path.join(d, sub), 0o777)
        self.conf = os.path.join(d, "nginx.conf")
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        text = (user + "daemon off;\nworker_processes 1;\npid {dir}/nginx.pid;\n"
                "error_log {dir}/logs/error.log info;\nevents { worker_connections 64; }\n"
                "http {\n  access_log {dir}/logs/access.log;\n"
                "  client_body_temp_path {dir}/tmp/body;\n  proxy_temp_path {dir}/tmp/proxy;\n"
                "  fastcgi_temp_path {dir}/tmp/fcgi;\n  uwsgi_temp_path {dir}/tmp/uwsgi;\n"
                "  scgi_temp_path {dir}/tmp/scgi;\n  client_max_body_size 50m;\n"
                "  default_type text/plain;\n" + servers + "\n}\n")
        with open(self.conf, "w") as f:
            f.write(text.replace("{dir}", d).replace("{root}", self.root))
        self.proc = None

    def start(self, ports):
        if not os.path.exists("/usr/sbin/nginx"):
            raise SystemExit(77)
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-p", self.dir, "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        for p in ports:
            wait_for(lambda: self.proc.poll() is None and port_open(p) or
                     self.failed(), 15, "nginx on port %d" % p)

    def failed(self):
        if self.proc.poll() is not None:
            raise TestFailure("nginx exited: %s" % self.proc.stderr.read().decode()[-2000:])
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def access(self):
        """Lines of the access log."""
        try:
            with open(os.path.join(self.dir, "logs", "access.log")) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


class SlowServer:
    """Accepts connections, reads, and answers nothing for `delay` seconds."""

    def __init__(self, delay=30):
        self.delay = delay
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop_ev = threading.Event()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        self.sock.settimeout(0.5)
        while not self.stop_ev.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            threading.Thread(target=self.hold, args=(c,), daemon=True).start()

    def hold(self, c):
        c.settimeout(1)
        end = time.time() + self.delay
        while time.time() < end and not self.stop_ev.is_set():
            try:
                if c.recv(65536) == b"":
                    break
            except OSError:
                pass
        c.close()

    def stop(self):
        self.stop_ev.set()
        self.sock.close()


def parse_multipart(ctype, body):
    """[(name, filename or None, content_type, bytes)] of a form body."""
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    check(msg.is_multipart(), "multipart/form-data body")
    parts = []
    for p in msg.iter_parts():
        disp = p.get("Content-Disposition", "")
        check(disp.startswith("form-data"), "form-data part: %r" % disp)
        parts.append((p.get_param("name", header="content-disposition"),
                      p.get_param("filename", header="content-disposition"),
                      p.get_content_type(), p.get_payload(decode=True) or b""))
    return parts


class Receiver:
    """A multipart/form-data receiver: records each POST (path, auth header,
    fields, files with their bytes) and answers as `answers` says per path:
    {path: (status, body)}; a path absent answers 201."""

    def __init__(self, port=None, answers=None):
        self.port = port or free_port()
        self.answers = answers or {}
        self.posts = []
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                entry = {"path": self.path, "auth": self.headers.get("Authorization"),
                         "parts": parse_multipart(self.headers["Content-Type"], body)}
                with rec.lock:
                    rec.posts.append(entry)
                status, text = rec.answers.get(self.path, (201, '"ok"'))
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def got(self, path):
        with self.lock:
            return [p for p in self.posts if p["path"] == path]


def deferred_text(gw, name, timeout=30):
    """The text of the first deferred job of connector name."""
    qf = wait_for(lambda: gw.spool_files("deferred/" + name), timeout, name + " deferred")
    return open(qf[0], "rb").read().replace(b"\\x20", b" ").decode(errors="replace")


def send_attachments(gw, rcpt, files, subject="Scan"):
    """swaks --attach each (name, bytes, type) to rcpt; the paths."""
    import shutil
    if shutil.which("swaks") is None:
        raise SystemExit(77)
    work = os.path.join(gw.dir, "att-%s" % rcpt.split("@")[0])
    os.makedirs(work, exist_ok=True)
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(gw.port), "--from",
           "mfp1@client.test", "--to", rcpt, "--helo", "mfp1.client.test",
           "--header", "Subject: " + subject, "--body", "Scanned on MFP1"]
    for name, data, ctype in files:
        p = os.path.join(work, name)
        with open(p, "wb") as f:
            f.write(data)
        cmd += ["--attach-type", ctype, "--attach", "@" + p]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "swaks failed: %s %s" % (r.stdout[-800:], r.stderr[-400:]))


def bounces(gw):
    """The DSNs the folder connector filed for the sender (client.test)."""
    return [v.decode(errors="replace") for k, v in gw.delivered().items()
            if b"Delivery Status Notification" in v or b"delivery-status" in v]


def jdump(x):
    return json.dumps(x, indent=1, default=str)[:3000]
