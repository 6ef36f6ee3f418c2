#!/usr/bin/env python3
"""e2e_web - gatewayd-web, the routing-sheet pages, in a real browser.

gatewayd starts with a web: section (HTTPS with a certificate made now)
and a real sasldb (saslpasswd2); headless chromium, driven through
chromedriver by python3-selenium, logs in and:

* creates a routing sheet (a title with markup, e-mail and fax
  recipients, an expiry), finds it escaped on its page, downloads its A4
  and Letter PDFs by clicking their links, and decodes the QR code of
  the downloaded A4 sheet (pdftoppm | zbarimg) to the directive's ID, the
  separator sheet's (A4 and Letter) to GATEWAYD-SEPARATOR;
  gatewayctl shows the directive with the web user as its owner;
* edits it; a form whose CSRF token was removed in the page is refused
  (403) and changes nothing; so is a POST without a token from outside;
* logs out: the old session cookie no longer opens a page;
* another user neither lists it nor opens it, its PDF or its delete
  (403); an admin (web.admins) lists and opens it; its owner deletes it
  after a confirmation page;
* an admin's queue console: pause delivery, a queued message held and
  released (each confirmed on a page of its own), delivery resumed and
  the message delivered; each action logged as gatewayctl's are; a
  user who is not an admin gets 403 there;
* the console's chart of the last hour (an inline SVG with a title, a
  point for the accepted message, the same number in its table; no
  horizontal scrolling on a phone-sized window) and, on the delivered
  message's page, its lines of the log (log.history_file is the
  daemon's log here): its receive and delivery lines, no other;
* a reload starts a new web child that serves on the same port (the old
  sessions end);
* the control socket refuses --as (acting for a user) from a peer that
  is not the web child;
* wrong passwords: after web.login_max_failures failures the right
  password is refused too (429) until web.login_failure_window has
  passed; no password is ever in the log.

The session cookie is HttpOnly, Secure and SameSite=Strict.  A
screenshot of each main page is kept in tests/e2e_web-artifacts/.
Skipped (77) only when chromium, chromedriver or python3-selenium is
missing.
"""
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    import selenium  # noqa: F401
except ImportError:     # a python3 without Debian's python3-selenium first in PATH
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("SKIP: python3-selenium is not installed")
    sys.exit(77)

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.support.ui import WebDriverWait

import gwtest
from gwtest import Gateway, check, free_port, wait_for
from rawsmtp import make_cert, make_sasldb

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORDS = {"alice": "Alice-pw-1!", "bob": "Bob-pw-2?", "carol": "Carol-pw-3#"}
WINDOW = 20         # web.login_failure_window of this test, seconds (wide: the
                    # four browser logins must fit in it on a loaded machine)
ARTIFACTS = os.path.join(os.environ.get("GW_TOP_BUILDDIR", gwtest.TOP_BUILDDIR),
                         "tests", "e2e_web-artifacts")


class Web:
    """The browser, and plain HTTPS requests with its cookies."""

    def __init__(self, port, downloads):
        self.base = "https://127.0.0.1:%d" % port
        self.downloads = downloads
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        self.profile = tempfile.mkdtemp(prefix="gw-chrome-")
        for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--ignore-certificate-errors",
                  "--window-size=1100,1000", "--user-data-dir=" + self.profile):
            opts.add_argument(a)
        opts.add_experimental_option("prefs", {
            "download.default_directory": downloads,
            "download.prompt_for_download": False,
            "plugins.always_open_pdf_externally": True})
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.d.set_page_load_timeout(60)
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE

    def go(self, path):
        self.d.get(self.base + path)
        return self.d.page_source

    def click(self, by, what):
        """Click what leads to another page, and wait until that page is in."""
        old = self.d.find_element(By.TAG_NAME, "html")
        self.d.find_element(by, what).click()

        def gone(_d):
            # chromedriver reports a node of the page left behind either as
            # stale or as "does not belong to the document"
            try:
                old.is_enabled()
                return False
            except WebDriverException:
                return True
        WebDriverWait(self.d, 30).until(gone)
        WebDriverWait(self.d, 30).until(
            lambda d: d.execute_script("return document.readyState") == "complete")

    def text(self):
        return self.d.find_element(By.TAG_NAME, "body").text

    def wait_for_id(self, ident, timeout=30):
        """Wait (bounded) for an element of the page that should come; say what came."""
        try:
            WebDriverWait(self.d, timeout).until(
                lambda d: d.find_elements(By.ID, ident))
        except TimeoutException:
            check(False, "no #%s on %s after %d s: %r" %
                  (ident, self.d.current_url, timeout, self.text()[:500]))

    def shot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.d.save_screenshot(os.path.join(ARTIFACTS, name + ".png"))

    def login(self, user, password):
        self.go("/login")
        self.d.find_element(By.ID, "user").send_keys(user + "@gw.test")
        self.d.find_element(By.ID, "password").send_keys(password)
        self.click(By.CSS_SELECTOR, "form[action='/login'] button")

    def logout(self):
        self.click(By.CSS_SELECTOR, "form[action='/logout'] button")

    def session(self):
        return {c["name"]: c for c in self.d.get_cookies()}.get("gw_session")

    def raw(self, path, form=None, cookie=None):
        """(status, body) of a request made outside the browser."""
        req = urllib.request.Request(self.base + path,
                                     data=urllib.parse.urlencode(form).encode() if form is not None
                                     else None)
        if cookie:
            req.add_header("Cookie", "gw_session=" + cookie)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        op = urllib.request.build_opener(urllib.request.HTTPSHandler(context=self.ctx), NoRedirect)
        try:
            r = op.open(req, timeout=30)
            return r.status, r.read().decode("utf-8", "replace"), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace"), e.headers

    def download(self, link_id, name):
        """Click a link that downloads a file; its path once it is complete."""
        path = os.path.join(self.downloads, name)
        if os.path.exists(path):
            os.unlink(path)
        self.d.find_element(By.ID, link_id).click()
        wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0 and
                 not os.path.exists(path + ".crdownload"), 30, "the download of %s" % name)
        return path

    def quit(self):
        self.d.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


