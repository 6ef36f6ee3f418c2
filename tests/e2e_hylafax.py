#!/usr/bin/env python3
"""e2e_hylafax - fax through a real HylaFAX with the shipped recipe.

A private HylaFAX server runs on loopback: faxq (the scheduler: hfaxd
refuses to submit a job when no scheduler reads its FIFO) and hfaxd (the
client protocol, -l 127.0.0.1 -i PORT) on a spool made here (faxq needs
etc/setup.cache; hfaxd chroots into the spool and runs as uucp, so the
test needs root).  No modem: jobs wait in sendq/.  The gateway uses the
connector of etc/recipes/hylafax.yaml (hylafax-send from the source tree,
the host and port of this server) with its addressing.fax_connector.

Through SMTP, checked in HylaFAX's own records (faxstat -s and the q
files of sendq/, whose documents are compared byte for byte):

* a one-off "FAX=+1 (603) 890-1957^COMPANY=Acme Inc"@gw.test with the
  display name "Jane Doe" and a PDF attached: one job, number, receiver,
  company, a cover page, the PDF as the document;
* 16038901958^NOCOVER: a job without a cover page;
* hfaxd down: deferred ("Can not reach"), then, hfaxd back, delivered
  once (one job for that number);
* hfaxd stopped (SIGSTOP, a slow server): the command is killed at the
  connector's timeout and deferred; continued, delivered once;
* the gateway user refused in hosts.hfaxd (a 5xx reply): bounced, the
  DSN carrying the server's reply.
"""
import email.mime.application
import email.mime.multipart
import email.mime.text
import email.policy
import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time


import gwtest
from e2e_folder import make_pdf
from gwtest import Gateway, check, free_port, main, run_user, settle, wait_for

HFX_DIRS = ("archive", "bin", "client", "config", "dev", "docq", "doneq", "etc",
            "info", "log", "pollq", "recvq", "sendq", "status", "tmp")


class HylaFax:
    """faxq and hfaxd on a private spool, hfaxd on 127.0.0.1:port."""

    def __init__(self, base):
        self.spool = os.path.join(base, "hfx")
        self.port = free_port()
        self.faxq = self.hfaxd = None
        for d in HFX_DIRS:
            os.makedirs(os.path.join(self.spool, d))
        for f in ("setup.cache", "typerules", "pagesizes", "dialrules"):
            if os.path.exists("/etc/hylafax/" + f):
                shutil.copy("/etc/hylafax/" + f, os.path.join(self.spool, "etc", f))
        self.allow("127.0.0.1\n")
        os.mkfifo(os.path.join(self.spool, "FIFO"), 0o600)
        uucp = pwd.getpwnam("uucp")
        for root, dirs, files in os.walk(self.spool):
            for n in dirs + files:
                os.chown(os.path.join(root, n), uucp.pw_uid, uucp.pw_gid)
        os.chown(self.spool, uucp.pw_uid, uucp.pw_gid)
        self.log = open(os.path.join(base, "hylafax.log"), "ab")

    def allow(self, text):
        p = os.path.join(self.spool, "etc", "hosts.hfaxd")
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o600)
        if os.path.exists(p):
            uucp = pwd.getpwnam("uucp")
            os.chown(p, uucp.pw_uid, uucp.pw_gid)

    def start(self):
        if self.faxq is None:
            self.faxq = subprocess.Popen(["/usr/sbin/faxq", "-D", "-q", self.spool],
                                         stdout=self.log, stderr=self.log, start_new_session=True)
        self.start_hfaxd()
        wait_for(lambda: "Running" in self.faxstat(check_rc=False), 20, "HylaFAX's scheduler")

    def start_hfaxd(self):
        self.hfaxd = subprocess.Popen(["/usr/sbin/hfaxd", "-d", "-l", "127.0.0.1", "-i",
                                       str(self.port), "-q", self.spool],
                                      stdout=self.log, stderr=self.log, start_new_session=True)
        wait_for(self.listening, 10, "hfaxd on 127.0.0.1:%d" % self.port)

    def listening(self):
        import socket
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def signal_hfaxd(self, sig):
        os.killpg(self.hfaxd.pid, sig)

    def stop_hfaxd(self):
        if self.hfaxd is not None and self.hfaxd.poll() is None:
            os.killpg(self.hfaxd.pid, signal.SIGKILL)
            self.hfaxd.wait(timeout=10)
        self.hfaxd = None

    def stop(self):
        self.stop_hfaxd()
        if self.faxq is not None and self.faxq.poll() is None:
            os.killpg(self.faxq.pid, signal.SIGKILL)
            self.faxq.wait(timeout=10)

    def faxstat(self, check_rc=True):
        r = subprocess.run(["faxstat", "-h", "127.0.0.1:%d" % self.port, "-s"],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, HOME="/nonexistent"))
        if check_rc:
            check(r.returncode == 0, "faxstat -s: %s %s" % (r.stdout, r.stderr))
        return r.stdout

    def jobs(self):
        """Every queued job: its q file as a dict (documents in "docs")."""
        out = []
        for p in sorted(glob.glob(os.path.join(self.spool, "sendq", "q*"))):
            job = {"docs": []}
            with open(p, errors="replace") as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition(":")
                    if k in ("postscript", "pdf", "tiff", "!postscript", "!pdf", "!tiff"):
                        job["docs"].append((k, v.split(":")[-1]))
                    else:
                        job[k] = v
            out.append(job)
        return out

    def doc(self, rel):
        with open(os.path.join(self.spool, rel), "rb") as f:
            return f.read()


