#!/usr/bin/env python3
"""e2e_http - the http connector against a multipart receiver on loopback.

A python3 http.server receiver started here parses every multipart/form-
data POST and records its parts.  Through SMTP (swaks --attach):
- a paperless-ngx style instance (file_field document, fields mapping
  subject -> title, arrival -> created, static tags 3 and 7, bearer token
  from a 0600 auth_file): one POST per attachment, the file part's bytes,
  name and type equal to the attachment, the fields' values equal to the
  message's (title, created, tags twice), the Authorization header
  "Bearer <token>";
- the default fields: every sidecar field under its own name (queue_id,
  sender, recipients, sha256 and size of the document...);
- a 400 answer with a JSON reason: bounced, the DSN names the status line
  and the reason;
- a server that never answers: deferred at the timeout;
- the receiver down: deferred (connection refused), then started on its
  port and the queue retried: delivered, one POST.
"""
import hashlib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwtest import Gateway, check, free_port, main, wait_for  # noqa: E402
from e2e_folder import make_pdf, make_tiff  # noqa: E402
from webtest import Receiver, SlowServer, bounces, deferred_text, jdump, send_attachments  # noqa: E402

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def fields(post):
    """{name: [values]} of the text parts, [(name, filename, type, bytes)] of the files"""
    text, files = {}, []
    for name, filename, ctype, data in post["parts"]:
        if filename is None:
            text.setdefault(name, []).append(data.decode())
        else:
            files.append((name, filename, ctype, data))
    return text, files


def config(gw, port, down_port, slow_port):
    tok = os.path.join(gw.dir, "paperless.token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok, 0o600)
    base = "http://127.0.0.1:%d" % port
    retry = {"min_backoff": "1s", "max_backoff": "2s", "lifetime": "1h"}
    web = [
        ("paperless", {"url": base + "/api/documents/post_document/", "auth": "bearer",
                       "auth_file": tok, "file_field": "document",
                       "fields": "{subject: title, arrival: created}",
                       "static_fields": "{tags: [3, 7]}"}),
        ("hook", {"url": base + "/hook?source=gw", "file_template": '"{counter}-{filename}"'}),
        ("refuse", {"url": base + "/refuse"}),
        ("slow", {"url": "http://127.0.0.1:%d/slow" % slow_port, "timeout": "2"}),
        ("down", {"url": "http://127.0.0.1:%d/down" % down_port, "connect_timeout": "3"}),
    ]
    cs = [{"name": "archive", "type": "folder", "settings": {"path": gw.mail}}]
    rules = [{"name": "dsn", "recipient": "*@client.test", "connector": "archive"}]
    for name, s in web:
        cs.append({"name": name, "type": "http", "settings": s, "retry": retry})
        rules.append({"name": name, "recipient": name + "*@gw.test", "connector": name})
    gw.write_config(cs, rules, ["127.0.0.0/8", "::1"], ["gw.test"])


def check_paperless(rec, pdf, tif):
    posts = rec.got("/api/documents/post_document/")
    check(len(posts) == 2, "two POSTs to paperless: %s" % jdump(posts))
    byname = {}
    for p in posts:
        check(p["auth"] == "Bearer " + TOKEN, "bearer token sent: %r" % p["auth"])
        text, files = fields(p)
        check(len(files) == 1 and files[0][0] == "document", "one file part 'document': %s" % files)
        check(set(text) == {"title", "created", "tags"}, "only the mapped fields: %s" % text)
        check(text["title"] == ["Scan 2025"] and text["tags"] == ["3", "7"], text)
        check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text["created"][0]), text)
        byname[files[0][1]] = files[0]
    pdfn = [n for n in byname if n.endswith("-Scan 2025.pdf")]
    tifn = [n for n in byname if n.endswith("-pages.tiff")]
    check(len(pdfn) == 1 and len(tifn) == 1, "file names: %s" % list(byname))
    check(byname[pdfn[0]][3] == pdf and byname[pdfn[0]][2] == "application/pdf", "PDF bytes and type")
    check(byname[tifn[0]][3] == tif and byname[tifn[0]][2] == "image/tiff", "TIFF bytes and type")