def qr_of(pdf):
    """The QR payloads zbarimg reads from the first page of a PDF."""
    png = pdf[:-4]
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-png", "-singlefile", pdf, png],
                   check=True, capture_output=True, timeout=60)
    r = subprocess.run(["zbarimg", "-q", "--raw", png + ".png"], capture_output=True,
                       text=True, timeout=60)
    return r.stdout.split()


def page_size(pdf):
    out = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", out)
    check(m, "pdfinfo gives a page size: %s" % out)
    return round(float(m.group(1))), round(float(m.group(2)))


def web_ready(gw, port):
    out = gw.ctl("status", check_rc=False)
    return re.search(r"^web\s.*ready", out, re.M) is not None


def create_sheet(w):
    """Alice's routing sheet through the form; its ID."""
    w.click(By.ID, "new-sheet")
    w.shot("new-sheet")
    w.d.find_element(By.ID, "title").send_keys("Accounts <b>payable</b> & co")
    # a date input takes the digits of the browser's locale order
    w.d.execute_script("document.getElementById('expires').value = '2031-06-30'")
    w.d.find_element(By.CSS_SELECTOR, "#ch1 option[value='email']").click()
    w.d.find_element(By.ID, "addr1").send_keys("ap@example.com")
    w.d.find_element(By.CSS_SELECTOR, "#ch2 option[value='fax']").click()
    w.d.find_element(By.ID, "addr2").send_keys("+49301234567")
    w.d.find_element(By.ID, "name2").send_keys("Erika Muster")
    w.d.find_element(By.ID, "company2").send_keys("ACME GmbH")
    w.click(By.CSS_SELECTOR, "#sheet-form button[type=submit]")
    # the POST answers 303 to the sheet's page: wait for that page itself
    # (the document between the two can already read "complete")
    w.wait_for_id("sheet-code")
    code = w.d.find_element(By.ID, "sheet-code").text
    check(re.fullmatch(r"ED:[A-Za-z0-9]{4,32}", code), "the sheet's code: %r" % code)
    return code[3:]


