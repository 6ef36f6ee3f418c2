#!/usr/bin/env python3
"""queue-bench.py - a large queue against a stopped upstream.

Starts gatewayd (from the build tree given as the first argument) with the
smtp connector pointed at a loopback port where nothing listens, with
delivery paused, and fills its queue with QUEUE_MSGS messages:

  INJECT=clone (default): SEED messages go through the real SMTP path
      (smtp-source), then their spool files, written by gatewayd itself,
      are copied under new queue IDs (only the "id" line of the envelope
      changes) as queue/relay/<qid> + data/<qid>.relay, owned like the
      originals.  Fast, and the files are byte for byte what gatewayd writes.
  INJECT=smtp: all QUEUE_MSGS through smtp-source (slow: the accept rate).

Then, with the upstream still down, it times a restart (SIGTERM until the
master exited; a new start until the listener greets with 220, i.e. ready
to accept, and until the worker reported ready: its start-up scan of the
queue), and three `gatewayctl --json queue list` (checking that each lists
every message) while the worker is deferring the jobs it tries.

Environment: QUEUE_MSGS [100000], QUEUE_BYTES [2048], QUEUE_SESSIONS [20],
SEED [20], INJECT [clone], GW_CONCURRENCY [20], BENCH_TMPDIR [/var/tmp],
KEEP_TMP [0].
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


def ctl(g, builddir, *args):
    """gatewayctl with the instance's socket, its output into a file (as
    `gatewayctl ... > file` would: reading 30 MB through a Python pipe
    would time Python); returns (seconds, stdout)."""
    cmd = [os.path.join(builddir, "gatewayd", "gatewayctl"), "-s", g.sock] + list(args)
    with tempfile.TemporaryFile(dir=g.d) as out:
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, timeout=600)
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


def clone_queue(g, n):
    """Copy the queued jobs (and their data links) until n are queued."""
    qdir = os.path.join(g.spool, "queue", "relay")
    ddir = os.path.join(g.spool, "data")
    seeds = sorted(os.listdir(qdir))
    tmpl = []
    for q in seeds:
        job = open(os.path.join(qdir, q), "rb").read()
        data = open(os.path.join(ddir, q + ".relay"), "rb").read()
        tmpl.append((q.encode(), job, data))
    st = os.stat(os.path.join(qdir, seeds[0]))
    base = int(time.time() * 1e6) - n - 1000
    for i in range(n - len(seeds)):
        old, job, data = tmpl[i % len(tmpl)]
        qid = "%014xff%04x" % (base + i, i & 0xffff)
        for path, text in ((os.path.join(ddir, qid + ".relay"), data),
                           (os.path.join(qdir, qid), job)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, text.replace(b"id " + old + b"\n", b"id " + qid.encode() + b"\n", 1))
            os.fchown(fd, st.st_uid, st.st_gid)
            os.close(fd)
    subprocess.run(["sync"], check=True)


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
        inject(g, builddir, port, n, size, sess)
        t_stop, t_greet, t_ready = restart(g, builddir, port)
        rb.log("restart with %d queued: stop %.3f s, start to 220 greeting %.3f s, "
               "to worker ready %.3f s" % (n, t_stop, t_greet, t_ready))
        lists = []
        for _ in range(3):
            t, out = ctl(g, builddir, "--json", "queue", "list")
            cnt = listed(out)
            lists.append(t)
            rb.log("gatewayctl --json queue list: %.3f s, %d entries, %d bytes; spool %s"
                   % (t, cnt, len(out), states(g.spool)))
            if cnt < n:
                raise RuntimeError("queue list shows %d of %d" % (cnt, n))
        print("queued %d; restart: stop %.3f s, start->220 %.3f s, start->worker ready %.3f s; "
              "queue list --json median %.3f s [%.3f-%.3f]"
              % (n, t_stop, t_greet, t_ready, sorted(lists)[1], min(lists), max(lists)))
        return 0
    finally:
        g.stop()
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
