#!/usr/bin/env python3
"""Daemon mode: without -f gatewayd detaches, writes a pid file that a
second instance respects, serves mail, and stops on SIGTERM, removing its
pid file and control socket."""
import os
import signal
import subprocess
import time

from gwtest import GATEWAYD, LIBEXEC, Gateway, check, main, wait_for


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test():
    gw = Gateway("daemon")
    ok = False
    pid = None
    env = dict(os.environ, GATEWAYD_LIBEXECDIR=LIBEXEC)
    try:
        r = subprocess.run([GATEWAYD, "-c", gw.config], env=env, timeout=30,
                           capture_output=True, text=True)
        check(r.returncode == 0, "gatewayd returns 0 after detaching: %r" % r.stderr)
        wait_for(lambda: os.path.exists(gw.pidfile) and open(gw.pidfile).read().strip(),
                 10, "the pid file")
        pid = int(open(gw.pidfile).read())
        check(alive(pid), "the pid in the pid file is alive")
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            check(f.read().split(b"\0")[0].endswith(b"gatewayd"), "it is gatewayd")
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        check(int(fields[3]) == pid, "it leads its own session (setsid)")

        # A second instance refuses to start while the first runs.
        r = subprocess.run([GATEWAYD, "-f", "-c", gw.config], env=env, timeout=30,
                           capture_output=True, text=True)
        check(r.returncode != 0 and ("in use" in r.stderr or "running" in r.stderr),
              "a second instance refuses: %d %r" % (r.returncode, r.stderr))

        def greets():
            try:
                s = gw.smtp(timeout=5)
                s.quit()
                return True
            except OSError:
                return False
        wait_for(greets, 20, "the daemon to accept SMTP")
        wait_for(lambda: "ready" in gw.ctl("status", check_rc=False), 20, "status")
        s = gw.smtp()
        s.sendmail("a@client.test", ["b@gw.test"], b"Subject: daemon\r\n\r\nhello\r\n")
        s.quit()
        wait_for(lambda: len(gw.delivered()) == 1, 30, "delivery by the daemon")

        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not alive(pid), 60, "the daemon to stop")
        check(not os.path.exists(gw.pidfile), "pid file removed")
        check(not os.path.exists(gw.sock), "control socket removed")
        pid = None
        ok = True
    finally:
        if pid and alive(pid):
            os.killpg(pid, signal.SIGKILL)
        gw.cleanup(ok)


main(test)
