#!/usr/bin/env python3
"""e2e_limits - per client rates (limits.conn_rate, msg_rate, rcpt_rate)
and the spool's free-space floor (limits.spool_min_free).

Connections over the rate get 421 4.7.0 and the log says why; clients in
relay.allow are exempt by default (exempt_relay) and limited with
exempt_relay: no; MAIL over msg_rate and RCPT over rcpt_rate get
450 4.7.1 while the session goes on; a floor above the free space of the
test's filesystem gives 452 4.3.1 at MAIL, and a floor just below it
refuses a MAIL whose SIZE= would cross it and accepts a small one.
Every loop is bounded.
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwtest import Gateway, check, main, wait_for  # noqa: E402


def greeting(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return s.makefile("rb").readline().decode()
    finally:
        s.close()


class Session:
    """A raw SMTP session: one command, one (last) reply line."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
        check(self.reply().startswith("220"), "greeting")
        self.cmd("EHLO client.test")

    def reply(self):
        for _ in range(100):
            line = self.f.readline().decode()
            if line[3:4] != "-":
                return line.strip()
        raise AssertionError("endless reply")

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def message(self, rcpts):
        r = self.cmd("MAIL FROM:<a@client.test>")
        if not r.startswith("250"):
            return r
        for rc in rcpts:
            r = self.cmd("RCPT TO:<%s>" % rc)
            if not r.startswith("250"):
                self.cmd("RSET")
                return r
        check(self.cmd("DATA").startswith("354"), "DATA")
        return self.cmd("Subject: t\r\n\r\nbody\r\n.")

    def close(self):
        self.cmd("QUIT")
        self.s.close()


def run(name, limits, fn, smtp=None):
    gw = Gateway(name, extra="limits:\n" + "".join("  %s: %s\n" % kv for kv in limits.items()),
                 smtp=smtp)
    ok = False
    try:
        gw.start()
        fn(gw)
        ok = True
    finally:
        gw.cleanup(ok)


def conn_limited(gw):
    got = [greeting(gw.port)[:9] for _ in range(8)]
    refused = [g for g in got if g.startswith("421")]
    check(len(refused) >= 5, "connections over 3/1m refused: %r" % got)
    check(all(g == "421 4.7.0" for g in got[got.index(refused[0]):]),
          "every connection after the first refusal refused: %r" % got)
    check("connection rate limit 3/60s exceeded" in gw.read_log(), "the refusal is logged")


def conn_exempt(gw):
    got = [greeting(gw.port)[:3] for _ in range(8)]
    check(got == ["220"] * 8, "relay.allow clients are exempt: %r" % got)


def msg_rcpt_limited(gw):
    s = Session(gw.port)
    check(s.message(["a@gw.test", "b@gw.test", "c@gw.test"]).startswith("250"), "message 1")
    r = s.message(["d@gw.test", "e@gw.test"])
    check(r.startswith("450 4.7.1"), "the fifth recipient is over 4/1m: %r" % r)
    check(s.message(["f@gw.test"]).startswith("450 4.7.1"), "still over the rcpt rate")
    r = s.cmd("MAIL FROM:<a@client.test>")
    check(r.startswith("450 4.7.1"), "the fourth MAIL is over 3/1m: %r" % r)
    check(s.cmd("NOOP").startswith("250"), "the session goes on")
    s.close()
    log = gw.read_log()
    check("recipient rate limit 4/60s exceeded" in log, "rcpt refusal logged")
    check("message rate limit 3/60s exceeded" in log, "msg refusal logged")
    wait_for(lambda: len(gw.delivered()) == 1, 30, "the one accepted message")


def floor_above(gw):
    s = Session(gw.port)
    r = s.cmd("MAIL FROM:<a@client.test>")
    check(r == "452 4.3.1 Insufficient system storage", "MAIL under the floor: %r" % r)
    s.close()
    check("452 4.3.1 spool free space" in gw.read_log(), "logged")


def floor_size(gw):
    s = Session(gw.port)
    r = s.cmd("MAIL FROM:<a@client.test> SIZE=%d" % (3 << 30))
    check(r.startswith("452 4.3.1"), "a SIZE= that crosses the floor: %r" % r)
    r = s.message(["a@gw.test"])
    check(r.startswith("250"), "a small message above the floor: %r" % r)
    s.close()


def test():
    run("limconn", {"conn_rate": "3/1m", "exempt_relay": "no"}, conn_limited)
    run("limexempt", {"conn_rate": "2/1m"}, conn_exempt)
    run("limmsg", {"msg_rate": "3/1m", "rcpt_rate": "4/1m", "exempt_relay": "no"},
        msg_rcpt_limited)
    probe = Gateway("limprobe")
    st = os.statvfs(probe.dir)
    probe.cleanup(True)
    free = st.f_bavail * st.f_frsize
    run("limfloor", {"spool_min_free": "%d" % (free + (64 << 30))}, floor_above)
    if free > (2 << 30):
        run("limsize", {"spool_min_free": "%d" % (free - (1 << 30))}, floor_size,
            smtp={"max_message_size": "8G"})


main(test)
