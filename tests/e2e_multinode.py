#!/usr/bin/env python3
"""More than one node: two gateways behind HAProxy (TCP mode, PROXY v2,
SMTP health checks) share one PostgreSQL directive store.

A private PostgreSQL cluster (pgtest.py), a private HAProxy and two
gatewayd instances with their own spools, all on 127.0.0.1.  A directive
created on node A with gatewayctl routes a message sent to node B; an
unknown ID is refused at RCPT on B.  Then a steady load of messages with
unique Message-IDs goes through HAProxy, node A's whole process group is
killed with SIGKILL in the middle, and the test measures how long HAProxy
takes to mark A down and to hand a new session to B (bounded by
inter * fall + slack), restarts A on its spool and checks that every
message that got a 250 is delivered, each under one queue ID of one node,
exactly once: a job A's connector had written when A was killed, before
the job was removed, is handed to the folder connector again after the
restart, and its delivery journal writes nothing then (counted and
printed from A's "already delivered" log lines).
Last, the store's server is stopped: a directive recipient is deferred
(451 at RCPT on B; on A, which asks nothing at RCPT, the accepted message
waits in incoming/), never refused for good or bounced, and is routed
once the server is back (the router connects again at the next use).
Skips (77) when the PostgreSQL server or HAProxy is not installed.
"""
import os
import re
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time

import gwtest
import pgtest
from gwtest import Gateway, check, free_port, main, wait_for

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
INTER = 1.0        # HAProxy's check interval (s)
FALL = 2           # failed checks before a server is down
N_MSGS = 240       # messages of the load
CLIENTS = 3        # concurrent client threads (some sessions are on A at the kill)
SPACING = 0.1      # seconds between the sessions of one client

if pgtest.pg_bindir() is None or not os.path.exists(HAPROXY):
    print("SKIP e2e_multinode.py: needs postgresql and haproxy installed")
    sys.exit(77)


