#!/usr/bin/env python3
"""e2e_smtp_relay - the smtp connector against real receiving servers.

Postfix's smtp-sink, a raw loopback server that keeps the exact bytes of
DATA, and hostile servers.  Cases: failover from a dead first host with
bare-LF content relayed as clean CRLF (dot-stuffed, long lines broken);
STARTTLS required but not offered (deferred with the reason); 4xx then
recovery; queue lifetime expiry (a DSN to the sender); a failure of mail
from the null sender (no bounce, no loop); a reply with control
characters (escaped in the log and the queue file); an EHLO reply with
too many lines.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwtest import (Gateway, check, dot_stuffed, dotted_message, free_port, main,  # noqa: E402
                    ppid_of, is_template, strip_received, wait_for, TestFailure)

HERE = os.path.dirname(os.path.abspath(__file__))
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


class Servers:
    """Receiving servers started by a test, all stopped at the end."""

    def __init__(self):
        self.procs = []
        self.dir = tempfile.mkdtemp(prefix="gw-upstreams-")
        os.chmod(self.dir, 0o777)

    def outdir(self, name):
        d = os.path.join(self.dir, name)
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o777)
        return d

    def sink(self, port, *opts):
        """smtp-sink on 127.0.0.1:port dumping each message into a dir."""
        out = self.outdir("sink%d" % port)
        cmd = [SMTP_SINK, "-d", os.path.join(out, "%H%M%S."), "-h", "sink.test"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        cmd += list(opts) + ["127.0.0.1:%d" % port, "64"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        wait_for(lambda: self._listening(port), 10, "smtp-sink on port %d" % port)
        return out

    def python(self, mode, port, *opts):
        """A server from smtp_server.py (raw, hostile or aiosmtpd)."""
        out = self.outdir("%s%d" % (mode, port))
        p = subprocess.Popen([python_with_aiosmtpd() if mode == "aiosmtpd" else sys.executable,
                              os.path.join(HERE, "smtp_server.py"), mode, str(port), out] +
                             list(opts), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        line = p.stdout.readline()
        check(line.strip() == b"ready", "%s server started" % mode)
        return out

    def stop(self, proc_index=None):
        procs = self.procs if proc_index is None else [self.procs[proc_index]]
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    @staticmethod
    def _listening(port):
        import socket
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False


def python_with_aiosmtpd():
    """An interpreter that can import aiosmtpd (Debian's python3-aiosmtpd)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import aiosmtpd"], capture_output=True).returncode == 0:
            return py
    raise TestFailure("python3-aiosmtpd is not installed")


def files(d, pattern="*"):
    return sorted(f for f in glob.glob(os.path.join(d, pattern)) if not f.endswith(".tmp"))


def relay_gateway(name, hosts, retry=None, settings=None, extra="", smtp=None,
                  concurrency=None, max_idle=None, initial_concurrency=None):
    s = {"hosts": "[%s]" % ", ".join(hosts), "helo": "gw.test",
         "host_skip": "1s", "timeouts": "{connect: 3s, greeting: 5s, command: 5s, data: 10s}"}
    s.update(settings or {})
    conn = {"name": "relay", "type": "smtp", "settings": s,
            "retry": retry or {"min_backoff": "1s", "max_backoff": "2s"}}
    if concurrency:
        conn["concurrency"] = concurrency
    if max_idle:
        conn["max_idle"] = max_idle
    if initial_concurrency:
        conn["initial_concurrency"] = initial_concurrency
    return Gateway(name, connectors=[conn], extra=extra, smtp=smtp)


def send(gw, frm, to, data):
    with gw.smtp() as s:
        s.sendmail(frm, to, data)


def send_bdat(gw, frm, to, data):
    """Send data as is with BDAT (CHUNKING); bare LF and CR pass only with
    smtp.bare_lf: normalize, which stores them as CRLF."""
    with gw.smtp() as s:
        code, _ = s.ehlo()
        check(code == 250 and s.has_extn("chunking"), "the receiver offers CHUNKING")
        check(s.mail(frm)[0] == 250, "MAIL accepted")
        for r in to:
            check(s.rcpt(r)[0] == 250, "RCPT accepted")
        s.send(b"BDAT %d LAST\r\n" % len(data) + data)
        code, msg = s.getreply()
        check(code == 250, "BDAT accepted: %d %r" % (code, msg))


def queue_file(gw, state, connector="relay"):
    fs = gw.spool_files(os.path.join(state, connector))
    return fs[0] if fs else None


def case_failover_clean_output(srv):
    dead, live = free_port(), free_port()
    out = srv.python("raw", live)
    gw = relay_gateway("smtp-failover", ["127.0.0.1:%d" % dead, "127.0.0.1:%d" % live],
                       smtp={"bare_lf": "normalize"}).start()
    ok = False
    try:
        long_line = "x" * 2500
        body = ("From: a@client.test\nTo: b@gw.test\nSubject: bare LF\n\n"
                "line one\n.leading dot\n..two dots\r\nbare CR\rend\n" + long_line + "\nlast")
        send_bdat(gw, "a@client.test", ["b@example.org"], body.encode())
        got = wait_for(lambda: files(out, "*.raw"), 20, "the message at the second host")
        data = open(got[0], "rb").read()
        check(b"\n" not in data.replace(b"\r\n", b""), "no bare LF on the wire")
        check(b"\r" not in data.replace(b"\r\n", b""), "no bare CR on the wire")
        lines = data.split(b"\r\n")
        check(b"..leading dot" in lines and b"...two dots" in lines, "dots stuffed")
        check(b"bare CR" in lines and b"end" in lines, "a bare CR became a line end")
        check(all(len(l) <= 998 for l in lines), "no line over 998 octets")
        check(b"".join(l for l in lines if set(l) == {ord("x")}) == long_line.encode(),
              "the long line was split, its content kept")
        check(data.endswith(b"\r\nlast\r\n.\r\n"), "last line terminated, then the dot")
        # the server stores the message before the worker logs its result
        wait_for(lambda: "status=" in gw.read_log(), 10, "the delivery logged")
        log = gw.read_log()
        check(re.search(r"connect to 127\.0\.0\.1\[127\.0\.0\.1\]:%d" % dead, log),
              "the dead first host is logged")
        check("status=sent" in log and "relayed to 127.0.0.1[127.0.0.1]:%d" % live in log,
              "sent through the second host")
        ok = True
    finally:
        gw.cleanup(ok)


def case_large_exact(srv):
    """Messages arrive byte for byte: one of 300 KB, larger than the
    connector's read chunk and its write buffer many times over, dot-stuffed
    at every chunk boundary, CR and LF kept together, then the final dot;
    and messages with nothing to stuff, of 300 KB, 2 KB and 40 bytes."""
    port = free_port()
    out = srv.python("raw", port)
    gw = relay_gateway("smtp-large", ["127.0.0.1:%d" % port]).start()
    ok = False
    try:
        # dots to stuff, then messages the encoder keeps as they are: large,
        # a little over 2 KB, and small
        line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n"
        head = b"From: a@client.test\r\nSubject: clean\r\n\r\n"
        msgs = [dotted_message(300 * 1024), head + line * 4200,
                head + line * 27 + b"x" * 9 + b"\r\n", head + b"short\r\n"]
        for i, msg in enumerate(msgs):
            send(gw, "a@client.test", ["b%d@example.org" % i], msg)
            got = wait_for(lambda: len(files(out, "*.raw")) > i and files(out, "*.raw"), 20,
                           "message %d at the server" % i)
            data = open(max(got, key=lambda f: int(os.path.basename(f).split(".")[0])), "rb").read()
            check(strip_received(data) == dot_stuffed(msg),
                  "message %d: the %d bytes on the wire are the message, dot-stuffed (got %d)"
                  % (i, len(dot_stuffed(msg)), len(data)))
        ok = True
    finally:
        gw.cleanup(ok)


def case_starttls_required(srv):
    port = free_port()
    out = srv.sink(port)
    gw = relay_gateway("smtp-tlsreq", ["127.0.0.1:%d" % port],
                       settings={"starttls": "required"}).start()
    ok = False
    try:
        send(gw, "a@client.test", ["b@example.org"], b"Subject: t\r\n\r\nbody\r\n")
        qf = wait_for(lambda: queue_file(gw, "deferred"), 20, "the job deferred")
        text = open(qf, "rb").read()
        check(b"does\\x20not\\x20offer\\x20STARTTLS" in text or b"does not offer STARTTLS" in text,
              "the queue file says STARTTLS was not offered: %r" % text)
        check(b"last-error 451 4.7.4" in text, "deferred with 4.7.4")
        check("status=deferred" in gw.read_log() and "STARTTLS" in gw.read_log(),
              "the log gives the reason")
        check(files(out) == [], "nothing was sent in the clear")
        ok = True
    finally:
        gw.cleanup(ok)


def case_tempfail_then_recovery(srv):
    port = free_port()
    srv.sink(port, "-r", "RCPT")
    idx = len(srv.procs) - 1
    gw = relay_gateway("smtp-recover", ["127.0.0.1:%d" % port]).start()
    ok = False
    try:
        send(gw, "a@client.test", ["b@example.org"], b"Subject: later\r\n\r\nbody\r\n")
        qf = wait_for(lambda: queue_file(gw, "deferred"), 20, "the job deferred")
        text = open(qf, "rb").read()
        check(b"rcpt deferred b@example.org 450 4.3.0" in text, "RCPT 4xx recorded: %r" % text)
        check(re.search(rb"next-attempt [1-9]", text), "next attempt recorded")
        srv.stop(idx)
        out = srv.sink(port)  # the upstream comes back, accepting
        # smtp-sink writes its dump file while it receives: wait for the text
        wait_for(lambda: any(b"Subject: later" in open(f, "rb").read() for f in files(out)),
                 30, "the message at the upstream after its recovery")
        # claimed, the job leaves deferred/ before it is tried; it leaves
        # active/ only after its result is logged
        wait_for(lambda: queue_file(gw, "deferred") is None and queue_file(gw, "active") is None,
                 10, "the job gone")
        check("status=sent" in gw.read_log(), "logged as sent")
        ok = True
    finally:
        gw.cleanup(ok)


def case_lifetime_expiry(srv):
    sink_port, dsn_port = free_port(), free_port()
    srv.sink(sink_port, "-r", "RCPT")
    dsn_out = srv.python("raw", dsn_port)
    conns = [{"name": "relay", "type": "smtp",
              "settings": {"hosts": "[127.0.0.1:%d]" % sink_port, "host_skip": "1s"},
              "retry": {"min_backoff": "1s", "max_backoff": "1s", "lifetime": "3s"}},
             {"name": "back", "type": "smtp",
              "settings": {"hosts": "[127.0.0.1:%d]" % dsn_port}}]
    rules = [{"name": "senders", "recipient": "*@client.test", "connector": "back"},
             {"name": "all", "connector": "relay"}]
    gw = Gateway("smtp-lifetime", connectors=conns, rules=rules).start()
    ok = False
    try:
        send(gw, "a@client.test", ["b@example.org"], b"Subject: expires\r\n\r\nbody\r\n")
        got = wait_for(lambda: files(dsn_out, "*.raw"), 30, "the DSN after the lifetime")
        dsn = open(got[0], "rb").read()
        check(b"Action: failed" in dsn and b"Final-Recipient: rfc822; b@example.org" in dsn,
              "a failure DSN for the expired recipient")
        check(b"gave up after lifetime" in dsn, "the DSN says the lifetime ran out")
        check(b"Status: 4.3.0" in dsn or b"Status: 4." in dsn, "the last temporary status")
        wait_for(lambda: not gw.spool_files("deferred/relay") and not gw.spool_files("failed/relay"),
                 10, "the expired job removed")
        ok = True
    finally:
        gw.cleanup(ok)


def case_null_sender(srv):
    port = free_port()
    srv.sink(port, "-f", "RCPT")
    gw = relay_gateway("smtp-nullsender", ["127.0.0.1:%d" % port]).start()
    ok = False
    try:
        send(gw, "", ["b@example.org"], b"Subject: a bounce\r\n\r\nbody\r\n")
        wait_for(lambda: "not bounced" in gw.read_log(), 20, "the dropped failure logged")
        time.sleep(2)
        log = gw.read_log()
        check(log.count("status=failed") == 1, "one failure, no bounce loop:\n" + log)
        check("sender delivery status notification" not in log, "no DSN was made")
        check(not gw.spool_files("incoming") and not gw.spool_files("failed/relay") and
              not gw.spool_files("queue/relay") and not gw.spool_files("deferred/relay"),
              "nothing left in the spool")
        ok = True
    finally:
        gw.cleanup(ok)


def case_hostile(srv):
    port, port2 = free_port(), free_port()
    srv.python("hostile", port)
    srv.python("hostile-ehlo", port2)
    conns = [{"name": "relay", "type": "smtp",
              "settings": {"hosts": "[127.0.0.1:%d]" % port},
              "retry": {"min_backoff": "1h", "max_backoff": "1h"}},
             {"name": "other", "type": "smtp",
              "settings": {"hosts": "[127.0.0.1:%d]" % port2},
              "retry": {"min_backoff": "1h", "max_backoff": "1h"}}]
    rules = [{"name": "o", "recipient": "*@other.test", "connector": "other"},
             {"name": "all", "connector": "relay"}]
    gw = Gateway("smtp-hostile", connectors=conns, rules=rules).start()
    ok = False
    try:
        send(gw, "a@client.test", ["b@example.org"], b"Subject: x\r\n\r\nbody\r\n")
        send(gw, "a@client.test", ["c@other.test"], b"Subject: y\r\n\r\nbody\r\n")
        qf = wait_for(lambda: queue_file(gw, "deferred"), 20, "the job deferred")
        raw = open(qf, "rb").read()
        check(not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", raw), "no raw control byte in the queue file")
        check(b"evil\\x07\\x1b[2J\\x20text\\x7f" in raw or b"evil\\x07\\x1b[2J text\\x7f" in raw,
              "the control characters are escaped in the queue file: %r" % raw)
        check(raw.count(b"\nfrom ") == 1 and raw.count(b"\nrcpt ") == 1, "no forged field")
        log = gw.read_log()
        check("\x1b" not in log and "\x07" not in log, "no raw control byte in the log")
        check("evil\\x07\\x1b[2J text\\x7f" in log, "the log shows the escapes")
        q2 = wait_for(lambda: queue_file(gw, "deferred", "other"), 20, "the second job deferred")
        check(b"too\\x20many\\x20lines" in open(q2, "rb").read() or
              b"too many lines" in open(q2, "rb").read(), "an endless EHLO reply is refused")
        ok = True
    finally:
        gw.cleanup(ok)


def case_host_skip_shared(srv):
    """A dead first host learnt by one delivery process is skipped by all
    of them for host_skip: one connection attempt to it, not one per
    process, while a burst of messages goes through the second host."""
    dead, live = free_port(), free_port()
    out = srv.sink(live)
    gw = relay_gateway("smtp-hostskip", ["127.0.0.1:%d" % dead, "127.0.0.1:%d" % live],
                       settings={"host_skip": "10m"}, concurrency=8).start()
    ok = False
    try:
        send(gw, "a@client.test", ["first@example.org"], b"Subject: first\r\n\r\nx\r\n")
        wait_for(lambda: len(files(out)) >= 1, 20, "the first message at the second host")
        # the burst waits, then goes at once: more than one process takes it
        # (sent while delivering, one fast process could keep up alone)
        gw.ctl("pause", "delivery", "relay")
        queue_waiting(gw, "r", 40)
        gw.ctl("resume", "delivery", "relay")
        wait_for(lambda: len(files(out)) >= 41, 60, "the burst at the second host")
        wait_for(lambda: gw.read_log().count("status=sent") >= 41, 20, "every delivery logged")
        log = gw.read_log()
        procs = set(re.findall(r"gatewayd-worker/relay\[(\d+)\]: \w+: to=<r\d+@example.org>"
                               r", relay=relay\[smtp\], .*status=sent", log))
        tries = log.count("connect to 127.0.0.1[127.0.0.1]:%d:" % dead)
        check(len(procs) >= 2, "the burst was spread over %d delivery processes" % len(procs))
        check(tries == 1, "%d connection attempts to the dead host for %d processes"
              % (tries, len(procs)))
        ok = True
    finally:
        gw.cleanup(ok)


def delivery_children(gw):
    """pids of the worker's delivery children (the deliverers are theirs)"""
    pids = gw.pids()
    workers = [p for p, argv in pids.items() if argv and
               os.path.basename(argv[0]) == "gatewayd-worker" and ppid_of(p) == gw.proc.pid]
    return [p for p in pids if ppid_of(p) in workers and not is_template(p)]


def queue_waiting(gw, prefix, n):
    """With delivery paused: n messages to <prefix><i>@example.org in one
    session, then wait until their n jobs are queued."""
    with gw.smtp() as s:
        for i in range(n):
            s.sendmail("a@client.test", ["%s%d@example.org" % (prefix, i)],
                       b"Subject: %s %d\r\n\r\nx\r\n" % (prefix.encode(), i))
    wait_for(lambda: gw.ctl("queue", "list", json=True).count('"queue_id"') >= n, 30,
             "%d jobs waiting for delivery" % n)


def case_on_demand(srv):
    """Delivery children on demand: one with the worker, more when jobs wait
    (never more than concurrency), and those beyond the first end quietly
    once idle for max_idle; the one left still delivers."""
    port = free_port()
    out = srv.sink(port, "-w", "1")    # a second per message: the jobs wait
    gw = relay_gateway("smtp-ondemand", ["127.0.0.1:%d" % port], concurrency=4,
                       max_idle="2s").start()
    ok = False
    try:
        gw.wait_ready()
        check(len(delivery_children(gw)) == 1, "one delivery child at start: %s"
              % delivery_children(gw))
        gw.ctl("pause", "delivery", "relay")
        with gw.smtp() as s:
            for i in range(20):
                s.sendmail("a@client.test", ["w%d@example.org" % i],
                           b"Subject: wait %d\r\n\r\nx\r\n" % i)
        wait_for(lambda: gw.ctl("queue", "list", json=True).count('"queue_id"') >= 20, 30,
                 "20 jobs waiting for delivery")
        gw.ctl("resume", "delivery", "relay")
        peak = [0]

        def drained():
            peak[0] = max(peak[0], len(delivery_children(gw)))
            return len(files(out)) >= 20
        wait_for(drained, 60, "the 20 waiting messages delivered")
        for _ in range(5):
            peak[0] = max(peak[0], len(delivery_children(gw)))
            time.sleep(0.1)
        check(peak[0] == 4, "children started for the waiting jobs, up to concurrency: %d"
              % peak[0])
        wait_for(lambda: len(delivery_children(gw)) == 1, 30,
                 "the children beyond the first to end after max_idle")
        check("delivery child died" not in gw.read_log(), "ending idle is not a death")
        send(gw, "a@client.test", ["after@example.org"], b"Subject: after\r\n\r\nx\r\n")
        wait_for(lambda: len(files(out)) >= 21, 30, "a message after the others ended")
        ok = True
    finally:
        gw.cleanup(ok)


def case_slow_start(srv):
    """The slow start: 12 jobs waiting for a slow destination start
    initial_concurrency (2) children, then one more after as many answers
    as the window allows (3 after 2, 4 after 5 more, 5 after 9 more): never
    more than 5 children for 12 jobs, where concurrency (8) would be
    reached at once without the window; more than 2, as it grows."""
    port = free_port()
    out = srv.sink(port, "-w", "1")    # a second per message: the jobs wait
    gw = relay_gateway("smtp-slowstart", ["127.0.0.1:%d" % port], concurrency=8,
                       initial_concurrency=2).start()
    ok = False
    try:
        gw.wait_ready()
        gw.ctl("pause", "delivery", "relay")
        queue_waiting(gw, "s", 12)
        gw.ctl("resume", "delivery", "relay")
        peak = [0]

        def drained():
            peak[0] = max(peak[0], len(delivery_children(gw)))
            return len(files(out)) >= 12
        wait_for(drained, 60, "the 12 waiting messages delivered", interval=0.02)
        check(3 <= peak[0] <= 5, "children for 12 jobs from a window of 2: %d" % peak[0])
        ok = True
    finally:
        gw.cleanup(ok)


def case_template(srv):
    """The delivery children are forked from the worker's template: one
    gatewayd-templ child of the worker, the delivery children the worker's
    own (reparented); with the template killed, the worker forks them
    itself and goes on delivering."""
    port = free_port()
    out = srv.sink(port)
    gw = relay_gateway("smtp-template", ["127.0.0.1:%d" % port], concurrency=4).start()
    ok = False
    try:
        gw.wait_ready()
        worker = [p for p, argv in gw.children().items()
                  if argv and os.path.basename(argv[0]) == "gatewayd-worker"][0]
        tpl = [p for p in gw.pids() if ppid_of(p) == worker and is_template(p)]
        check(len(tpl) == 1, "one template child of the worker: %r" % tpl)
        for i in range(5):
            send(gw, "a@client.test", ["t%d@example.org" % i], b"Subject: t\r\n\r\nx\r\n")
        wait_for(lambda: len(files(out)) >= 5, 30, "5 messages delivered")
        kids = delivery_children(gw)
        check(kids and all(ppid_of(k) == worker for k in kids),
              "the delivery children are the worker's: %r" % kids)
        # With delivery paused no child holds a job; the template and every
        # child are killed, so the next jobs need new children and the worker
        # must fork them itself.
        gw.ctl("pause", "delivery", "relay")
        os.kill(tpl[0], signal.SIGKILL)
        for k in kids:
            os.kill(k, signal.SIGKILL)
        wait_for(lambda: not (set(delivery_children(gw)) & set(kids)), 30,
                 "the killed delivery children reaped")
        queue_waiting(gw, "u", 20)
        gw.ctl("resume", "delivery", "relay")
        wait_for(lambda: len(files(out)) >= 25, 60, "the 20 delivered without the template")
        wait_for(lambda: "the worker forks them itself" in gw.read_log(), 10,
                 "the worker's log line for its lost template")
        kids = delivery_children(gw)
        check(kids and all(ppid_of(k) == worker for k in kids),
              "the new delivery children are the worker's: %r" % kids)
        check(not [p for p in gw.pids() if is_template(p)], "no template after its death")
        check(gw.proc.poll() is None, "gatewayd still runs")
        ok = True
    finally:
        gw.cleanup(ok)


def run_cases(*cases):
    """Run each case(srv) with the receiving servers, timing each."""
    if not os.path.exists(SMTP_SINK):
        raise TestFailure("smtp-sink (Debian package postfix) is not installed")
    srv = Servers()
    try:
        for case in cases:
            t0 = time.monotonic()
            case(srv)
            print("ok %s (%.1fs)" % (case.__name__, time.monotonic() - t0))
    finally:
        srv.stop()
        shutil.rmtree(srv.dir, ignore_errors=True)


def test():
    run_cases(case_on_demand, case_slow_start, case_template, case_failover_clean_output, case_large_exact, case_host_skip_shared, case_starttls_required,
              case_tempfail_then_recovery, case_lifetime_expiry,
              case_null_sender, case_hostile)


if __name__ == "__main__":
    main(test)
