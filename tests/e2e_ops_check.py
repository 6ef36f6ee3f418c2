#!/usr/bin/env python3
"""Checks that check everything (issue 17, point 4): gatewayd -n and
gatewayctl check run each connector's check() in a worker that is not root
and report file:line:col; a connector built before check() existed is
loaded without calling it; a worker that refuses its settings at start-up
makes gatewayctl status exit 69 and say why; the spool near its free-space
floor makes it exit 75; a healthy gateway's status exits 0.  The webdav and
http connectors' check() (issues 16 and 17): a bad timeout, url, auth_file or
ca_file is named by file:line:col and reason; an auth_file only root may
read passes (its mode is checked, its content is left to the worker)."""
import os
import pwd
import re
import subprocess

from gwtest import (GATEWAYCTL, GATEWAYD, Gateway, check, main, run_user,
                    wait_for)


def sh(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def line_of(path, needle):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n, line.index(needle.split(":")[0]) + 1
    raise AssertionError(needle)


def expect_refused(gw, needle, pattern, what):
    """-n and gatewayctl check both refuse, naming the setting's position."""
    ln, col = line_of(gw.config, needle)
    for prog, cmd, rc in (("gatewayd", [GATEWAYD, "-n", "-c", gw.config], 1),
                          ("gatewayctl", [GATEWAYCTL, "-c", gw.config, "check"], 78)):
        r = sh(cmd)
        check(r.returncode == rc, "%s: %s exits %d, got %d: %s%s" %
              (what, prog, rc, r.returncode, r.stdout, r.stderr))
        m = re.search(r"^%s: %s:(\d+):(\d+): %s" % (prog, re.escape(gw.config), pattern),
                      r.stderr, re.M)
        check(m is not None, "%s: %s names file:line:col: %r" % (what, prog, r.stderr))
        # the value's column: after "key: " on that line
        check(int(m.group(1)) == ln, "%s: line %s, the setting is on line %d" %
              (what, m.group(1), ln))
        check("is valid" not in r.stdout, "%s: %s does not say valid" % (what, prog))
        yield m


def test_check_refuses():
    # folder: a bad mode; smtp: a bad starttls (both parsed by init's code)
    gw = Gateway("opschk", connectors=[
        {"name": "archive", "type": "folder",
         "settings": {"path": "/nonexistent-but-not-created/mail", "mode": "everything"}}])
    try:
        list(expect_refused(gw, "mode: everything", r"folder: mode must be one of",
                            "folder mode"))
        check(not os.path.exists("/nonexistent-but-not-created"),
              "the check created no directory")
        gw.write_config([{"name": "relay", "type": "smtp",
                          "settings": {"hosts": "[127.0.0.1]", "starttls": "sometimes"}}],
                        [{"name": "all", "connector": "relay"}], ["127.0.0.0/8"], ["gw.test"])
        list(expect_refused(gw, "starttls: sometimes", r"smtp: starttls must be",
                            "smtp starttls"))
        # a password file that does not exist: the check says so, without reading it
        gw.write_config([{"name": "relay", "type": "smtp",
                          "settings": {"hosts": "[127.0.0.1]",
                                       "auth": "{username: u, password_file: /nonexistent/pw}"}}],
                        [{"name": "all", "connector": "relay"}], ["127.0.0.0/8"], ["gw.test"])
        r = sh([GATEWAYD, "-n", "-c", gw.config])
        check(r.returncode == 1 and "auth.password_file /nonexistent/pw" in r.stderr,
              "missing password file refused by -n: %s" % r.stderr)
        # the test connector's check says which uid it ran as
        gw.write_config([{"name": "t1", "type": "testconn",
                          "settings": {"check_refuse": "yes"}}],
                        [{"name": "all", "connector": "t1"}], ["127.0.0.0/8"], ["gw.test"])
        for m in expect_refused(gw, "check_refuse: yes",
                                r"testconn: check_refuse is set \(check ran as uid (\d+)\) "
                                r"\(connector t1\)", "testconn"):
            uid = int(m.group(3))
            want = pwd.getpwnam(run_user()).pw_uid if run_user() else os.geteuid()
            check(uid == want, "check ran as uid %d, want %d (never root)" % (uid, want))
        # built before check(): struct_size ends before it, so it is not called
        gw.write_config([{"name": "t1", "type": "testconn_old",
                          "settings": {"check_refuse": "yes"}}],
                        [{"name": "all", "connector": "t1"}], ["127.0.0.0/8"], ["gw.test"])
        r = sh([GATEWAYD, "-n", "-c", gw.config])
        check(r.returncode == 0 and "has no check function" in r.stderr and
              "is valid" in r.stdout, "an old connector's check is not called: %s%s" %
              (r.stdout, r.stderr))
        # and a good configuration passes
        gw.write_config([{"name": "archive", "type": "folder",
                          "settings": {"path": gw.mail}}],
                        [{"name": "all", "connector": "archive"}], ["127.0.0.0/8"], ["gw.test"])
        r = sh([GATEWAYCTL, "-c", gw.config, "check"])
        check(r.returncode == 0 and "is valid" in r.stdout, "good config: %s" % r.stderr)
        # a check worker that cannot be run says so (it used to exit without a word)
        lx = os.path.join(gw.dir, "libexec")
        os.makedirs(lx)
        with open(os.path.join(lx, "gatewayd-worker"), "w") as f:
            f.write("not a program\n")
        os.chmod(lx, 0o755)
        r = subprocess.run([GATEWAYD, "-n", "-c", gw.config], capture_output=True, text=True,
                           timeout=60, env=dict(os.environ, GATEWAYD_LIBEXECDIR=lx))
        check(r.returncode == 1 and re.search(r"^gatewayd: connector archive: cannot run its "
                                              r"check .*gatewayd-worker as \S+: Permission denied",
                                              r.stderr, re.M),
              "an unrunnable check worker is named: %d %r" % (r.returncode, r.stderr))
    finally:
        gw.cleanup(True)


def web_files(gw):
    """auth files and CA files for the web checks, in a directory the
    gateway's user may search"""
    d = os.path.join(gw.dir, "webchk")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    files = {}
    for name, text, mode in (("open.secret", "u:p\n", 0o644),
                             ("root.secret", "u:p\n", 0o600),
                             ("bad.pem", "not a certificate\n", 0o644),
                             ("good.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n"
                              "-----END CERTIFICATE-----\n", 0o644)):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        files[name] = path
    return files


def test_check_web():
    # webdav and http: check() parses as init() does and reads what it may
    gw = Gateway("opsweb")
    ok = False
    try:
        f = web_files(gw)
        cases = [
            ("webdav", {"url": "http://127.0.0.1:9/dav", "timeout": "forever"},
             "timeout: forever", r"webdav: timeout must be a number of seconds"),
            ("http", {"url": "ftp://127.0.0.1/in"}, "url: ftp:",
             r"http: url "),
            ("webdav", {"url": "http://127.0.0.1:9/dav", "auth_file": f["open.secret"]},
             "auth_file: ", r"webdav: auth_file %s: must be owned by root" %
             re.escape(f["open.secret"])),
            ("http", {"url": "http://127.0.0.1:9/in", "auth": "bearer",
                      "auth_file": "/nonexistent/token"},
             "auth_file: ", r"http: auth_file /nonexistent/token: No such file"),
            ("http", {"url": "https://127.0.0.1:9/in", "ca_file": f["bad.pem"]},
             "ca_file: ", r"http: ca_file %s: holds no PEM certificate" %
             re.escape(f["bad.pem"])),
        ]
        for typ, settings, needle, pattern in cases:
            gw.write_config([{"name": "w1", "type": typ, "settings": settings}],
                            [{"name": "all", "connector": "w1"}], ["127.0.0.0/8"],
                            ["gw.test"])
            list(expect_refused(gw, needle, pattern, "%s %s" % (typ, needle)))
        # good ones pass, the root-only secret included (not readable by the check)
        gw.write_config([
            {"name": "dav", "type": "webdav",
             "settings": {"url": "https://127.0.0.1:9/dav", "auth_file": f["root.secret"],
                          "ca_file": f["good.pem"], "timeout": "30s"}},
            {"name": "post", "type": "http",
             "settings": {"url": "http://127.0.0.1:9/in?x=1",
                          "fields": "{subject: title}", "connect_timeout": "5"}}],
            [{"name": "all", "connector": "dav"}], ["127.0.0.0/8"], ["gw.test"])
        for cmd in ([GATEWAYD, "-n", "-c", gw.config],
                    [GATEWAYCTL, "-c", gw.config, "check"]):
            r = sh(cmd)
            check(r.returncode == 0 and "is valid" in r.stdout and
                  "no check function" not in r.stderr,
                  "good web settings pass %s: %d %s%s" % (cmd[0], r.returncode,
                                                         r.stdout, r.stderr))
        ok = True
    finally:
        gw.cleanup(ok)


def test_status_refused_worker():
    # a folder root under a regular file: check() passes, init() cannot make it
    gw = Gateway("opsst")
    ok = False
    try:
        blocker = os.path.join(gw.dir, "afile")
        open(blocker, "w").close()
        gw.write_config([{"name": "archive", "type": "folder",
                          "settings": {"path": blocker + "/mail"}}],
                        [{"name": "all", "connector": "archive"}], ["127.0.0.0/8"], ["gw.test"])
        gw.start(wait_ready=False)

        def disabled():
            r = sh([GATEWAYCTL, "-s", gw.sock, "status"])
            return r if "disabled" in r.stdout else None
        wait_for(disabled, 30, "the refusing worker to show as disabled", interval=0.3)
        r = sh([GATEWAYCTL, "-s", gw.sock, "status"])
        check(r.returncode == 69, "status exits 69 with a disabled worker, got %d: %s" %
              (r.returncode, r.stderr))
        check(re.search(r"worker archive is disabled until the next reload: connector "
                        r"archive \(.*folder\.so\): .*mail", r.stderr) is not None,
              "status says why: %r" % r.stderr)
        r = sh([GATEWAYCTL, "-s", gw.sock, "--json", "status"])
        check(r.returncode == 69, "status --json exits 69 too")
        gw.stop()
        # healthy: exit 0; then the spool near its floor: exit 75
        gw.write_config([{"name": "archive", "type": "folder", "settings": {"path": gw.mail}}],
                        [{"name": "all", "connector": "archive"}], ["127.0.0.0/8"], ["gw.test"])
        gw.start()
        r = sh([GATEWAYCTL, "-s", gw.sock, "status"])
        check(r.returncode == 0 and r.stderr == "", "healthy status exits 0: %d %s" %
              (r.returncode, r.stderr))
        gw.stop()
        gw.write_config([{"name": "archive", "type": "folder", "settings": {"path": gw.mail}}],
                        [{"name": "all", "connector": "archive"}], ["127.0.0.0/8"], ["gw.test"],
                        extra="limits:\n  spool_min_free: 50%")
        gw.start()
        r = sh([GATEWAYCTL, "-s", gw.sock, "status"])
        check(r.returncode == 75 and re.search(r"spool .*: \d+ MB free, near its floor of "
                                               r"\d+ MB", r.stderr) is not None,
              "status exits 75 near the spool floor: %d %r" % (r.returncode, r.stderr))
        ok = True
    finally:
        gw.cleanup(ok)


def test():
    test_check_refuses()
    test_check_web()
    test_status_refused_worker()


if __name__ == "__main__":
    main(test)
