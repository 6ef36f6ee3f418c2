#!/usr/bin/env python3
"""queue-bench.py - a large queue against a stopped upstream (issue #19).

Starts gatewayd (from the build tree given as the first argument) with the
smtp connector pointed at a loopback port where nothing listens, with
delivery paused, and fills its queue with QUEUE_MSGS messages:

  INJECT=clone (default): SEED messages go through the real SMTP path
      (smtp-source), then their spool files, written by gatewayd itself,
      are copied under new queue IDs (only the "id" line of the envelope
      changes) as queue/relay/<qid> + data/<qid>.relay, owned like the
      originals, by CLONE_PROCS processes (default 2); then `sync`.  The
      files are byte for byte what gatewayd writes.  About 130 s for
      1,000,000 on the shared test machine.
  INJECT=smtp: all QUEUE_MSGS through smtp-source (slow: the accept rate).

Then, with the upstream still down, it measures every figure of the
target of issue #19 and prints each against it (met / NOT MET):

  * restart: SIGTERM until the master exited; a new start until the
    listener greets with 220 (ready to accept; target < 1 s), and until
    the worker reported ready, i.e. its start-up scan of the queue
    (target < 5 s);
  * three `gatewayctl --json queue list > file` while the worker defers
    the jobs it tries, each checked to list every message (target: the
    median < 5 s);
  * the worker's memory per queued job: the Rss of the worker parent (the
    gatewayd-worker whose parent is the master, from /proc/<pid>/
    smaps_rollup) at ready and after the listings, the larger of the two,
    minus its Rss with an empty queue (measured after the first start),
    divided by QUEUE_MSGS (target < 300 bytes).  Pss is printed too but
    is not the figure: the delivery children share the parent's pages;
  * `gatewayctl queue delete ALL` (target < 60 s), after `pause delivery`
    and active/ empty (a job being delivered is reported busy, not
    deleted), and that afterwards queue/, deferred/, active/, data/ and
    `queue list` are empty; then, not a target, the time until trash/ is
    empty (the deleted files are renamed there and unlinked after the
    answer).  DELETE_TIMEOUT [600] s bounds each.

Environment: QUEUE_MSGS [100000], QUEUE_BYTES [2048], QUEUE_SESSIONS [20],
SEED [20], INJECT [clone], CLONE_PROCS [2], GW_CONCURRENCY [20],
DELETE_TIMEOUT [600], BENCH_TMPDIR [/var/tmp], KEEP_TMP [0].  The spool
(two files per message) is removed at the end unless KEEP_TMP=1.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "run_bench", os.path.join(os.path.dirname(os.path.abspath(__file__)), "run-bench.py"))
rb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rb)


def ctl(g, builddir, *args, timeout=600):
    """gatewayctl with the instance's socket, its output into a file (as
    `gatewayctl ... > file` would: reading 30 MB through a Python pipe
    would time Python); returns (seconds, stdout)."""
    cmd = [os.path.join(builddir, "gatewayd", "gatewayctl"), "-s", g.sock] + list(args)
    with tempfile.TemporaryFile(dir=g.d) as out:
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, timeout=timeout)
        dt = time.monotonic() - t0
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(cmd), r.stderr.decode().strip()))
        out.seek(0)
        return dt, out.read().decode()


def listed(out):
    """Distinct queue IDs in `queue list --json` (JSON Lines, one job each; a
    job moving between states during the scan can be listed twice)."""
    ids = set()
    for line in out.splitlines():
        if line.strip():
            try:
                ids.add(json.loads(line)["queue_id"])
            except ValueError:
                raise RuntimeError("queue list: not a JSON line: %r" % line[:300])
    return len(ids)


def states(spool):
    return {st: sum(len(f) for _, _, f in os.walk(os.path.join(spool, st)))
            for st in ("incoming", "queue", "active", "deferred")}


def clone_part(qfd, dfd, tmpl, uid, gid, base, start, stop):
    """Write clones start..stop-1 (one process's share of clone_queue)."""
    wr, op, cl, ch = os.write, os.open, os.close, os.fchown
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    nt = len(tmpl)
    for i in range(start, stop):
        head, tail, data = tmpl[i % nt]
        qid = "%014xff%04x" % (base + i, i & 0xffff)
        fd = op(qid + ".relay", flags, 0o600, dir_fd=dfd)
        wr(fd, data)
        ch(fd, uid[1], gid[1])
        cl(fd)
        fd = op(qid, flags, 0o600, dir_fd=qfd)
        wr(fd, head + qid.encode() + tail)
        ch(fd, uid[0], gid[0])
        cl(fd)


def clone_queue(g, n):
    """Copy the queued jobs (and their data files) until n are queued: the
    envelope with only its "id" line changed, the data byte for byte, the
    owner and mode of the originals; CLONE_PROCS processes (default 2) each
    write a share, a few system calls per file and little Python between."""
    qdir = os.path.join(g.spool, "queue", "relay")
    ddir = os.path.join(g.spool, "data")
    seeds = sorted(os.listdir(qdir))
    tmpl = []
    for q in seeds:
        job = open(os.path.join(qdir, q), "rb").read()
        data = open(os.path.join(ddir, q + ".relay"), "rb").read()
        key = b"id " + q.encode() + b"\n"
        at = job.index(key) if job.startswith(key) else job.index(b"\n" + key) + 1
        tmpl.append((job[:at + 3], job[at + 3 + len(q):], data))
    sj = os.stat(os.path.join(qdir, seeds[0]))
    sd = os.stat(os.path.join(ddir, seeds[0] + ".relay"))
    uid, gid = (sj.st_uid, sd.st_uid), (sj.st_gid, sd.st_gid)
    base = int(time.time() * 1e6) - n - 1000
    total = n - len(seeds)
    nproc = max(1, int(os.environ.get("CLONE_PROCS", "2")))
    qfd = os.open(qdir, os.O_RDONLY | os.O_DIRECTORY)
    dfd = os.open(ddir, os.O_RDONLY | os.O_DIRECTORY)
    pids = []
    for k in range(nproc):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                clone_part(qfd, dfd, tmpl, uid, gid, base, total * k // nproc,
                           total * (k + 1) // nproc)
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    bad = [p for p in pids if os.waitpid(p, 0)[1] != 0]
    os.close(qfd)
    os.close(dfd)
    if bad:
        raise RuntimeError("clone processes failed: %s" % bad)
    subprocess.run(["sync"], check=True)


def worker_parent(master):
    """The worker parent: the gatewayd-worker whose parent is the master."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == master and comm.startswith("gatewayd-worker"):
            return int(d)
    raise RuntimeError("no gatewayd-worker under the master %d" % master)


def memory(pid):
    """(Rss, Pss) of a process in bytes, from /proc/<pid>/smaps_rollup."""
    got = {}
    for line in open("/proc/%d/smaps_rollup" % pid):
        f = line.split()
        if f[0] in ("Rss:", "Pss:"):
            got[f[0][:-1]] = int(f[1]) * 1024
    return got["Rss"], got["Pss"]


def verdict(value, limit):
    return "met" if value < limit else "NOT MET"


def inject(g, builddir, port, n, size, sess):
    """Fill the queue (delivery paused) as INJECT says; returns seconds."""
    mode = os.environ.get("INJECT", "clone")
    seed = n if mode == "smtp" else min(n, int(os.environ.get("SEED", "20")))
    ctl(g, builddir, "pause", "delivery")
    t0 = time.monotonic()
    subprocess.run([rb.SOURCE, "-s", str(min(sess, seed)), "-m", str(seed), "-l", str(size),
                    "-f", rb.FROM, "-t", rb.TO, "-M", rb.HELO, "127.0.0.1:%d" % port],
                   check=True, stdout=subprocess.DEVNULL, timeout=7200)
    rb.wait_until(lambda: states(g.spool)["queue"] >= seed, 600, "seed jobs queued", 0.2)
    rb.log("%d messages through SMTP in %.1f s" % (seed, time.monotonic() - t0))
    if mode != "smtp":
        clone_queue(g, n)
    dt = time.monotonic() - t0
    rb.log("queue filled (%s): %s in %.1f s" % (mode, states(g.spool), dt))
    return dt


def restart(g, builddir, port):
    """Stop, start; returns (stop_s, start_to_220_s, start_to_worker_ready_s)."""
    t0 = time.monotonic()
    g.stop()
    t_stop = time.monotonic() - t0
    env = dict(os.environ, GATEWAYD_LIBEXECDIR=os.path.join(builddir, "gatewayd"))
    logf = open(os.path.join(g.d, "gatewayd.log"), "ab")
    marker = logf.tell()
    t0 = time.monotonic()
    g.proc = subprocess.Popen([os.path.join(builddir, "gatewayd", "gatewayd"), "-f", "-c",
                               g.config], stdout=logf, stderr=subprocess.STDOUT, env=env,
                              start_new_session=True)
    rb.wait_until(lambda: rb.greets(port), 120, "greeting after restart", 0.005)
    t_greet = time.monotonic() - t0
    rb.wait_until(lambda: b"delivery processes" in
                  open(os.path.join(g.d, "gatewayd.log"), "rb").read()[marker:],
                  300, "worker ready after restart", 0.01)
    return t_stop, t_greet, time.monotonic() - t0


def main():
    builddir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    n = int(os.environ.get("QUEUE_MSGS", "100000"))
    size = int(os.environ.get("QUEUE_BYTES", "2048"))
    sess = int(os.environ.get("QUEUE_SESSIONS", "20"))
    tmp = tempfile.mkdtemp(prefix="gw-qbench-", dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    os.chmod(tmp, 0o755)
    port, dead = rb.free_port(), rb.free_port()
    g = rb.Gatewayd(tmp, port, dead, builddir)
    try:
        g.start()
        time.sleep(1)
        wpid = worker_parent(g.proc.pid)
        rss0, pss0 = memory(wpid)
        rb.log("worker parent %d, empty queue: Rss %d kB, Pss %d kB"
               % (wpid, rss0 // 1024, pss0 // 1024))
        inject(g, builddir, port, n, size, sess)
        t_stop, t_greet, t_ready = restart(g, builddir, port)
        rb.log("restart with %d queued: stop %.3f s, start to 220 greeting %.3f s, "
               "to worker ready %.3f s" % (n, t_stop, t_greet, t_ready))
        wpid = worker_parent(g.proc.pid)
        rss1, pss1 = memory(wpid)
        rb.log("worker parent %d, %d queued, at ready: Rss %d kB, Pss %d kB"
               % (wpid, n, rss1 // 1024, pss1 // 1024))
        lists = []
        for _ in range(3):
            t, out = ctl(g, builddir, "--json", "queue", "list")
            cnt = listed(out)
            lists.append(t)
            rb.log("gatewayctl --json queue list: %.3f s, %d entries, %d bytes; spool %s"
                   % (t, cnt, len(out), states(g.spool)))
            if cnt < n:
                raise RuntimeError("queue list shows %d of %d" % (cnt, n))
        rss2, pss2 = memory(wpid)
        rb.log("worker parent %d after the listings (jobs deferred meanwhile): "
               "Rss %d kB, Pss %d kB" % (wpid, rss2 // 1024, pss2 // 1024))
        # the jobs a delivery child holds would be reported busy, not deleted
        ctl(g, builddir, "pause", "delivery")
        rb.wait_until(lambda: states(g.spool)["active"] == 0, 60, "active/ empty", 0.05)
        limit = float(os.environ.get("DELETE_TIMEOUT", "600"))
        t0 = time.monotonic()
        try:
            t_del, out = ctl(g, builddir, "queue", "delete", "ALL", timeout=limit)
        except subprocess.TimeoutExpired:
            t_del, out = float("inf"), ""
            rb.log("gatewayctl queue delete ALL: not done after %.0f s (DELETE_TIMEOUT); "
                   "spool %s" % (limit, states(g.spool)))
        # the deleted files leave the queue at once (renamed into trash/)
        # and are unlinked after the answer: the time until trash/ is
        # empty is when the disk has its space back
        trash = os.path.join(g.spool, "trash")
        t_sweep = float("inf")
        while time.monotonic() - t0 < limit:
            with os.scandir(trash) as it:
                if next(it, None) is None:
                    t_sweep = time.monotonic() - t0
                    break
            time.sleep(0.5)
        rb.log("trash/ empty (every deleted file unlinked) %.1f s after the delete started"
               % t_sweep)
        ndel = out.count(": deleted (")
        gone = [l.split(":", 1)[0] for l in out.splitlines() if ": deleted (" in l]
        if gone != sorted(gone):
            raise RuntimeError("queue delete ALL: lines not in queue ID order")
        left = states(g.spool)
        left["data"] = len(os.listdir(os.path.join(g.spool, "data")))
        t, out = ctl(g, builddir, "--json", "queue", "list")
        nlist = listed(out)
        rb.log("gatewayctl queue delete ALL: %.3f s, %d deleted; then spool %s, "
               "queue list %d entries" % (t_del, ndel, left, nlist))
        empty = nlist == 0 and not any(left.values())
        mem = max(rss1, rss2) - rss0
        per_job = mem / n
        med = sorted(lists)[1]
        print("queued %d; restart: stop %.3f s, start->220 %.3f s, start->worker ready %.3f s; "
              "queue list --json median %.3f s [%.3f-%.3f]; delete ALL %.3f s (%d deleted, "
              "queue %s afterwards; files unlinked after %.1f s); worker parent Rss %d kB "
              "empty, %d kB at ready, %d kB after the listings: %.0f bytes per job (Pss: %.0f)"
              % (n, t_stop, t_greet, t_ready, med, min(lists), max(lists), t_del, ndel,
                 "empty" if empty else "NOT empty", t_sweep, rss0 // 1024, rss1 // 1024,
                 rss2 // 1024, per_job, (max(pss1, pss2) - pss0) / n))
        print("target (issue #19, 1,000,000 queued; this run %d):" % n)
        for what, value, limit, unit in (
                ("restart to the 220 greeting", t_greet, 1.0, "s"),
                ("worker ready", t_ready, 5.0, "s"),
                ("gatewayctl --json queue list (median)", med, 5.0, "s"),
                ("gatewayctl queue delete ALL", t_del, 60.0, "s"),
                ("worker memory per queued job", per_job, 300, "bytes")):
            print("  %-40s %10.3f %-5s < %g %-5s %s" % (what, value, unit, limit, unit,
                                                      verdict(value, limit)))
        print("  %-40s %s" % ("queue empty after delete ALL",
                              "met" if empty and ndel >= n else "NOT MET"))
        return 0
    finally:
        g.stop()
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