def check_sheet(gw, w, did):
    """The page escapes the title; the PDFs are A4 and Letter; the QR is the ID."""
    src = w.d.page_source
    check("Accounts &lt;b&gt;payable&lt;/b&gt; &amp; co" in src and "<b>payable" not in src,
          "the title is escaped on the page")
    check(w.d.find_element(By.ID, "expires").get_attribute("value") == "2031-06-30",
          "the expiry is kept")
    w.shot("sheet")
    a4 = w.download("pdf-a4", "routing-sheet-%s.pdf" % did)
    check(page_size(a4) == (595, 842), "the A4 sheet: %r" % (page_size(a4),))
    check(qr_of(a4) == [did], "the QR code of the downloaded sheet is the ID: %r" % qr_of(a4))
    letter = w.download("pdf-letter", "routing-sheet-%s.pdf" % did)
    check(page_size(letter) == (612, 792), "the Letter sheet: %r" % (page_size(letter),))
    out = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "show", did],
                         capture_output=True, text=True, timeout=30).stdout
    check(re.search(r"^owner:\s+alice@gw.test$", out, re.M) and
          "recipient: email:ap@example.com" in out and
          "recipient: fax:+49301234567 name=Erika Muster company=ACME GmbH" in out,
          "gatewayctl shows the web user's directive: %s" % out)
    # the separator sheet, from the list page, on Letter and on A4
    w.go("/sheets")
    sep = w.download("separator-letter", "separator-sheet.pdf")
    check(page_size(sep) == (612, 792), "the Letter separator: %r" % (page_size(sep),))
    check(qr_of(sep) == ["GATEWAYD-SEPARATOR"], "the separator's QR code: %r" % qr_of(sep))
    sep = w.download("separator-a4", "separator-sheet.pdf")
    check(page_size(sep) == (595, 842), "the A4 separator: %r" % (page_size(sep),))
    w.go("/sheets/" + did)               # where the next checks start


def check_csrf(gw, w, did, cookie):
    """A form without its token, in the browser and from outside: 403."""
    w.d.execute_script("document.querySelector('#sheet-form input[name=csrf]').remove();"
                       "document.getElementById('title').value = 'Changed without token';")
    w.click(By.CSS_SELECTOR, "#sheet-form button[type=submit]")
    check("no valid security token" in w.text(), "the form without its token is refused")
    w.shot("csrf-refused")
    st, body, _ = w.raw("/sheets/new", {"title": "forged", "ch1": "email", "addr1": "x@example.com"},
                        cookie)
    check(st == 403, "a POST without a token from outside: %d" % st)
    st, _, _ = w.raw("/sheets/new", {"csrf": "0" * 64, "title": "forged", "ch1": "email",
                                     "addr1": "x@example.com"}, cookie)
    check(st == 403, "a POST with a wrong token: %d" % st)
    out = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "list"],
                         capture_output=True, text=True, timeout=30).stdout
    check("forged" not in out and "Changed without token" not in out,
          "nothing changed without a token: %s" % out)


def edit_sheet(w, did):
    w.go("/sheets/" + did)
    t = w.d.find_element(By.ID, "title")
    t.clear()
    t.send_keys("Accounts payable")
    w.click(By.CSS_SELECTOR, "#sheet-form button[type=submit]")
    w.go("/sheets")
    check("Accounts payable" in w.text() and "<b>" not in w.text(), "the list shows the new title")
    w.shot("sheets")


def other_users(gw, w, did):
    """Bob cannot reach Alice's sheet; Carol (admin) can; Alice deletes it."""
    w.login("bob", PASSWORDS["bob"])
    check("My routing sheets" in w.text() and did not in w.d.page_source,
          "bob's list does not show alice's sheet")
    for path in ("/sheets/" + did, "/sheets/%s/sheet.pdf?paper=a4" % did, "/sheets/%s/delete" % did):
        w.go(path)
        check("belongs to another user" in w.text(), "bob gets 403 on %s" % path)
    w.shot("forbidden")
    w.go("/admin")
    check("administrators only" in w.text(), "bob gets 403 on the queue console")
    check(not w.d.find_elements(By.LINK_TEXT, "Queue console"), "bob has no console link")
    bob = w.session()["value"]
    csrf = w.d.find_element(By.CSS_SELECTOR, "form[action='/logout'] input[name=csrf]") \
        .get_attribute("value")
    st, _, _ = w.raw("/sheets/%s/delete" % did, {"csrf": csrf}, bob)
    check(st == 403, "bob's delete of alice's sheet: %d" % st)
    st, _, _ = w.raw("/sheets/" + did, None, bob)
    check(st == 403, "bob's GET of alice's sheet: %d" % st)
    w.logout()
    w.login("carol", PASSWORDS["carol"])
    check(did in w.d.page_source and "alice@gw.test" in w.text(), "the admin lists alice's sheet")
    w.go("/sheets/" + did)
    check(w.d.find_element(By.ID, "sheet-code").text == "ED:" + did, "the admin opens it")
    w.logout()
    w.login("alice", PASSWORDS["alice"])
    w.go("/sheets/" + did)
    w.click(By.ID, "delete")
    w.shot("delete-confirm")
    w.click(By.ID, "confirm-delete")
    check(w.d.find_elements(By.ID, "no-sheets"), "alice's list is empty after the delete")
    out = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "show", did],
                         capture_output=True, text=True, timeout=30)
    check(out.returncode != 0, "the directive is gone: %r" % out.stdout)
    w.logout()


