#!/usr/bin/env python3
"""e2e_web_send - "Send documents" in gatewayd-web, in a real browser.

gatewayd starts with a web: section (HTTPS, a real sasldb) and a rule
that files mail for @docs.test with the folder connector.  Headless
chromium logs in as alice and:

* uploads two files (a PDF and a text file with a non-ASCII name) to an
  e-mail address through the send form; the page shows the queue ID, the
  folder connector delivers the message, and both attachments are in it
  byte for byte with their names, with the subject and the note; the log
  has the receiver's line for it with client=web[127.0.0.1] and
  sasl_username=alice@gw.test; the status page then says the message is
  no longer in the queue and was delivered to its recipient (the
  delivery's line of log.history_file);
* sends a file to one of her routing sheets, picked by its title from
  the form's list, and the sheet's recipient gets it;
* sends one to an address routed to an upstream that does not answer:
  the status page shows it deferred, with the reason;
* a form whose CSRF token was removed is refused (403), and so is a POST
  from outside without one; nothing is sent;
* an upload over web.max_upload is answered 413;
* a destination no rule routes shows the receiver's 550 on the page;
* with delivery paused, the status page shows alice's message queued;
  bob gets 403 for it (from the control child, and from the web child
  once it is gone);
* with receiving paused, the page says 503 and nothing is queued.

A screenshot of each page is kept in tests/e2e_web_send-artifacts/.
Skipped (77) only when chromium, chromedriver or python3-selenium is
missing.
"""
import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

from e2e_web import Web, web_ready, CHROMIUM, CHROMEDRIVER  # re-execs without selenium

from selenium.webdriver.common.by import By

import gwtest
from gwtest import Gateway, check, free_port, wait_for
from rawsmtp import make_cert, make_sasldb

PASSWORDS = {"alice": "Alice-pw-1!", "bob": "Bob-pw-2?"}
MAX_UPLOAD = 200 * 1024
ARTIFACTS = os.path.join(os.environ.get("GW_TOP_BUILDDIR", gwtest.TOP_BUILDDIR),
                         "tests", "e2e_web_send-artifacts")


def shot(w, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    w.d.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))


def make_files(d):
    """A small real PDF (with binary bytes) and a text file."""
    body = bytes(range(256)) * 40
    pdf = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
           b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
           b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
           + (b"4 0 obj<</Length %d>>stream\n" % len(body)) + body +
           b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%EOF\n")
    a = os.path.join(d, "report.pdf")
    b = os.path.join(d, "\u00dcbersicht 2026.txt")
    with open(a, "wb") as f:
        f.write(pdf)
    with open(b, "wb") as f:
        f.write("line one\r\n.line two starts with a dot\nEnde \u00e4\u00f6\u00fc\n".encode())
    return a, b


def fill(w, files, kind, to, subject="", note=""):
    w.go("/send")
    w.d.find_element(By.ID, "files").send_keys("\n".join(files))
    w.d.find_element(By.CSS_SELECTOR, "#kind option[value='%s']" % kind).click()
    w.d.find_element(By.ID, "to").send_keys(to)
    w.d.find_element(By.ID, "subject").send_keys(subject)
    w.d.find_element(By.ID, "note").send_keys(note)


def submit(w):
    w.click(By.CSS_SELECTOR, "#send-form button[type=submit]")