class HAProxy:
    """A private HAProxy in the foreground, with a stats socket."""

    def __init__(self, workdir, backends):
        self.port = free_port()
        self.dir = workdir
        self.cfg = os.path.join(workdir, "haproxy.cfg")
        self.stats = os.path.join(workdir, "haproxy.stats")
        self.log = os.path.join(workdir, "haproxy.log")
        src = os.path.join(gwtest.TOP_SRCDIR, "etc", "haproxy", "gatewayd.cfg")
        with open(src) as f:
            text = f.read()
        # the recipe, with this test's ports, interval and socket
        text = text.replace("bind 127.0.0.1:25", "bind 127.0.0.1:%d" % self.port)
        text = text.replace("stats socket /run/haproxy/gatewayd.sock",
                            "stats socket %s" % self.stats)
        text = re.sub(r"inter \d+s", "inter %dms" % int(INTER * 1000), text)
        text = re.sub(r"fall \d+", "fall %d" % FALL, text)
        text = re.sub(r"(?m)^\s*server .*\n", "", text)
        text = re.sub(r"(?m)^\s*(user|group|chroot|daemon|log)\b.*\n", "", text)
        text = text.rstrip("\n") + "\n" + "".join(
            "    server %s 127.0.0.1:%d check\n" % (n, p) for n, p in backends)
        with open(self.cfg, "w") as f:
            f.write(text)
        self.proc = None

    def start(self):
        r = subprocess.run([HAPROXY, "-c", "-f", self.cfg], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode == 0, "haproxy -c: %s%s" % (r.stdout, r.stderr))
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", self.cfg], stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: os.path.exists(self.stats), 20, "haproxy's stats socket")

    def status(self):
        """{server: "UP"|"DOWN"|...} from "show stat"."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.stats)
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            return {}
        finally:
            s.close()
        out = {}
        for line in data.decode(errors="replace").splitlines():
            f = line.split(",")
            if len(f) > 17 and f[0] == "gateways" and f[1] not in ("BACKEND", "FRONTEND"):
                out[f[1]] = f[17]
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def node(name, pg, pwfile, hostname, smtp=None):
    """A gateway with a PROXY v2 listener, the shared store, two folders."""
    gw = Gateway(name, listener={"proxy_protocol": "yes",
                                 "proxy_trusted": '["127.0.0.1"]'})
    dirout = os.path.join(gw.dir, "dirout")
    connectors = [{"name": "archive", "type": "folder", "settings": {"path": gw.mail}},
                  {"name": "dirout", "type": "folder", "settings": {"path": dirout}}]
    rules = [{"name": "directives", "recipient": "ed-*@gw.test", "directive": "true"},
             {"name": "all", "connector": "archive"}]
    extra = pg.config(pwfile) + "  channels: { email: dirout }\n"
    gw.write_config(connectors, rules, ["127.0.0.0/8"], ["gw.test"], extra, smtp)
    with open(gw.config) as f:
        text = f.read()
    with open(gw.config, "w") as f:
        f.write(text.replace("  hostname: gw.test", "  hostname: %s" % hostname))
    gw.dirout = dirout
    return gw


def files_in(d):
    """{path: bytes} of the files a folder connector wrote under d."""
    out = {}
    for root, dirs, files in os.walk(d):
        dirs[:] = [x for x in dirs if not x.startswith(".")]   # the journal
        for n in files:
            if not n.startswith("."):
                with open(os.path.join(root, n), "rb") as f:
                    out[os.path.join(root, n)] = f.read()
    return out


def deliveries(*dirs):
    """{Message-ID: [queue ID of each delivered copy]} under dirs."""
    seen = {}
    for d in dirs:
        for data in files_in(d).values():
            m = re.search(rb"(?im)^Message-ID:\s*<([^>]+)>", data)
            q = re.search(rb"with E?SMTP id ([0-9a-f]+)", data)
            if m:
                seen.setdefault(m.group(1).decode(), []).append(
                    q.group(1).decode() if q else "?")
    return seen


def message_ids(*dirs):
    """Every Message-ID delivered under dirs, with its count."""
    return {k: len(v) for k, v in deliveries(*dirs).items()}


def check_once(a, b):
    """Each message was accepted once (one queue ID, one node) and delivered
    exactly once, with no exception: a job of A whose connector had written
    the file when A was killed, before the worker logged it and removed the
    job, comes to the folder connector again after the restart, and its
    delivery journal makes that a no-op ("already delivered" in A's log).
    Returns the Message-IDs of those jobs."""
    for mid, qids in deliveries(a.mail, b.mail).items():
        check(len(qids) == 1, "%s delivered %d times (queue IDs %r)" % (mid, len(qids), qids))
    log = a.read_log()
    again = set(re.findall(r"([0-9a-f]{20}): .*already delivered", log))
    return sorted(mid for mid, qids in deliveries(a.mail).items() if qids[0] in again)


def ctl(gw, *args, rc=0):
    r = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config] + list(args),
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == rc, "gatewayctl %s: %d %s%s" % (" ".join(args), r.returncode,
                                                          r.stdout, r.stderr))
    return r.stdout


def raw_proxy_session(port):
    """An SMTP session straight to a PROXY listener (v1 header from 127.0.0.1)."""
    s = smtplib.SMTP(timeout=30)
    s.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sock.sendall(b"PROXY TCP4 127.0.0.1 127.0.0.1 40000 25\r\n")
    s.file = None
    code, _ = s.getreply()
    check(code == 220, "greeting through PROXY: %d" % code)
    s.ehlo("client.test")
    return s


def schema_race(a, b, n=6):
    """gatewayctl of both nodes at once on the empty database: the schema
    is created once (advisory lock), no run fails."""
    procs = [subprocess.Popen([gwtest.GATEWAYCTL, "-c", (a, b)[k % 2].config,
                               "directive", "list"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(n)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0 and "ID" in out,
              "concurrent first use of the store: %d %s%s" % (p.returncode, out, err))


def directive_on_a_routes_on_b(a, b):
    """Created on A (through its control socket), used by B."""
    dirid = ctl(a, "directive", "create", "--title", "Shared", "--rcpt",
                "email:ap@dest.test", "--rcpt", "email:ar@dest.test").strip()
    check(len(dirid) == 8 and dirid.isalnum(), "directive id %r" % dirid)
    check(dirid in ctl(b, "directive", "list"), "B lists A's directive")
    s = raw_proxy_session(b.port)
    s.mail("mfp@client.test")
    code, resp = s.rcpt("ed-NOSUCH99@gw.test")
    check(code == 550 and b"unknown directive" in resp,
          "unknown directive refused on B: %d %r" % (code, resp))
    s.rset()
    msg = ("From: mfp@client.test\r\nTo: ed-%s@gw.test\r\nSubject: shared\r\n"
           "Message-ID: <shared.1@client.test>\r\n\r\nscan\r\n" % dirid).encode()
    s.sendmail("mfp@client.test", ["ed-%s@gw.test" % dirid], msg)
    s.quit()
    wait_for(lambda: len(files_in(b.dirout)) >= 1, 30, "B's delivery per the directive")
    check(not files_in(a.dirout) and not files_in(b.mail),
          "only B's directive connector got it")
    check(re.search(r"routed to dirout \(2 rcpt\)", b.read_log()),
          "B routed to the directive's two recipients")
    return dirid


class Load:
    """Sessions through HAProxy, one message each, from CLIENTS threads."""

    def __init__(self, port):
        self.port = port
        self.results = []       # (time, message id, code, banner)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True)
                        for k in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def one(self, i):
        mid = "load.%d@client.test" % i
        msg = ("From: load@client.test\r\nTo: load@gw.test\r\nSubject: load %d\r\n"
               "Message-ID: <%s>\r\n\r\nmessage %d\r\n" % (i, mid, i)).encode()
        t = time.monotonic()
        banner, code = "", None
        try:
            s = smtplib.SMTP(local_hostname="client.test", timeout=10)
            code, greeting = s.connect("127.0.0.1", self.port)
            check(code == 220, "greeting %d" % code)
            code = None
            banner = greeting.decode(errors="replace").split()[0]
            s.ehlo("client.test")
            s.mail("load@client.test")
            s.rcpt("load@gw.test")
            code, _ = s.data(msg)
            try:
                s.quit()
            except (smtplib.SMTPException, OSError):
                pass
        except (smtplib.SMTPException, OSError, gwtest.TestFailure) as e:
            code = code or "error: %s" % e
        with self.lock:
            self.results.append((t, mid, code, banner))

    def run(self, k):
        for i in range(k, N_MSGS, CLIENTS):
            self.one(i)
            time.sleep(SPACING)


def test():
    pg = pgtest.Postgres().start()
    work = tempfile.mkdtemp(prefix="gw-multinode-")
    pwfile = pg.password_file(os.path.join(work, "pgpass"))
    # A asks nothing of the router at RCPT: its directive recipients are
    # routed (or deferred) after the 250
    a = node("nodea", pg, pwfile, "node-a.test", smtp={"rcpt_check": "no"})
    b = node("nodeb", pg, pwfile, "node-b.test")
    hap = HAProxy(work, [("a", a.port), ("b", b.port)])
    ok = False
    try:
        schema_race(a, b)
        a.start()
        b.start()
        # libpq is loaded where the store is opened: the router (and the
        # control child), not in the receiver or the worker
        roles = {v[0].rsplit("/", 1)[-1] for v in a.mapping("libpq.so").values()}
        check("gatewayd-router" in roles and not roles & {"gatewayd-receiver", "gatewayd-worker"},
              "libpq mapped by the router only: %r" % roles)
        dirid = directive_on_a_routes_on_b(a, b)

        hap.start()
        wait_for(lambda: hap.status() == {"a": "UP", "b": "UP"}, 30,
                 "both gateways up in HAProxy (%r)" % hap.status())
        load = Load(hap.port)
        load.start()
        wait_for(lambda: len(load.results) >= N_MSGS // 3, 60, "a third of the load")
        t_kill = time.monotonic()
        a.kill_tree()
        on_a_at_kill = set(message_ids(a.mail))
        wait_for(lambda: hap.status().get("a", "").startswith("DOWN"), 30,
                 "HAProxy to mark A down")
        t_down = time.monotonic() - t_kill
        check(load.join(120), "the load finished")
        load.results.sort()

        after = [r for r in load.results if r[0] > t_kill and r[2] == 250]
        check(after, "sessions succeeded after the kill")
        t_first = after[0][0] - t_kill
        bound = INTER * FALL + 2.0
        print("A killed: HAProxy marked it down after %.2f s; first accepted "
              "session after the kill began %.2f s after it (bound %.1f s)"
              % (t_down, t_first, bound))
        check(t_down <= bound, "A marked down in %.2f s > %.1f s" % (t_down, bound))
        check(t_first <= bound, "first new session accepted %.2f s after the kill" % t_first)
        late = [r for r in load.results if r[0] > t_kill + t_down + 0.5]
        check(late and all(r[2] == 250 and r[3] == "node-b.test" for r in late),
              "every session after A was down went to B and got 250: %r"
              % [r for r in late if r[2] != 250 or r[3] != "node-b.test"][:5])
        acked = set(r[1] for r in load.results if r[2] == 250)
        by_a = [r for r in load.results if r[2] == 250 and r[3] == "node-a.test"]
        failed = [r for r in load.results if r[2] != 250]
        print("load: %d messages, %d accepted (%d by A before the kill), %d not"
              % (len(load.results), len(acked), len(by_a), len(failed)))
        check(by_a, "A accepted some of the load before it was killed")
        waiting = set(r[1] for r in by_a) - on_a_at_kill
        print("%d messages A acknowledged were still in its spool at the kill" % len(waiting))

        a.start()       # on its own spool: what it acknowledged is delivered now
        wait_for(lambda: acked <= set(message_ids(a.mail, b.mail)), 90,
                 "every acknowledged message delivered after A restarted")
        seen = message_ids(a.mail, b.mail)
        again = check_once(a, b)
        sent = set(r[1] for r in load.results)
        check(set(seen) <= sent, "only messages of the load were delivered")
        print("delivered: %d distinct Message-IDs, each under one queue ID; %d not "
              "acknowledged; %d handed to the connector again after the restart "
              "(killed between its write and the job's removal), written once: %r"
              % (len(seen), len(set(seen) - acked), len(again), again))

        store_down_defers(pg, a, b, dirid)
        ok = True
    finally:
        hap.stop()
        a.cleanup(ok)
        b.cleanup(ok)
        pg.stop()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept %s (haproxy.cfg, haproxy.log)" % work)


def store_down_defers(pg, a, b, dirid):
    """The store's server stopped: B defers at RCPT (451), A keeps an
    accepted message in incoming/; both go on once the server is back."""
    pg.halt()
    s = raw_proxy_session(b.port)
    s.mail("mfp@client.test")
    code, resp = s.rcpt("ed-%s@gw.test" % dirid)
    check(code == 451 and b"4.3.0" in resp, "store down: deferred at RCPT: %d %r"
          % (code, resp))
    s.quit()
    msg = ("From: mfp@client.test\r\nTo: ed-%s@gw.test\r\nSubject: again\r\n"
           "Message-ID: <shared.%%s@client.test>\r\n\r\nscan\r\n" % dirid)
    in_mail = len(files_in(a.mail))
    s = raw_proxy_session(a.port)
    s.sendmail("mfp@client.test", ["ed-%s@gw.test" % dirid], (msg % "a").encode())
    s.quit()
    wait_for(lambda: re.search(r"to=<ed-%s@gw.test>, status=deferred \(451 4.3.0 "
                               r"directive store: postgresql" % dirid, a.read_log()),
             30, "A's router to defer the message while the store is down")
    check(len(a.spool_files("incoming")) == 1 and not files_in(a.dirout),
          "the message waits in A's incoming/: %r" % a.spool_files("incoming"))
    check(not a.spool_files("failed") and len(files_in(a.mail)) == in_mail,
          "nothing bounced: %r" % a.spool_files("failed"))
    pg.resume()
    wait_for(lambda: len(files_in(a.dirout)) == 1, 40,
             "A's delivery per the directive once the store is back")
    # the router unlinks it from incoming/ after the sync of its jobs, which
    # may come after the delivery (ROUTER_SYNC_MS, doc/internals.md)
    wait_for(lambda: not a.spool_files("incoming"), 10, "incoming/ empty again")
    before = len(files_in(b.dirout))
    s = raw_proxy_session(b.port)
    s.sendmail("mfp@client.test", ["ed-%s@gw.test" % dirid], (msg % "b").encode())
    s.quit()
    wait_for(lambda: len(files_in(b.dirout)) > before, 30,
             "B's delivery per the directive once the store is back")

main(test)
