#!/usr/bin/env python3
"""Lifecycle: gatewayd -n, SIGHUP with a broken and a good file, restart of a
killed child with a log line, gatewayctl status / queue list, control
socket refusing a non-admin user, SIGTERM finishing an open transaction."""
import json
import os
import re
import signal
import socket
import subprocess
import time

from gwtest import GATEWAYCTL, GATEWAYD, Gateway, check, main, settle, wait_for


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, **kw)


def check_config(gw):
    r = sh([GATEWAYD, "-n", "-c", gw.config])
    check(r.returncode == 0, "gatewayd -n on a good file exits 0: %s" % r.stderr)
    bad = os.path.join(gw.dir, "bad.yaml")
    with open(gw.config) as f:
        text = f.read()
    with open(bad, "w") as f:
        f.write(text.replace("  hostname: gw.test", "  hostname: gw.test\n  hostnmae: typo"))
    r = sh([GATEWAYD, "-n", "-c", bad])
    check(r.returncode == 1, "gatewayd -n on a bad file exits 1")
    line = text.split("\n").index("  hostname: gw.test") + 2
    check(re.search(r"bad\.yaml:%d:3: .*hostnmae" % line, r.stderr),
          "error names file:line:column and the key: %r" % r.stderr)


def child_pid(gw, role):
    for pid, argv in gw.children().items():
        if argv and argv[0].endswith("gatewayd-" + role):
            return pid
    return None


def test():
    gw = Gateway("life")
    ok = False
    try:
        check_config(gw)
        gw.start()

        # A killed child is restarted, with a log line saying how it died.
        router = child_pid(gw, "router")
        check(router, "router running")
        os.kill(router, signal.SIGKILL)
        wait_for(lambda: child_pid(gw, "router") not in (None, router), 20, "router restarted")
        check(re.search(r"router \(pid %d\) killed by signal 9" % router, gw.read_log()),
              "log says how the router died")
        gw.wait_ready()
        st = json.loads(gw.ctl("status", json=True))
        r = [p for p in st["processes"] if p["role"] == "router"][0]
        check(r["restarts"] == 1, "status counts one router restart: %s" % r)
        check(st["listeners"][0]["port"] == gw.port, "status shows the listener")

        # Mail still flows after the restart.
        s = gw.smtp()
        s.sendmail("a@client.test", ["b@gw.test"], b"Subject: after restart\r\n\r\nx\r\n")
        s.quit()
        wait_for(lambda: len(gw.delivered()) == 1, 30, "delivery after the router restart")

        # SIGHUP with a broken file: logged, old config keeps running.
        with open(gw.config) as f:
            good = f.read()
        with open(gw.config, "w") as f:
            f.write(good + "bogus_key: 1\n")
        gw.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload failed" in gw.read_log(), 20, "the reload failure logged")
        check(gw.proc.poll() is None, "still running after a bad reload")
        s = gw.smtp()
        s.sendmail("a@client.test", ["b@gw.test"], b"Subject: after bad reload\r\n\r\nx\r\n")
        s.quit()
        wait_for(lambda: len(gw.delivered()) == 2, 30, "delivery after the bad reload")

        # gatewayctl reload with a good file: accepted, children renewed;
        # what the old receiver counted in its last second is kept.
        with open(gw.config, "w") as f:
            f.write(good)
        time.sleep(1.5)     # the earlier counts are flushed (once a second)

        def received_count():
            return json.loads(gw.ctl("--json", "stats"))["counters"].get("received", 0)
        # two messages so far: a receiver held up under load flushes late
        received = settle(received_count, lambda n: n >= 2, 20)
        old_receiver = child_pid(gw, "receiver")
        s = gw.smtp()
        s.sendmail("a@client.test", ["b@gw.test"], b"Subject: before reload\r\n\r\nx\r\n")
        s.quit()
        out = gw.ctl("reload")
        check("reloaded" in out, "gatewayctl reload reports success: %r" % out)
        wait_for(lambda: child_pid(gw, "receiver") not in (None, old_receiver), 20,
                 "a new receiver after the reload")
        gw.wait_ready()
        wait_for(lambda: len(gw.delivered()) == 3, 30, "delivery of the message before the reload")
        time.sleep(1.5)     # past any counter flush interval
        now = settle(received_count, lambda n: n >= received + 1, 20)
        check(now == received + 1, "the receiver's last count survives the reload: %d -> %d"
              % (received, now))

        # queue list works (empty queue) in both formats.
        out = gw.ctl("queue", "list")
        check(out.startswith("QUEUE-ID"), "table header: %r" % out[:80])
        check(gw.ctl("queue", "list", json=True).strip() == "", "empty JSON listing")

        # A user who is neither root nor in admin_group is refused.
        if os.geteuid() == 0:
            r = sh(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                    GATEWAYCTL, "-s", gw.sock, "status"])
            check(r.returncode == 77 and "permission denied" in r.stderr,
                  "non-admin refused with exit 77: %d %r" % (r.returncode, r.stderr))

        # SIGTERM during an open transaction: it completes, then exit 0.
        s = gw.smtp()
        s.ehlo("client.test")
        s.mail("a@client.test")
        s.rcpt("b@gw.test")
        code, _ = s.docmd("DATA")
        check(code == 354, "DATA started")
        s.send(b"Subject: during shutdown\r\n\r\nfirst half\r\n")
        gw.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        # New connections are no longer accepted once the receiver stopped listening.
        s.send(b"second half\r\n.\r\n")
        code, resp = s.getreply()
        check(code == 250, "the open transaction completed during shutdown: %d %r" % (code, resp))
        try:
            s.quit()
        except Exception:  # noqa: BLE001 - the server may close first
            pass
        rc = gw.proc.wait(timeout=60)
        check(rc == 0, "exit status 0 after SIGTERM, got %s" % rc)
        check(not os.path.exists(gw.sock), "control socket removed")
        # The message accepted during shutdown is in the spool (delivered or queued).
        spooled = gw.spool_files("incoming") + gw.spool_files("queue") + gw.spool_files("deferred")
        check(len(gw.delivered()) == 3 or spooled, "the last message is not lost")
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
