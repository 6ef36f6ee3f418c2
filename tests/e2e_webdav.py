#!/usr/bin/env python3
"""e2e_webdav - the webdav connector against a real nginx with its dav module.

Through SMTP (swaks --attach, smtplib) to connector instances that PUT on
a private nginx on loopback:
- attachments under a templated path: stored bytes equal those sent;
- a location without create_full_put_path: the missing collections are
  made with MKCOL (walking up, then down) and the PUT succeeds;
- basic authentication from a 0600 auth_file (nginx auth_basic);
- HTTPS with a certificate of a test CA (ca_file): verified and stored;
  the same server without ca_file: deferred, certificate not verified;
- store: message stores the message as received;
- a location that answers 403 with a reason: bounced, the DSN names the
  server's status line and reason;
- a server that never answers: deferred at the configured timeout;
- a second nginx that is down: deferred (connection refused), then,
  started and the queue retried, delivered exactly once;
- `gatewayctl connectors` lists webdav.so and http.so; `gatewayd -n` warns
  about tls_verify: no, and an auth_file readable by others stops the
  worker's start with a reason.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import GATEWAYCTL, Gateway, check, free_port, main, wait_for  # noqa: E402
from e2e_folder import make_pdf, make_tiff  # noqa: E402
from e2e_smtp_tls_auth import make_cert  # noqa: E402
from webtest import Nginx, SlowServer, bounces, deferred_text, send_attachments  # noqa: E402

DAV = "dav_methods PUT DELETE MKCOL; dav_access user:rw group:r all:r;"


def servers(port, tls_port, crt, key, d):
    """The main nginx: plain HTTP locations and an HTTPS server."""
    loc = ("    location /dav/ { %s create_full_put_path on; }\n"
           "    location /plain/ { %s }\n"
           "    location /private/ { %s create_full_put_path on; auth_basic \"gw\";\n"
           "      auth_basic_user_file %s/htpasswd; }\n"
           "    location /forbidden/ { return 403 \"scans are not accepted here\\n\"; }\n"
           % (DAV, DAV, DAV, d))
    return ("  server {\n    listen 127.0.0.1:%d;\n    root {root};\n%s  }\n"
            "  server {\n    listen 127.0.0.1:%d ssl;\n    root {root};\n"
            "    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
            "    location /dav/ { %s create_full_put_path on; }\n  }\n"
            % (port, loc, tls_port, crt, key, DAV))


def stored(root, sub):
    """{name: bytes} of the files nginx stored under root/sub."""
    out = {}
    top = os.path.join(root, sub)
    for r, _dirs, files in os.walk(top):
        for n in files:
            with open(os.path.join(r, n), "rb") as f:
                out[os.path.relpath(os.path.join(r, n), top)] = f.read()
    return out


def one_with(files, suffix):
    hits = [v for k, v in files.items() if k.endswith(suffix)]
    check(len(hits) == 1, "one file ending %r: %s" % (suffix, sorted(files)))
    return hits[0]


def connectors(gw, port, tls_port, slow_port, down_port, d, ca):
    base = "http://127.0.0.1:%d" % port
    retry = {"min_backoff": "1s", "max_backoff": "2s", "lifetime": "1h"}
    pw = os.path.join(d, "dav.auth")
    with open(pw, "w") as f:
        f.write("scanner:s3cret\n")
    os.chmod(pw, 0o600)
    web = [
        ("dav", {"url": base + "/dav/", "path_template": '"{rcpt_local}/%Y"'}),
        ("plain", {"url": base + "/plain/", "path_template": '"deep/er/{rcpt_local}"'}),
        ("private", {"url": base + "/private/", "auth": "basic", "auth_file": pw}),
        ("tls", {"url": "https://127.0.0.1:%d/dav/tls" % tls_port, "ca_file": ca}),
        ("badtls", {"url": "https://127.0.0.1:%d/dav/badtls" % tls_port}),
        ("whole", {"url": base + "/dav/whole/", "store": "message"}),
        ("forbid", {"url": base + "/forbidden/"}),
        ("slow", {"url": "http://127.0.0.1:%d/" % slow_port, "timeout": "2"}),
        ("down", {"url": "http://127.0.0.1:%d/dav/" % down_port, "connect_timeout": "3"}),
    ]
    cs = [{"name": "archive", "type": "folder", "settings": {"path": gw.mail}}]
    rules = [{"name": "dsn", "recipient": "*@client.test", "connector": "archive"}]
    for name, s in web:
        cs.append({"name": name, "type": "webdav", "settings": s, "retry": retry})
        rules.append({"name": name, "recipient": name + "*@gw.test", "connector": name})
    return cs, rules


def check_cli(gw, d):
    """gatewayctl connectors; gatewayd -n warns about tls_verify: no."""
    out = gw.ctl("connectors")
    for t in ("webdav", "http"):
        check(re.search(r"^%s\s.*\bok\b" % t, out, re.M), "connectors lists %s: %s" % (t, out))
    cfg = os.path.join(d, "insecure.yaml")
    with open(gw.config) as f:
        text = f.read()
    text = text.replace('url: https://127.0.0.1', 'tls_verify: no\n      url: https://127.0.0.1', 1)
    with open(cfg, "w") as f:
        f.write(text)
    r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", cfg], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 0 and re.search(r"warning: .*connector tls: tls_verify is no", r.stderr),
          "gatewayd -n warns about tls_verify: no: %r" % r.stderr)


def check_bad_auth_file(gw, cs, rules, d):
    """An auth_file that others may read: that worker does not start (78,
    disabled, the reason logged); the other connectors run on."""
    bad = os.path.join(d, "open.auth")
    with open(bad, "w") as f:
        f.write("scanner:s3cret\n")
    os.chmod(bad, 0o644)
    cs = cs + [{"name": "badauth", "type": "webdav",
                "settings": {"url": "https://127.0.0.1:1/x/", "auth_file": bad}}]
    rules = rules + [{"name": "badauth", "recipient": "badauth*@gw.test", "connector": "badauth"}]
    gw.write_config(cs, rules, ["127.0.0.0/8", "::1"], ["gw.test"])
    out = gw.ctl("reload")
    check("reloaded" in out, "reload: %r" % out)
    why = re.compile(r"connector badauth \(\S+/webdav\.so\): \S+:\d+:\d+: webdav: auth_file %s: must be owned "
                     r"by root \(or the user gatewayd runs as\) with no access for group or "
                     r"others \(mode 0644" % re.escape(bad))
    wait_for(lambda: why.search(gw.read_log()), 60, "the worker's reason for the auth_file")
    def state():
        # status exits 69 while a process is down or disabled (gatewayctl(8))
        st = json.loads(gw.ctl("status", json=True, check_rc=False))
        return {p["connector"]: p["state"] for p in st["processes"] if p["role"] == "worker"}
    wait_for(lambda: state().get("badauth") == "disabled", 30, "badauth disabled")
    r = subprocess.run([GATEWAYCTL, "-s", gw.sock, "status"], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 69 and "badauth is disabled" in r.stderr,
          "status exits 69 and names the disabled worker: %d %r" % (r.returncode, r.stderr))
    check("s3cret" not in gw.read_log(), "the secret is never logged")


def check_stored(root, pdf, tif):
    year = time.strftime("%Y")
    got = stored(root, "dav/dav1/" + year)
    check(len(got) == 2, "two documents under dav/dav1/%s: %s" % (year, sorted(got)))
    check(one_with(got, "-Scan 2025.pdf") == pdf, "PDF stored byte for byte")
    check(one_with(got, "-pages.tiff") == tif, "TIFF stored byte for byte")
    check(one_with(stored(root, "plain/deep/er/plain1"), "-Scan 2025.pdf") == pdf,
          "PDF stored under collections made with MKCOL")
    check(one_with(stored(root, "private"), "-Scan 2025.pdf") == pdf, "PDF stored with basic auth")
    check(one_with(stored(root, "dav/tls"), "-Scan 2025.pdf") == pdf, "PDF stored over HTTPS")


def test():
    d = tempfile.mkdtemp(prefix="gw-webdav-srv-")
    os.chmod(d, 0o755)
    ca, crt, key = make_cert(d)
    with open(os.path.join(d, "htpasswd"), "w") as f:
        f.write("scanner:{PLAIN}s3cret\n")
    os.chmod(os.path.join(d, "htpasswd"), 0o644)
    port, tls_port, down_port = free_port(), free_port(), free_port()
    ngx = Nginx(os.path.join(d, "main"), servers(port, tls_port, crt, key, d))
    ngx2 = Nginx(os.path.join(d, "second"), "  server {\n    listen 127.0.0.1:%d;\n"
                 "    root {root};\n    location /dav/ { %s create_full_put_path on; }\n  }\n"
                 % (down_port, DAV))
    for sub in ("dav", "plain", "private"):
        os.makedirs(os.path.join(ngx.root, sub), exist_ok=True)
        os.chmod(os.path.join(ngx.root, sub), 0o777)
    os.makedirs(os.path.join(ngx2.root, "dav"))
    os.chmod(os.path.join(ngx2.root, "dav"), 0o777)
    slow = SlowServer(delay=20)
    gw = Gateway("webdav")
    cs, rules = connectors(gw, port, tls_port, slow.port, down_port, d, ca)
    gw.write_config(cs, rules, ["127.0.0.0/8", "::1"], ["gw.test"])
    ok = False
    try:
        ngx.start([port, tls_port])
        gw.start(wait_ready=False)
        gw.wait_ready(timeout=90)     # eleven workers on a shared machine
        check_cli(gw, d)
        pdf, tif = make_pdf(), make_tiff()
        scan = [("Scan 2025.pdf", pdf, "application/pdf")]
        send_attachments(gw, "dav1@gw.test", scan + [("pages.tiff", tif, "image/tiff")])
        for who in ("plain1", "private1", "tls1", "badtls1", "forbid1", "slow1", "down1"):
            send_attachments(gw, who + "@gw.test", scan)
        with gw.smtp() as s:
            s.sendmail("sender@client.test", ["whole1@gw.test"],
                       b"From: sender@client.test\r\nSubject: whole\r\n\r\nthe whole message\r\n")
        wait_for(lambda: len(stored(ngx.root, "dav/dav1")) == 2 and
                 stored(ngx.root, "dav/tls") and stored(ngx.root, "private") and
                 stored(ngx.root, "plain/deep") and stored(ngx.root, "dav/whole"), 60,
                 "the documents on nginx")
        check_stored(ngx.root, pdf, tif)
        whole = list(stored(ngx.root, "dav/whole").items())
        check(len(whole) == 1 and whole[0][0].endswith(".eml") and
              whole[0][1].startswith(b"Received: ") and b"the whole message" in whole[0][1],
              "store: message puts the message as received: %r" % whole[:1])
        mk = [l for l in ngx.access() if '"MKCOL /plain/' in l]
        check(len(mk) == 5 and " 409 " in mk[0] and " 201 " in mk[-1],
              "MKCOL walked up twice (409) and made three collections: %s" % mk)

        # The refusal bounces with the server's reason.
        wait_for(lambda: any("forbid1@gw.test" in b for b in bounces(gw)), 40, "the DSN for 403")
        dsn = [b for b in bounces(gw) if "forbid1@gw.test" in b][0]
        check("5.7.1" in dsn and "HTTP/1.1 403 Forbidden: scans are not accepted here" in dsn,
              "the DSN names the status line and reason:\n%s" % dsn[-2500:])
        # Unverified certificate and timeout: deferred, with why.
        t = deferred_text(gw, "badtls")
        check("4.7.5" in t and "certificate" in t, "badtls deferred (4.7.5): %s" % t[-600:])
        t = deferred_text(gw, "slow")
        check("4.4.2" in t and "Timeout" in t, "slow deferred at the timeout (4.4.2): %s" % t[-600:])
        check(slow.accepted >= 1, "the slow server was reached")
        check(not any(("badtls1" in b or "slow1" in b) for b in bounces(gw)), "no DSN for deferrals")

        # The second server is down: deferred; started: delivered once.
        t = deferred_text(gw, "down")
        check("4.4.1" in t and "127.0.0.1:%d" % down_port in t, "down deferred (4.4.1): %s" % t[-600:])
        ngx2.start([down_port])
        gw.ctl("queue", "retry", "ALL")
        wait_for(lambda: stored(ngx2.root, "dav"), 30, "the document on the second nginx")
        wait_for(lambda: not gw.spool_files("deferred/down") and not gw.spool_files("queue/down")
                 and not gw.spool_files("active/down"), 30, "the down queue empty")
        check(one_with(stored(ngx2.root, "dav"), "-Scan 2025.pdf") == pdf, "stored after restart")
        puts = [l for l in ngx2.access() if '"PUT /dav/' in l]
        check(len(puts) == 1 and " 201 " in puts[0], "exactly one PUT once it is back: %s" % puts)
        check(not any("down1@gw.test" in b for b in bounces(gw)), "no DSN for down1")
        check("webdav: PUT" in gw.read_log(), "results in the log")
        check_bad_auth_file(gw, cs, rules, d)
        ok = True
    finally:
        gw.cleanup(ok)
        ngx.stop()
        ngx2.stop()
        slow.stop()
        if ok:
            import shutil
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("kept %s for inspection" % d)


if __name__ == "__main__":
    main(test)