def console_op(w, op):
    """Click an action's button, confirm it, and wait for its result page."""
    w.click(By.ID, "op-" + op)
    check(w.d.find_elements(By.ID, "confirm"), "%s asks to confirm" % op)
    w.click(By.ID, "confirm")
    check(w.d.find_elements(By.ID, "done"), "%s done: %s" % (op, w.text()[:300]))


def admin_console(gw, w):
    """Carol pauses delivery, holds and releases a queued message, resumes."""
    w.login("carol", PASSWORDS["carol"])
    w.click(By.LINK_TEXT, "Queue console")
    check("Status" in w.text() and w.d.find_elements(By.ID, "status"), "the console's status")
    w.shot("admin")
    console_op(w, "pause-delivery")
    st = gw.ctl("status", check_rc=False)
    check(re.search(r"paused", st), "delivery paused from the console: %s" % st)
    s = gw.smtp()
    s.sendmail("scanner@client.test", ["someone@gw.test"], gwtest.make_message(1, "web"))
    s.quit()

    def queued():
        w.go("/admin/queue")
        return w.d.find_elements(By.CSS_SELECTOR, "#queue a")
    wait_for(queued, 30, "the message in the console's queue")
    w.shot("queue")
    link = queued()[0]
    qid = link.text
    w.click(By.LINK_TEXT, qid)
    check(qid in w.text(), "the message's envelope")
    w.shot("message")
    console_op(w, "hold")
    wait_for(lambda: gw.spool_files("hold"), 30, "the message in hold/")
    w.go("/admin/queue?state=hold")
    check(qid in w.text(), "the hold filter shows it")
    w.go("/admin/message?id=" + qid)
    console_op(w, "release")
    w.go("/admin")
    console_op(w, "resume-delivery")
    wait_for(lambda: len(gw.delivered()) == 1, 30, "the released message delivered")
    log = gw.read_log()
    for line in ("operator web user carol@gw.test: pause delivery",
                 "operator web user carol@gw.test: queue hold " + qid,
                 "operator web user carol@gw.test: queue release " + qid,
                 "operator web user carol@gw.test: resume delivery"):
        check(line in log, "logged like gatewayctl's: %s" % line)
    console_chart_log(gw, w, qid)
    w.logout()


def console_chart_log(gw, w, qid):
    """The chart of the last hour shows the message; its page, its log lines."""
    def counted():
        w.go("/admin")
        return w.d.find_elements(By.CSS_SELECTOR, "#chart circle.pt-accepted")
    wait_for(counted, 30, "a point for the accepted message in the chart")
    svg = w.d.find_element(By.ID, "chart")
    check(svg.get_attribute("role") == "img" and
          w.d.find_element(By.ID, "chart-title").get_attribute("textContent").startswith(
              "Messages per minute"), "the chart has a role and a title")
    pts = w.d.find_element(By.ID, "line-accepted").get_attribute("points").split()
    check(any(float(p.split(",")[1]) < 196 for p in pts),
          "a point of the accepted line above the axis: %r" % pts)
    cells = w.d.find_elements(By.CSS_SELECTOR, "#history tbody td")
    check(any(int(c.get_attribute("textContent")) >= 1 for c in cells),
          "the table has the number too")
    w.d.execute_script("arguments[0].scrollIntoView()", svg)
    w.shot("admin-chart")
    w.d.set_window_size(390, 844)
    try:
        w.go("/admin")
        wide = w.d.execute_script("return document.documentElement.scrollWidth > "
                                  "window.innerWidth")
        check(not wide, "the console needs no horizontal scrolling on a phone")
        w.d.execute_script("arguments[0].scrollIntoView()", w.d.find_element(By.ID, "chart"))
        w.shot("admin-chart-phone")
    finally:
        w.d.set_window_size(1100, 1000)
    w.go("/admin/message?id=" + qid)
    check(w.d.find_elements(By.ID, "gone"), "the delivered message is no longer queued")
    lines = w.d.find_element(By.ID, "log").text.splitlines()
    check(lines and all(qid in l for l in lines), "only the message's lines: %r" % lines)
    check(any(qid + ": from=<scanner@client.test>" in l for l in lines) and
          any("status=sent" in l for l in lines), "its receive and delivery lines: %r" % lines)
    w.shot("message-log")


def control_as(gw):
    """--as from any peer but the web child is refused (here root's)."""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(gw.sock)
    s.sendall(b"directive 6c697374 --as " + "alice@gw.test".encode().hex().encode() + b"\n")
    ans = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        ans += b
    s.close()
    check(ans.startswith(b"error permission denied: --as is for gatewayd-web"),
          "--as from another peer is refused: %r" % ans)


