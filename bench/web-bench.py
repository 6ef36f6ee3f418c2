#!/usr/bin/env python3
"""web-bench.py - documents per second through the webdav and http connectors.

Starts nginx (dav module) on loopback and gatewayd from the build tree
given as the first argument (default: the tree this file is in) with a
webdav instance (PUT under {rcpt_local}/%Y) and an http instance (POST to
a location that takes the body and answers 201), each with
GW_CONCURRENCY delivery processes.  Sends WEB_MSGS messages, each with
one WEB_KB kilobyte PDF-like attachment, in one SMTP session per
connector, and reports the seconds from the first message sent to the
last document stored (webdav: files on disk) or logged as delivered
(http: the worker's "status=sent" lines), and documents per second.

Environment: WEB_MSGS [100], WEB_KB [200], GW_CONCURRENCY [1].
"""
import os
import shutil
import sys
import time

top = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("GW_TOP_BUILDDIR", top)
os.environ.setdefault("GW_TOP_SRCDIR", top)
sys.path.insert(0, os.path.join(top, "tests"))
from email.message import EmailMessage  # noqa: E402
from email.policy import SMTP  # noqa: E402

from gwtest import Gateway, free_port, wait_for  # noqa: E402
from webtest import Nginx  # noqa: E402

MSGS = int(os.environ.get("WEB_MSGS", "100"))
KB = int(os.environ.get("WEB_KB", "200"))
CONC = int(os.environ.get("GW_CONCURRENCY", "1"))


def message(i, rcpt, data):
    m = EmailMessage()
    m["From"] = "mfp@client.test"
    m["To"] = rcpt
    m["Subject"] = "scan %d" % i
    m.set_content("scan %d" % i)
    m.add_attachment(data, maintype="application", subtype="pdf", filename="scan%d.pdf" % i)
    return m.as_bytes(policy=SMTP)


def run(gw, ngx, kind, data):
    rcpt = "%s1@gw.test" % kind
    msgs = [message(i, rcpt, data) for i in range(MSGS)]
    t0 = time.time()
    with gw.smtp(timeout=120) as s:
        for m in msgs:
            s.sendmail("mfp@client.test", [rcpt], m)
    if kind == "dav":
        top = os.path.join(ngx.root, "dav", "dav1")
        done = lambda: sum(len(f) for _r, _d, f in os.walk(top)) >= MSGS  # noqa: E731
    else:
        done = lambda: gw.read_log().count("connector=post, status=sent") >= MSGS  # noqa: E731
    wait_for(done, 600, "%d %s deliveries" % (MSGS, kind), interval=0.2)
    dt = time.time() - t0
    print("%-7s %d messages x %d KB, concurrency %d: %.2f s, %.1f documents/s"
          % ({"dav": "webdav", "post": "http"}[kind], MSGS, KB, CONC, dt, MSGS / dt))


def main():
    d = os.path.join("/tmp", "gw-web-bench-%d" % os.getpid())
    os.makedirs(d)
    port = free_port()
    ngx = Nginx(os.path.join(d, "nginx"), (
        "  server {\n    listen 127.0.0.1:%d;\n    root {root};\n"
        "    location /dav/ { dav_methods PUT MKCOL; create_full_put_path on; }\n"
        "    location /post { return 201 \"ok\"; }\n  }\n") % port)
    os.makedirs(os.path.join(ngx.root, "dav"))
    os.chmod(os.path.join(ngx.root, "dav"), 0o777)
    gw = Gateway("web-bench")
    base = "http://127.0.0.1:%d" % port
    cs = [{"name": "dav", "type": "webdav", "concurrency": CONC,
           "settings": {"url": base + "/dav/", "path_template": '"{rcpt_local}/%Y"'}},
          {"name": "post", "type": "http", "concurrency": CONC,
           "settings": {"url": base + "/post"}}]
    rules = [{"name": "dav", "recipient": "dav*@gw.test", "connector": "dav"},
             {"name": "post", "recipient": "post*@gw.test", "connector": "post"}]
    gw.write_config(cs, rules, ["127.0.0.0/8", "::1"], ["gw.test"])
    data = (b"%PDF-1.4\n" + os.urandom(KB * 1024))[:KB * 1024]
    ok = False
    try:
        ngx.start([port])
        gw.start(wait_ready=False)
        gw.wait_ready(timeout=90)
        run(gw, ngx, "dav", data)
        run(gw, ngx, "post", data)
        ok = True
    finally:
        gw.cleanup(ok)
        ngx.stop()
        if ok:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
