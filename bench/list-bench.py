#!/usr/bin/env python3
"""list-bench.py - `gatewayctl --json queue list` of one large queue by
several builds of gatewayd, interleaved (issue #19's listing target).

  python3 bench/list-bench.py N ROUNDS BUILDDIR...

Fills one spool with N queued jobs the way bench/queue-bench.py does
(INJECT=clone: 20 messages through SMTP, their files copied), then for each
round and each build: restarts gatewayd from that build on the same spool,
pauses delivery (so that nothing but the listing runs), waits a second and
times the listing into a file, with the machine's busy CPU time over it
(/proc/stat: the control child, its helper and gatewayctl; the rest of the
machine idle).  Each listing must show the N jobs.  Prints every run and
the median per build.  The spool is removed at the end.
"""
import importlib.util
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("queue_bench", os.path.join(HERE, "queue-bench.py"))
qb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qb)
rb = qb.rb


def busy():
    """Busy CPU seconds of the whole machine so far (all but idle, iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def main():
    if len(sys.argv) < 4:
        sys.stderr.write("usage: list-bench.py N ROUNDS BUILDDIR...\n")
        return 2
    n, rounds = int(sys.argv[1]), int(sys.argv[2])
    builds = [os.path.abspath(b) for b in sys.argv[3:]]
    tmp = tempfile.mkdtemp(prefix="gw-lbench-", dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    os.chmod(tmp, 0o755)
    port, dead = rb.free_port(), rb.free_port()
    g = rb.Gatewayd(tmp, port, dead, builds[0])
    runs = {b: [] for b in builds}
    try:
        g.start()
        time.sleep(1)
        qb.inject(g, builds[0], port, n, 2048, 20)
        for r in range(rounds):
            for b in builds:
                qb.restart(g, b, port)
                qb.ctl(g, b, "pause", "delivery")
                time.sleep(1)
                c0 = busy()
                wall, out = qb.ctl(g, b, "--json", "queue", "list")
                cpu = busy() - c0
                cnt = qb.listed(out)
                if cnt < n:
                    raise RuntimeError("%s: the listing shows %d of %d" % (b, cnt, n))
                runs[b].append((wall, cpu))
                print("round %d %s: %.3f s, CPU %.2f s, %d jobs, %d bytes"
                      % (r, b, wall, cpu, cnt, len(out)), flush=True)
        for b in builds:
            w = sorted(x[0] for x in runs[b])
            c = sorted(x[1] for x in runs[b])
            print("%s: median %.3f s [%.3f-%.3f], CPU %.2f s (%.2f us a job)"
                  % (b, w[len(w) // 2], w[0], w[-1], c[len(c) // 2], c[len(c) // 2] / n * 1e6))
        return 0
    finally:
        g.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