def raw_post(w, cookie, fields, files):
    """(status, body) of a multipart POST to /send made outside the browser."""
    bnd = "----gwtest7d1f"
    out = b""
    for k, v in fields.items():
        out += ("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                % (bnd, k, v)).encode()
    for name, data in files:
        out += ("--%s\r\nContent-Disposition: form-data; name=\"files\"; filename=\"%s\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" % (bnd, name)).encode()
        out += data + b"\r\n"
    out += ("--%s--\r\n" % bnd).encode()
    req = urllib.request.Request(w.base + "/send", data=out)
    req.add_header("Content-Type", "multipart/form-data; boundary=" + bnd)
    req.add_header("Cookie", "gw_session=" + cookie)
    op = urllib.request.build_opener(urllib.request.HTTPSHandler(context=w.ctx))
    try:
        r = op.open(req, timeout=60)
        return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def csrf_of(w):
    return w.d.find_element(By.CSS_SELECTOR, "form[action='/logout'] input[name=csrf]") \
        .get_attribute("value")


def send_two(gw, w, pdf, txt):
    """Two files to an e-mail address; delivered byte-exact by the folder connector."""
    fill(w, [pdf, txt], "email", "team@docs.test", "Quarterly <report> & \u00e9t\u00e9",
         "Hello team,\n.a line with a dot\nbye")
    shot(w, "send-form")
    submit(w)
    w.wait_for_id("qid")
    qid = w.d.find_element(By.ID, "qid").text
    check(re.fullmatch(r"[0-9a-f]{20}", qid), "the page shows a queue ID: %r" % qid)
    check(w.d.current_url.endswith("/send/" + qid), "redirected to the status page")
    shot(w, "sent")
    wait_for(lambda: len(gw.delivered()) == 1, 60, "the message in the folder")
    data = list(gw.delivered().values())[0]
    msg = email.message_from_bytes(data, policy=email.policy.default)
    check(msg["Subject"] == "Quarterly <report> & \u00e9t\u00e9", "subject: %r" % msg["Subject"])
    check(msg["From"] == "<alice@gw.test>" or "alice@gw.test" in str(msg["From"]),
          "From is the user: %r" % msg["From"])
    atts = {p.get_filename(): p.get_payload(decode=True) for p in msg.iter_attachments()}
    with open(pdf, "rb") as f:
        want_pdf = f.read()
    with open(txt, "rb") as f:
        want_txt = f.read()
    check(atts.get("report.pdf") == want_pdf, "the PDF byte for byte: %r" % list(atts))
    check(atts.get(os.path.basename(txt)) == want_txt, "the text file byte for byte")
    body = msg.get_body(("plain",)).get_content()
    check(".a line with a dot" in body and "Hello team," in body, "the note: %r" % body)
    log = gw.read_log()
    check(re.search(r"%s: from=<alice@gw.test>, size=\d+, nrcpt=1, "
                    r"client=web\[127\.0\.0\.1\], sasl_username=alice@gw.test" % qid, log),
          "the receiver's log line of the web submission")
    # gone from the queue: the page tells the outcome from the log
    wait_for(lambda: re.search(r"%s: to=<team@docs.test>, relay=archive\[.*status=sent" % qid,
                               gw.read_log()), 30, "the delivery's log line")
    w.go("/send/" + qid)
    state = w.d.find_element(By.ID, "state").text
    check("No longer in the queue" in state and "delivered (archive)" in state and
          "to=<team@docs.test>" in state, "delivered, says the status page: %s" % state)
    shot(w, "status-gone")
    return qid


def send_directive(gw, w, txt):
    """To one of alice's routing sheets, picked from the list: delivered by it."""
    did = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "create",
                          "--title", "AP <inbox>", "--owner", "alice@gw.test",
                          "--rcpt", "email:ap@docs.test"],
                         capture_output=True, text=True, timeout=30).stdout.strip()
    check(re.fullmatch(r"[A-Za-z0-9]{4,32}", did), "a directive for alice: %r" % did)
    before = len(gw.delivered())
    w.go("/send")
    w.d.find_element(By.ID, "files").send_keys(txt)
    w.d.find_element(By.CSS_SELECTOR, "#kind option[value='directive']").click()
    opt = w.d.find_element(By.CSS_SELECTOR, "#directive option[value='%s']" % did)
    check("AP <inbox>" in opt.text, "the sheet is offered by its title: %r" % opt.text)
    opt.click()
    submit(w)
    w.wait_for_id("qid")
    wait_for(lambda: len(gw.delivered()) == before + 1, 60, "the message to the sheet delivered")
    log = gw.read_log()
    check(re.search(r"to=<ap@docs.test>.*status=sent", log), "delivered to the sheet's recipient")


def deferred(gw, w, txt):
    """To an upstream that does not answer: the status shows it deferred, and why."""
    fill(w, [txt], "email", "someone@slow.test", "slow")
    submit(w)
    w.wait_for_id("qid")
    qid = w.d.find_element(By.ID, "qid").text

    def shown():
        w.go("/send/" + qid)
        st = w.d.find_element(By.ID, "state").text
        return "deferred" in st and re.search(r"\(relay\): \S", st)
    wait_for(shown, 60, "the status page showing the message deferred with a reason")
    shot(w, "status-deferred")


