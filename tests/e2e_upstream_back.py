#!/usr/bin/env python3
"""e2e_upstream_back - the upstream down for a while, then back.

The smtp connector relays to a loopback port where nothing listens yet.
Messages sent meanwhile are acknowledged, tried, and deferred (connection
refused, the reason in the queue file); nothing is bounced.  Then Postfix's
smtp-sink starts on that port: every message arrives, each exactly once
(counted by Message-ID in the sink's dump files), and the queue empties.

An unreachable destination suspends delivery (like Postfix's dead
destinations): after the first attempts find every address refusing, the
other queued jobs are deferred without a connection attempt, with that
reason, and one job probes the destination per min_backoff.
"""
import json
import os
import re
import signal
import subprocess
import time

import gwtest
from gwtest import check, free_port, main, make_message, settle, wait_for
from e2e_smtp_relay import files, relay_gateway, run_cases

COUNT = 30


def sent_ids(out):
    """Message-IDs in the sink's dump files, one entry per file."""
    ids = []
    for f in files(out):
        m = re.search(rb"^Message-ID: <([^>]+)>", open(f, "rb").read(), re.M | re.I)
        if m:
            ids.append(m.group(1).decode())
    return ids


def send_many(gw, n, tag):
    """n messages in one session; returns their Message-IDs."""
    want = set()
    with gw.smtp() as s:
        for i in range(n):
            s.sendmail("sender@client.test", ["rcpt%d@example.org" % i], make_message(i, tag))
            want.add("%s.%d@client.test" % (tag, i))
    return want


def connects(gw, port):
    """Connection attempts the smtp connector logged for the dead port."""
    return len(re.findall(r"smtp: connect to 127\.0\.0\.1\[127\.0\.0\.1\]:%d: connect: "
                          r"Connection refused" % port, gw.read_log()))


def case_upstream_back(srv):
    port = free_port()
    gw = relay_gateway("upstream-back", ["127.0.0.1:%d" % port],
                       retry={"min_backoff": "1s", "max_backoff": "2s", "lifetime": "1h"})
    gw.start()
    ok = False
    try:
        want = send_many(gw, COUNT, "upback")
        wait_for(lambda: len(gw.spool_files("deferred/relay")) == COUNT, 30,
                 "every job deferred while the upstream is down")
        text = open(gw.spool_files("deferred/relay")[0], "rb").read()
        check(b"last-error 4" in text, "a deferred job keeps a temporary error: %r" % text[:400])
        time.sleep(3)       # down for a while: several retry rounds fail
        check(not gw.spool_files("failed"), "nothing failed while the upstream was down")
        out = srv.sink(port)
        wait_for(lambda: len(files(out)) >= COUNT, 60, "every message at the upstream")
        wait_for(lambda: not gw.spool_files("deferred") and not gw.spool_files("queue") and
                 not gw.spool_files("active"), 20, "the queue empty")
        time.sleep(1)       # a duplicate would arrive now
        ids = sent_ids(out)
        check(len(ids) == COUNT, "%d messages at the upstream, want %d" % (len(ids), COUNT))
        check(set(ids) == want, "every Message-ID arrived once: missing %s"
              % sorted(want - set(ids))[:5])
        check(not gw.spool_files("failed"), "no job failed")
        check(not any(f.endswith("bounce") for f in gw.spool_files("queue")),
              "no delivery status notification")
        ok = True
    finally:
        gw.cleanup(ok)


def deferred_snapshot(gw, port, n):
    """(connection attempts, deferred job files, queue list) at one instant.

    A probe (one job per min_backoff) takes a job from deferred/ to active/
    and back while a test reads them: read again until nothing moved."""
    def take():
        before = connects(gw, port)
        texts = []
        for f in gw.spool_files("deferred/relay"):
            try:
                texts.append(open(f, "rb").read())
            except FileNotFoundError:
                pass    # claimed by a probe since the listing
        listed = [json.loads(line) for line in gw.ctl("--json", "queue", "list").splitlines()
                  if line.strip()]
        return before, texts, listed, connects(gw, port)

    def still(snap):
        before, texts, listed, after = snap
        return (before == after and len(texts) == n and len(listed) == n and
                all(j["queue_name"] == "deferred" for j in listed))
    before, texts, listed, _after = settle(take, still, 20)
    return before, texts, listed


def dead_upstream_gateway(name, port, backoff, max_backoff="4s"):
    """A started gateway relaying to port, where nothing listens yet."""
    return relay_gateway(name, ["127.0.0.1:%d" % port],
                         retry={"min_backoff": backoff, "max_backoff": max_backoff,
                                "lifetime": "1h"}).start()


def queue_paused(gw, n, tag, timeout):
    """n messages queued with delivery paused (then still paused); their
    Message-IDs."""
    gw.ctl("pause", "delivery")
    want = send_many(gw, n, tag)
    wait_for(lambda: len(gw.spool_files("queue/relay")) == n, timeout, "every job queued")
    return want