def web_pid(gw):
    m = re.search(r"^web\s+\S*\s*(\d+)", gw.ctl("status", check_rc=False), re.M)
    return m.group(1) if m else None


def reload_keeps_serving(gw, w):
    """A reload starts a new web child on the same port; sessions end."""
    old = web_pid(gw)
    check(old, "status names the web child: %s" % gw.ctl("status", check_rc=False))
    gw.ctl("reload")
    wait_for(lambda: web_pid(gw) not in (None, old) and web_ready(gw, 0), 30,
             "a new web child after the reload")
    w.go("/sheets")
    check(w.d.current_url.endswith("/login"), "the session ended with the old child")
    w.login("bob", PASSWORDS["bob"])
    check("My routing sheets" in w.text(), "the new child serves logins")
    w.logout()


def rate_limit(gw, w):
    """Failures up to the limit; then even the right password is refused."""
    for i in range(3):
        w.login("alice", "wrong-%d" % i)
        check("Wrong user name or password" in w.text(), "failure %d answered" % i)
    w.shot("login-failed")
    w.login("alice", PASSWORDS["alice"])
    check("Too many failed attempts" in w.text() and w.session() is None,
          "the right password is refused while limited")
    w.shot("login-limited")
    time.sleep(WINDOW + 1)
    w.login("alice", PASSWORDS["alice"])
    check("My routing sheets" in w.text(), "logged in again after the window")
    log = gw.read_log()
    check("web: login of user=alice@gw.test from 127.0.0.1 refused: too many failed attempts"
          in log, "the refusal is logged")


def test():
    for prog in (CHROMIUM, CHROMEDRIVER, "/usr/bin/zbarimg", "/usr/bin/pdftoppm"):
        if not os.path.exists(prog):
            print("SKIP: %s is not installed" % prog)
            sys.exit(77)
    keys = tempfile.mkdtemp(prefix="gw-web-keys-")
    os.chmod(keys, 0o755)
    cert, key = make_cert(keys)
    db = make_sasldb(keys, PASSWORDS)
    wport = free_port()
    gw = Gateway("web", extra="sasl:\n  backend: sasldb\n  sasldb_path: %s\n"
                 "web:\n  address: 127.0.0.1\n  port: %d\n  tls_cert: %s\n  tls_key: %s\n"
                 "  admins: [carol@gw.test]\n  login_max_failures: 3\n"
                 "  login_failure_window: %ds\n" % (db, wport, cert, key, WINDOW))
    with open(gw.config, "a") as f:     # a message's log lines on the console
        f.write("log:\n  history_file: %s\n" % gw.log)
    downloads = tempfile.mkdtemp(prefix="gw-web-dl-")
    ok = False
    w = None
    try:
        gw.start()
        wait_for(lambda: web_ready(gw, wport), 30, "the web child to be ready")
        w = Web(wport, downloads)
        w.go("/")
        check(w.d.current_url.endswith("/login"), "/ leads to the login page")
        w.shot("login")
        w.login("alice", PASSWORDS["alice"])
        check("My routing sheets" in w.text() and w.d.find_elements(By.ID, "no-sheets"),
              "alice's empty list after the login")
        c = w.session()
        check(c and c["httpOnly"] and c["secure"] and c.get("sameSite") == "Strict",
              "the session cookie is HttpOnly, Secure, SameSite=Strict: %r" % c)
        did = create_sheet(w)
        check_sheet(gw, w, did)
        check_csrf(gw, w, did, c["value"])
        edit_sheet(w, did)
        w.logout()
        check(w.d.current_url.endswith("/login"), "logout leads to the login page")
        st, _, hdr = w.raw("/sheets", None, c["value"])
        check(st == 303 and hdr.get("Location") == "/login",
              "the old session opens nothing after logout: %d" % st)
        other_users(gw, w, did)
        control_as(gw)
        admin_console(gw, w)
        reload_keeps_serving(gw, w)
        rate_limit(gw, w)
        log = gw.read_log()
        for p in PASSWORDS.values():
            check(p not in log, "no password in the log")
        check("operator web user alice@gw.test: directive create" in log,
              "the web user's change is logged like an operator's")
        ok = True
    finally:
        if w is not None:
            w.quit()
        shutil.rmtree(downloads, ignore_errors=True)
        gw.cleanup(ok)
        if ok:
            shutil.rmtree(keys, ignore_errors=True)


if __name__ == "__main__":
    gwtest.main(test)
