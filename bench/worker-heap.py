#!/usr/bin/env python3
"""worker-heap.py - the heap of each worker process after a load.

    python3 bench/worker-heap.py BUILDDIR [MESSAGES] [SESSIONS] [BYTES]

Starts gatewayd from BUILDDIR relaying to a loopback sink (as run-bench.py
does), sends MESSAGES (default 2000) of BYTES (default 10240) over
SESSIONS (default 20), then prints, for the worker parent
(`gatewayd-worker`), each delivery child (`gatewayd-worker+`) and each
deliverer (`gatewayd-worker++`), the Size, Rss, Pss, Shared_Dirty and
Private_Dirty of its `[heap]` mapping in KiB (/proc/PID/smaps), once
idle and once after the load.  A delivery child is forked from the worker
parent: what its heap has private it copied on a write.
"""
import importlib.util
import os
import shutil
import sys
import tempfile
import time

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("run_bench", os.path.join(_here, "run-bench.py"))
rb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rb)

FIELDS = ("Size", "Rss", "Pss", "Shared_Dirty", "Private_Dirty")


def heap(pid):
    """The [heap] line of smaps of pid, KiB by field."""
    out, cur = {}, None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                w = line.split()
                if "-" in w[0] and not w[0].endswith(":"):
                    cur = w[5] if len(w) > 5 else "[anon]"
                elif cur == "[heap]" and w[0][:-1] in FIELDS:
                    out[w[0][:-1]] = int(w[1])
    except OSError:
        pass
    return out


def show(when, root):
    rows = []
    for p in rb.tree_pids(root):
        lab = rb.proc_label(p)
        if lab.startswith("gatewayd-worker"):
            rows.append((lab, p, heap(p)))
    for lab, p, h in sorted(rows):
        print("%-10s %-18s %7d  %s" % (when, lab, p,
              " ".join("%s=%d" % (k, h.get(k, 0)) for k in FIELDS)))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    builddir = os.path.abspath(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    sessions = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 10240
    rb.TLSLOAD = os.path.join(builddir, "bench", "tlsload")
    d = tempfile.mkdtemp(dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    os.chmod(d, 0o755)
    sink, tgt, root, port = rb.start_pair(rb.Gatewayd, d, builddir)
    try:
        time.sleep(2)
        show("idle", root)
        rb.drive(sink, tgt, d, port, sessions, count, size, "load", 120, sink.count())
        time.sleep(1)
        show("after", root)
    finally:
        tgt.stop()
        sink.stop()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