def refused(gw, w, txt, cookie):
    """No token, over the limit, no route: nothing sent."""
    fill(w, [txt], "email", "team@docs.test", "no token")
    w.d.execute_script("document.querySelector('#send-form input[name=csrf]').remove();")
    submit(w)
    check("no valid security token" in w.text(), "the form without its token is refused")
    st, _ = raw_post(w, cookie, {"kind": "email", "to": "team@docs.test"},
                     [("a.txt", b"x")])
    check(st == 403, "a POST without a token from outside: %d" % st)
    big = os.path.join(os.path.dirname(txt), "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(MAX_UPLOAD + 1))
    fill(w, [big], "email", "team@docs.test", "too big")
    submit(w)
    check("too large" in w.text(), "over web.max_upload: %s" % w.text()[:300])
    shot(w, "too-large")
    st, _ = raw_post(w, cookie, {"csrf": csrf_of(w), "kind": "email", "to": "team@docs.test"},
                     [("big.bin", b"y" * (MAX_UPLOAD + 1))])
    check(st == 413, "an upload over web.max_upload: %d" % st)
    fill(w, [txt], "email", "nobody@elsewhere.test", "no route")
    submit(w)
    w.wait_for_id("send-error")
    check(re.search(r"\b550\b", w.text()), "the receiver's 550 on the page: %s" % w.text()[:400])
    shot(w, "no-route")
    st, body = raw_post(w, cookie, {"csrf": csrf_of(w), "kind": "email",
                                    "to": "nobody@elsewhere.test"}, [("a.txt", b"x")])
    check(st == 422 and "550" in body, "no route from outside: %d" % st)
    check(len(gw.delivered()) == 2, "nothing more was delivered")


def other_user(gw, w, txt, gone_qid):
    """Delivery paused: alice sees her message queued, bob gets 403."""
    gw.ctl("pause", "delivery")
    fill(w, [txt], "email", "team@docs.test", "held back")
    submit(w)
    w.wait_for_id("qid")
    qid = w.d.find_element(By.ID, "qid").text
    check("queued" in w.d.find_element(By.ID, "state").text or
          "received" in w.d.find_element(By.ID, "state").text,
          "alice sees it in the queue: %s" % w.text()[:300])
    shot(w, "status-queued")
    w.logout()
    w.login("bob", PASSWORDS["bob"])
    for q in (qid, gone_qid):
        w.go("/send/" + q)
        check("sent by another user" in w.text(), "bob gets 403 for %s: %s" % (q, w.text()[:200]))
    st, _, _ = w.raw("/send/" + qid, None, w.session()["value"])
    check(st == 403, "bob's GET of alice's status: %d" % st)
    shot(w, "status-forbidden")
    gw.ctl("pause", "receive")
    fill(w, [txt], "email", "team@docs.test", "receiving paused")
    submit(w)
    check("Service paused" in w.text() or "cannot take documents" in w.text(),
          "receiving paused: the page says so: %s" % w.text()[:300])
    check("reject: web submission of bob@gw.test from [127.0.0.1]: receiving paused"
          in gw.read_log(), "the receiver refused it while paused")
    gw.ctl("resume", "receive")
    gw.ctl("resume", "delivery")
    wait_for(lambda: len(gw.delivered()) == 3, 60, "the held-back message delivered")
    check("receiving paused" not in "".join(d.decode("latin-1") for d in gw.delivered().values()),
          "nothing of the refused submission was queued")
    w.logout()


def test():
    for prog in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(prog):
            print("SKIP: %s is not installed" % prog)
            sys.exit(77)
    keys = tempfile.mkdtemp(prefix="gw-websend-keys-")
    os.chmod(keys, 0o755)
    cert, key = make_cert(keys)
    db = make_sasldb(keys, PASSWORDS)
    wport = free_port()
    extra = ("sasl:\n  backend: sasldb\n  sasldb_path: %s\n"
             "directives: { channels: { email: archive } }\n"
             "web:\n  address: 127.0.0.1\n  port: %d\n  tls_cert: %s\n  tls_key: %s\n"
             "  max_upload: %d\n" % (db, wport, cert, key, MAX_UPLOAD))
    gw = Gateway("websend", extra=extra)
    # @slow.test goes to an upstream that is not there: deferred with a reason
    gw.write_config([{"name": "archive", "type": "folder", "settings": {"path": gw.mail}},
                     {"name": "relay", "type": "smtp",
                      "settings": {"hosts": "[127.0.0.1:%d]" % free_port()},
                      "retry": {"min_backoff": "1h", "max_backoff": "1h"}}],
                    [{"name": "docs", "recipient": "*@docs.test", "connector": "archive"},
                     {"name": "slow", "recipient": "*@slow.test", "connector": "relay"}],
                    ["127.0.0.0/8", "::1"], ["gw.test"], extra)
    with open(gw.config, "a") as f:     # the outcome of a message gone from the queue
        f.write("log:\n  history_file: %s\n" % gw.log)
    files = tempfile.mkdtemp(prefix="gw-websend-files-")
    ok = False
    w = None
    try:
        pdf, txt = make_files(files)
        gw.start()
        wait_for(lambda: web_ready(gw, wport), 30, "the web child to be ready")
        w = Web(wport, files)
        w.login("alice", PASSWORDS["alice"])
        check(w.d.find_elements(By.LINK_TEXT, "Send documents"), "the menu links the page")
        cookie = w.session()["value"]
        w.d.set_window_size(390, 844)     # a phone: the form fits its width
        w.go("/send")
        check(w.d.execute_script("return document.documentElement.scrollWidth") <= 390,
              "the send form needs no sideways scrolling on a phone")
        shot(w, "send-form-phone")
        w.d.set_window_size(1100, 1000)
        qid = send_two(gw, w, pdf, txt)
        send_directive(gw, w, txt)
        deferred(gw, w, txt)
        refused(gw, w, txt, cookie)
        other_user(gw, w, txt, qid)
        ok = True
    finally:
        if w is not None:
            w.quit()
        shutil.rmtree(files, ignore_errors=True)
        gw.cleanup(ok)
        if ok:
            shutil.rmtree(keys, ignore_errors=True)


if __name__ == "__main__":
    gwtest.main(test)