def fax_message(to_header, rcpt, pdf):
    m = email.mime.multipart.MIMEMultipart()
    m["From"], m["To"], m["Subject"] = "mfp@client.test", to_header, "fax"
    m.attach(email.mime.text.MIMEText("please fax"))
    part = email.mime.application.MIMEApplication(pdf, _subtype="pdf")
    part.add_header("Content-Disposition", "attachment", filename="scan.pdf")
    m.attach(part)
    return m.as_bytes(policy=email.policy.SMTP)


def use_recipe(gw, hfx):
    """Splice the shipped recipe into the configuration, pointed at the
    source tree's hylafax-send and this server, with a short timeout (the
    slow server's case) and retry interval."""
    path = os.path.join(gwtest.TOP_BUILDDIR, "etc", "recipes", "hylafax.yaml")
    with open(path) as f:
        recipe = f.read()
    conn, _, addressing = recipe.partition("\naddressing:\n")
    conn = conn.split("\nconnectors:\n", 1)[1]
    check(addressing.strip() == "fax_connector: fax", "the recipe's addressing: %r" % addressing)
    m = re.search(r"\[(\S+/hylafax-send), -h, \"localhost:4559\",", conn)
    check(m is not None, "the recipe's command: %s" % conn)
    script = os.path.join(gwtest.TOP_SRCDIR, "etc", "recipes", "hylafax-send")
    conn = conn.replace(m.group(1), script).replace("localhost:4559",
                                                   "127.0.0.1:%d" % hfx.port)
    for key, value in (("timeout", "8"), ("tmpdir", os.path.join(gw.dir, "tmp"))):
        conn, n = re.subn(r"(?m)^(\s+%s:) .*$" % key, r"\1 " + value, conn)
        check(n == 1, "the recipe sets %s" % key)
    conn = conn.replace("    type: pipe\n", "    type: pipe\n    retry: {min_backoff: 2, "
                        "max_backoff: 2}\n")
    with open(gw.config) as f:
        text = f.read()
    text = text.replace("\nconnectors:\n", "\nconnectors:\n" + conn.rstrip("\n") + "\n", 1)
    with open(gw.config, "w") as f:
        f.write(text + "addressing:\n" + addressing)


def send(gw, to_header, rcpt, pdf):
    with gw.smtp() as s:
        s.sendmail("mfp@client.test", [rcpt], fax_message(to_header, rcpt, pdf))


def job_for(hfx, number):
    return [j for j in hfx.jobs() if j.get("number", "").endswith(number)]


def check_cover(gw, hfx, pdf):
    send(gw, '"Jane Doe" <"FAX=+1 (603) 890-1957^COMPANY=Acme Inc"@gw.test>',
         '"FAX=+1 (603) 890-1957^COMPANY=Acme Inc"@gw.test', pdf)
    j = wait_for(lambda: job_for(hfx, "6038901957"), 60, "the HylaFAX job")
    check(len(j) == 1, "one job: %s" % j)
    j = j[0]
    check(j.get("receiver") == "Jane Doe" and j.get("company") == "Acme Inc",
          "receiver and company: %s" % j)
    kinds = [k for k, _ in j["docs"]]
    covers = [d for k, d in j["docs"] if d.endswith(".cover")]
    pdfs = [d for k, d in j["docs"] if k.endswith("pdf")]
    check(len(covers) == 1 and len(pdfs) == 1, "a cover page and the PDF: %s" % j["docs"])
    check(hfx.doc(pdfs[0]) == pdf, "the document is the attached PDF, byte-exact")
    check(b"Jane Doe" in hfx.doc(covers[0]) and b"Acme Inc" in hfx.doc(covers[0]),
          "the cover page names receiver and company")
    st = hfx.faxstat()
    check(re.search(r"^%s\s.*6038901957" % j["jobid"], st, re.M), "faxstat -s lists it: %s" % st)
    check(j.get("owner") == (run_user() or pwd.getpwuid(os.getuid()).pw_name),
          "submitted by the gateway user: %s" % j.get("owner"))
    return kinds