def dontfork_ranges(pid):
    """Address ranges of pid's mappings a fork does not copy (VmFlags dc)."""
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            w = line.split()
            if "-" in w[0] and not w[0].endswith(":"):
                cur = w[0]
            elif w[0] == "VmFlags:" and "dc" in w[1:]:
                out.append(cur)
    return out


def check_job_index_not_inherited(gw):
    """The worker's deferred heap is in a mapping its delivery children do not
    get (MADV_DONTFORK): they never copy the pages the parent writes."""
    tree = gw.pids()
    worker = [p for p, argv in gw.children().items() if argv and "gatewayd-worker" in argv[0]]
    check(len(worker) == 1, "one worker: %r" % worker)
    kids = [p for p in tree if gwtest.ppid_of(p) == worker[0] and not gwtest.is_template(p)]
    index = dontfork_ranges(worker[0])
    check(index, "the worker parent keeps its job index in a mapping not copied on fork")
    check(kids, "the worker has delivery children")
    for k in kids:
        with open("/proc/%d/maps" % k) as f:
            theirs = {line.split()[0] for line in f}
        check(not theirs & set(index), "delivery child %d does not map the job index" % k)


def case_unreachable_suspends(srv):
    port = free_port()
    n = 40
    gw = dead_upstream_gateway("unreachable", port, "2s")
    ok = False
    try:
        want = queue_paused(gw, n, "unreach", 30)
        gw.ctl("resume", "delivery")
        wait_for(lambda: len(gw.spool_files("deferred/relay")) == n, 30,
                 "every job deferred while the destination is unreachable")
        log = gw.read_log()
        check("destination unreachable (451 4.4.1 connect to" in log and
              "delivery suspended" in log, "the suspension is logged")
        check_job_index_not_inherited(gw)
        tries, texts, listed = deferred_snapshot(gw, port, n)
        check(1 <= tries < n // 2, "%d connection attempts for %d jobs: the others were "
              "deferred without one" % (tries, n))
        skipped = [t for t in texts if b"delivery temporarily suspended: connect to" in t]
        check(len(skipped) >= n - tries, "%d of %d jobs carry the suspension as their reason"
              % (len(skipped), n))
        check(all(re.search(rb"\nattempts 1\n", t) for t in skipped), "a skipped job counts an attempt")
        r = subprocess.run([gwtest.GATEWAYCTL, "-s", gw.sock, "status"],
                           capture_output=True, text=True, timeout=30)
        check("delivery suspended since" in r.stdout and "4.4.1 connect to" in r.stdout,
              "status shows the suspension")
        check(r.returncode == 75 and "connector relay: delivery suspended" in r.stderr,
              "status exits 75 while suspended: %d %s" % (r.returncode, r.stderr))
        conn = json.loads(gw.ctl("--json", "status", check_rc=False))["connectors"][0]
        check(conn["delivery_suspended"] and "4.4.1" in conn["delivery_suspended"]["reason"],
              "status --json shows the suspension: %r" % conn)
        check('gatewayd_delivery_suspended{connector="relay"} 1' in
              gw.ctl("--prometheus", "stats"), "the Prometheus gauge")
        check(len(listed) == n and all(j["queue_name"] == "deferred" and
                                       "4.4.1" in j["last_error"] for j in listed),
              "queue list shows every job deferred with its reason")
        # queue retry ends the suspension: the jobs are really tried again
        gw.ctl("queue", "retry", "ALL")
        wait_for(lambda: "delivery resumed: gatewayctl queue retry" in gw.read_log(), 10,
                 "queue retry ends the suspension")
        wait_for(lambda: connects(gw, port) > tries, 10, "a job tried at once after queue retry")
        wait_for(lambda: len(gw.spool_files("deferred/relay")) == n, 30,
                 "every job deferred again")
        out = srv.sink(port)
        wait_for(lambda: len(files(out)) >= n, 60, "every message at the upstream once it is back")
        wait_for(lambda: not gw.spool_files("deferred") and not gw.spool_files("queue") and
                 not gw.spool_files("active"), 20, "the queue empty")
        time.sleep(1)
        ids = sent_ids(out)
        check(len(ids) == n and set(ids) == want, "every Message-ID arrived once (%d)" % len(ids))
        check("delivery resumed: the destination answered" in gw.read_log(),
              "the end of the suspension is logged")
        conn = json.loads(gw.ctl("--json", "status"))["connectors"][0]
        check(conn["delivery_suspended"] is None and "suspended" not in gw.ctl("status"),
              "status: no longer suspended: %r" % conn)
        ok = True
    finally:
        gw.cleanup(ok)