def check_hook(rec, pdf):
    posts = rec.got("/hook?source=gw")
    check(len(posts) == 1 and posts[0]["auth"] is None, "one POST to the hook: %s" % jdump(posts))
    text, files = fields(posts[0])
    check(len(files) == 1 and files[0][1] == "1-Scan 2025.pdf" and files[0][3] == pdf,
          "the hook got the PDF as 1-Scan 2025.pdf: %s" % [f[:3] for f in files])
    want = {"sender": ["mfp1@client.test"], "recipients": ["hook1@gw.test"],
            "subject": ["Scan 2025"], "client_address": ["127.0.0.1"],
            "helo": ["mfp1.client.test"], "filename": ["1-Scan 2025.pdf"],
            "original_name": ["Scan 2025.pdf"], "content_type": ["application/pdf"],
            "size": [str(len(pdf))], "sha256": [hashlib.sha256(pdf).hexdigest()],
            "counter": ["1"]}
    for k, v in want.items():
        check(text.get(k) == v, "field %s: %r, want %r" % (k, text.get(k), v))
    check(re.fullmatch(r"[0-9a-f]{20}", text["queue_id"][0]) and "arrival" in text and
          abs(int(text["arrival_unix"][0]) - time.time()) < 600, "queue_id, arrival: %s" % text)
    check("fax" not in text and "name" not in text, "router fields only when mapped")


def test():
    rec = Receiver(answers={"/refuse": (400, '{"document": ["File type not supported"]}')})
    rec.start()
    down = Receiver()
    slow = SlowServer(delay=20)
    gw = Gateway("http")
    config(gw, rec.port, down.port, slow.port)
    ok = False
    try:
        gw.start(wait_ready=False)
        gw.wait_ready(timeout=90)
        pdf, tif = make_pdf(), make_tiff()
        scan = [("Scan 2025.pdf", pdf, "application/pdf")]
        send_attachments(gw, "paperless1@gw.test", scan + [("pages.tiff", tif, "image/tiff")],
                         subject="Scan 2025")
        for who in ("hook1", "refuse1", "slow1", "down1"):
            send_attachments(gw, who + "@gw.test", scan, subject="Scan 2025")
        wait_for(lambda: len(rec.got("/api/documents/post_document/")) == 2 and
                 rec.got("/hook?source=gw"), 60, "the POSTs")
        check_paperless(rec, pdf, tif)
        check_hook(rec, pdf)

        wait_for(lambda: any("refuse1@gw.test" in b for b in bounces(gw)), 40, "the DSN for 400")
        dsn = [b for b in bounces(gw) if "refuse1@gw.test" in b][0]
        check("HTTP/1.1 400 Bad Request" in dsn and "File type not supported" in dsn and
              "5.0.0" in dsn, "the DSN names the status line and reason:\n%s" % dsn[-2500:])
        t = deferred_text(gw, "slow")
        check("4.4.2" in t and "Timeout" in t, "slow deferred at the timeout: %s" % t[-600:])

        t = deferred_text(gw, "down")
        check("4.4.1" in t and "127.0.0.1:%d" % down.port in t, "down deferred: %s" % t[-600:])
        check(not down.got("/down"), "nothing received while down")
        down.start()
        gw.ctl("queue", "retry", "ALL")
        wait_for(lambda: down.got("/down"), 30, "the POST once the receiver is back")
        wait_for(lambda: not gw.spool_files("deferred/down") and not gw.spool_files("queue/down")
                 and not gw.spool_files("active/down"), 30, "the down queue empty")
        time.sleep(2)       # past a backoff: a second POST would show now
        check(len(down.got("/down")) == 1 and fields(down.got("/down")[0])[1][0][3] == pdf,
              "delivered once: %d POSTs" % len(down.got("/down")))
        check(not any(("slow1" in b or "down1" in b) for b in bounces(gw)), "no DSN for deferrals")
        ok = True
    finally:
        gw.cleanup(ok)
        rec.stop()
        down.stop()
        slow.stop()


if __name__ == "__main__":
    main(test)
