#!/usr/bin/env python3
"""e2e_recog_nproc - a scan is read while the gateway's user runs many
processes (issue #16).

RLIMIT_NPROC counts every task of a uid, and the recognizer's job child
shares its uid with the router, the workers and their children.  Here 80
sleeping processes run as the gateway's user (more than the default
recognize.processes, 64) before a scan is sent whose routing sheet is a
PNG page in a PDF, so the job child must fork pdftoppm to read it.  The
scan must reach its directive's folder (with the old fixed limit the
fork failed and the scan was held as unreadable).  The sleepers are
killed at the end; every wait is bounded.
"""
import os
import pwd
import signal
import subprocess

import gwtest
from gwtest import check, run_user, wait_for
from e2e_recog import CONVERT, Scans, delivered_pdfs, edit_config, mime, sh

SLEEPERS = 80


def as_user(uid, gid):
    """preexec_fn: become uid (root test runs) before exec"""
    def become():
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
    return become


def uid_tasks(uid):
    """the tasks (threads included) /proc shows for real uid uid"""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/status" % pid) as f:
                st = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if int(st["Uid"].split()[0]) == uid:
            total += int(st.get("Threads", "1"))
    return total


def start_sleepers(uid, gid):
    procs = []
    for _ in range(SLEEPERS):
        procs.append(subprocess.Popen(["sleep", "600"], preexec_fn=as_user(uid, gid),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
    return procs


def stop_sleepers(procs):
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
    for p in procs:
        p.wait(timeout=30)


def test():
    for tool in (CONVERT, "img2pdf", "pdftoppm"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            raise gwtest.TestFailure("%s is needed (README quick start)" % tool)
    user = run_user()
    pw = pwd.getpwnam(user) if user else pwd.getpwuid(os.getuid())
    gw = gwtest.Gateway("recnproc", relay_allow=["192.0.2.0/24"])
    sleepers = []
    ok = False
    try:
        connectors = [
            {"name": "archive", "type": "folder",
             "settings": {"path": gw.mail, "mode": "attachments"}},
            {"name": "park", "type": "folder",
             "settings": {"path": os.path.join(gw.dir, "park")}},
        ]
        rules = [{"name": "scan", "recipient": "scan@gw.test", "directive": "true"}]
        extra = ("directives: { channels: { folder: archive } }\n"
                 "recognize: { max_pages: 10, dpi: 150, timeout: 60s, max_pixels: 50M }\n")
        gw.write_config(connectors, rules, ["192.0.2.0/24"], ["gw.test"], extra)
        edit_config(gw, ('    directive: "true"\n',
                         '    directive: "true"\n    sheet: { missing: hold, unknown: hold, '
                         'unreadable: hold, hold: park }\n'))
        gw.start()
        wait_for(lambda: "recognizer" in gw.ctl("status"), 20, "the recognizer in status")
        d1 = sh(gwtest.GATEWAYCTL, "-c", gw.config, "directive", "create", "--title",
                "Invoices", "--rcpt", "folder:").decode().strip()
        sc = Scans(gw)
        sheet = sc.sheet(d1, "s1")
        sh(CONVERT, sc.p("s1.pgm"), sc.p("s1.png"))   # a Flate page: pdftoppm reads it
        pdf = sc.pdf("scan.pdf", [sc.p("s1.png"), sc.page(1)])
        check(sheet.endswith(".jpg"), "sheet made")

        sleepers = start_sleepers(pw.pw_uid, pw.pw_gid)
        n = uid_tasks(pw.pw_uid)
        check(n > 64 + 10, "the gateway's user runs %d tasks, more than the old "
              "fixed limit (64)" % n)
        s = gw.smtp()
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   mime("busy", [("scan.pdf", "application/pdf", pdf)]))
        s.quit()
        wait_for(lambda: len(delivered_pdfs(gw)) >= 1 or gw.spool_files("hold"), 120,
                 "the scan delivered or held")
        log = gw.read_log()
        check(not gw.spool_files("hold"), "the scan is not held: %s" %
              [line for line in log.splitlines() if "recogni" in line][-5:])
        check("directive %s" % d1 in log and "unreadable" not in log,
              "the sheet was read by its directive")
        check(len(delivered_pdfs(gw)) == 1, "one document delivered")
        check(gw.proc.poll() is None, "daemon alive")
        ok = True
    finally:
        stop_sleepers(sleepers)
        gw.cleanup(ok)


if __name__ == "__main__":
    gwtest.main(test)