def check_nocover(gw, hfx, pdf):
    send(gw, "x <16038901958^NOCOVER@gw.test>", "16038901958^NOCOVER@gw.test", pdf)
    j = wait_for(lambda: job_for(hfx, "6038901958"), 60, "the NOCOVER job")
    check(len(j) == 1 and not [d for _, d in j[0]["docs"] if d.endswith(".cover")] and
          len(j[0]["docs"]) == 1, "no cover page: %s" % j[0]["docs"])


def deferred_text(gw):
    out = []
    for p in gw.spool_files("deferred/fax"):
        with open(p, errors="replace") as f:
            out += [l for l in f.read().split("\nend\n")[0].splitlines()
                    if l.startswith("rcpt deferred") or l.startswith("last-error")]
    return "\n".join(out)


def check_down(gw, hfx, pdf):
    hfx.stop_hfaxd()
    send(gw, "y <16038901959@gw.test>", "16038901959@gw.test", pdf)
    wait_for(lambda: "Can not reach" in deferred_text(gw), 60, "deferred: server down")
    check(not job_for(hfx, "6038901959"), "no job while down")
    hfx.start_hfaxd()
    wait_for(lambda: job_for(hfx, "6038901959") and not gw.spool_files("deferred/fax"), 60,
             "delivered when hfaxd is back")
    time.sleep(3)
    check(len(job_for(hfx, "6038901959")) == 1, "delivered once")


def check_slow(gw, hfx, pdf):
    hfx.signal_hfaxd(signal.SIGSTOP)
    try:
        send(gw, "z <16038901960@gw.test>", "16038901960@gw.test", pdf)
        wait_for(lambda: "timed out" in deferred_text(gw), 60, "deferred: slow server")
    finally:
        hfx.signal_hfaxd(signal.SIGCONT)
    wait_for(lambda: job_for(hfx, "6038901960") and not gw.spool_files("deferred/fax"), 60,
             "delivered once the server answers")
    time.sleep(3)
    check(len(job_for(hfx, "6038901960")) == 1, "delivered once: %s" % job_for(hfx, "6038901960"))


def check_refused(gw, hfx, pdf):
    hfx.allow("^nobody-at-all@\n")
    send(gw, "w <16038901961@gw.test>", "16038901961@gw.test", pdf)
    dsn = wait_for(lambda: [d for n, d in gw.delivered().items() if b"16038901961" in d and
                            b"report-type=delivery-status" in d], 60, "the bounce")
    text = dsn[0].decode(errors="replace")
    check(re.search(r"exited with status 69 \(service unavailable\): [^\n]*\b5\d\d ", text) and
          "5.3.0" in text, "bounce with HylaFAX's reply: %s" % text[:3000])
    check(not job_for(hfx, "6038901961"), "no job for the refused fax")
    hfx.allow("127.0.0.1\n")


def test():
    for prog in ("/usr/sbin/hfaxd", "/usr/sbin/faxq", "/usr/bin/sendfax", "/usr/bin/faxstat"):
        if not os.path.exists(prog):
            print("SKIP: %s not installed (hylafax-server, hylafax-client)" % prog)
            raise SystemExit(77)
    if os.geteuid() != 0:
        print("SKIP: hfaxd chroots into its spool and runs as uucp: needs root")
        raise SystemExit(77)
    # sendfax writes its cover page into /tmp whatever TMPDIR says, and the
    # deliverer cannot create files directly in an ancestor of the spool
    # (doc/security.md): the gateway of this test lives under /var/tmp.
    tempfile.tempdir = "/var/tmp"
    gw = Gateway("hylafax")
    tempfile.tempdir = None
    hfx = HylaFax(gw.dir)
    ok = False
    try:
        tmp = os.path.join(gw.dir, "tmp")
        os.mkdir(tmp, 0o700)
        pw = pwd.getpwnam(run_user())
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        gw.write_config([{"name": "dsn", "type": "folder", "settings": {"path": gw.mail}}],
                        [{"name": "senders", "recipient": "*@client.test", "connector": "dsn"}],
                        ["127.0.0.0/8", "::1"], ["gw.test"])
        use_recipe(gw, hfx)
        r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", gw.config], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "gatewayd -n: %s" % r.stderr)
        hfx.start()
        gw.start()
        pdf = make_pdf()
        check_cover(gw, hfx, pdf)
        check_nocover(gw, hfx, pdf)
        check_down(gw, hfx, pdf)
        check_slow(gw, hfx, pdf)
        check_refused(gw, hfx, pdf)
        check(not os.listdir(tmp), "the attachment directories are removed: %s" % os.listdir(tmp))
        ok = True
    finally:
        hfx.stop()
        gw.cleanup(ok)


if __name__ == "__main__":
    main(test)