def case_back_after_suspension(srv):
    """Jobs the suspension deferred without an attempt go out as soon as a
    probe finds the destination back, not at the backoff their skipped
    attempts grew to."""
    port = free_port()
    n = 20
    gw = dead_upstream_gateway("back-after", port, "1s", "1h")
    ok = False
    try:
        want = queue_paused(gw, n, "backafter", 30)
        gw.ctl("resume", "delivery")
        wait_for(lambda: len(gw.spool_files("deferred/relay")) == n, 30, "every job deferred")
        time.sleep(9)       # rounds of 1, 2, 4, 8 s: the backoff grows
        jobs = [json.loads(l) for l in gw.ctl("--json", "queue", "list").splitlines() if l.strip()]
        late = max(j["next_attempt"] for j in jobs) - time.time()
        check(late > 5, "some job was deferred far ahead (%.0f s)" % late)
        out = srv.sink(port)
        t0 = time.monotonic()
        wait_for(lambda: len(files(out)) >= n, 60, "every message at the upstream")
        took = time.monotonic() - t0
        check(took < min(5, late), "all delivered %.1f s after the upstream came back "
              "(the latest next attempt was %.0f s ahead)" % (took, late))
        check(re.search(r"delivery resumed: the destination answered; \d+ jobs deferred "
                        r"meanwhile are ready again", gw.read_log()), "the release is logged")
        wait_for(lambda: not gw.spool_files("deferred") and not gw.spool_files("queue") and
                 not gw.spool_files("active"), 20, "the queue empty")
        time.sleep(1)
        ids = sent_ids(out)
        check(len(ids) == n and set(ids) == want, "every Message-ID arrived once")
        ok = True
    finally:
        gw.cleanup(ok)


def case_suspended_crash(srv):
    """kill -9 of the worker while it defers the queue of the unreachable
    destination in group-committed batches: after its restart every job
    exists once, nothing is quarantined, and each message arrives once
    when the upstream is back."""
    port = free_port()
    n = 1500
    gw = dead_upstream_gateway("suspend-crash", port, "1s")
    ok = False
    try:
        want = queue_paused(gw, n, "scrash", 120)

        def worker():
            pids = [p for p, argv in gw.children().items() if argv and "gatewayd-worker" in argv[0]]
            return pids[0] if len(pids) == 1 else None
        old = worker()
        check(old is not None, "one worker")
        gw.ctl("resume", "delivery")
        wait_for(lambda: "delivery suspended" in gw.read_log(), 20, "the suspension", 0.01)
        # past the first batch of 256, in the middle of the others
        wait_for(lambda: len(gw.spool_files("deferred/relay")) >= 300, 20,
                 "the first batches deferred", 0.005)
        os.kill(old, signal.SIGKILL)
        at_kill = len(gw.spool_files("deferred/relay"))
        print("worker killed with %d of %d jobs deferred" % (at_kill, n))
        check(at_kill < n, "the kill came while the worker deferred (%d of %d deferred)"
              % (at_kill, n))
        wait_for(lambda: worker() not in (None, old), 30, "the worker restarted")
        # The restarted worker takes up every job (queue/ empties); it then
        # defers the 1500 jobs again as they come due (every 1 to 4 s), so
        # some are always on their way through active/ and tmp/: count
        # them only once it holds still.
        wait_for(lambda: not gw.spool_files("queue/relay"), 120,
                 "every queued job taken up after the restart")
        # hold still to count; the worker applies the pause when the
        # master's word reaches it
        mark = len(gw.read_log())
        gw.ctl("pause", "delivery")
        wait_for(lambda: "delivery paused by the operator" in gw.read_log()[mark:], 20,
                 "the worker to apply the pause")
        wait_for(lambda: not gw.spool_files("active") and not gw.spool_files("tmp"), 30,
                 "no job in active/, no file in tmp/")
        deferred = len(gw.spool_files("deferred/relay"))
        check(deferred == n, "every job deferred after the restart (%d of %d)" % (deferred, n))
        names = [os.path.basename(f) for st in ("queue", "active", "deferred", "hold", "failed")
                 for f in gw.spool_files(st + "/relay")]
        check(len(names) == n and len(set(names)) == n, "each job exactly once: %d files, %d "
              "distinct" % (len(names), len(set(names))))
        check(not gw.spool_files("corrupt"), "nothing quarantined")
        check("queue is consistent" in gw.ctl("queue", "check"), "queue check")
        gw.ctl("resume", "delivery")
        out = srv.sink(port)
        gw.ctl("queue", "retry", "ALL")
        wait_for(lambda: len(files(out)) >= n, 180, "every message at the upstream")
        wait_for(lambda: not gw.spool_files("deferred") and not gw.spool_files("queue") and
                 not gw.spool_files("active"), 30, "the queue empty")
        time.sleep(1)
        ids = sent_ids(out)
        check(len(ids) == n and set(ids) == want, "every Message-ID arrived once (%d, %d "
              "distinct)" % (len(ids), len(set(ids))))
        ok = True
    finally:
        gw.cleanup(ok)


def test():
    run_cases(case_upstream_back, case_unreachable_suspends, case_back_after_suspension,
              case_suspended_crash)


if __name__ == "__main__":
    main(test)
