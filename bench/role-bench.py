#!/usr/bin/env python3
"""role-bench.py - where a gatewayd tree spends its time, per process role.

Usage: python3 bench/role-bench.py BUILDDIR [MESSAGES [BYTES [SESSIONS]]]
       (defaults 4000, 10240, 20)

Starts gatewayd from BUILDDIR relaying to a fresh smtp-sink exactly as
run-bench.py does (same configuration, GW_CONCURRENCY and GW_EXTRA_CONFIG
apply), sends a third of the load first so that the delivery pool has
grown, then the measured load, and prints per role of the process tree
(name@depth below the master: receiver@1, router@1, worker@1, delivery
children @2, their deliverers @3) the CPU time, the minor page faults and
the voluntary and involuntary context switches per message, from
/proc/<pid>/stat and /proc/<pid>/status before and after the load.
A process that ended during the load is not counted; one that started
counts from zero.  With STRACE_ONE=1 one delivery child and its deliverer
run under `strace -f` during the load (its trace in the run directory,
kept: the figures are then not a measurement).
No Postfix here: the ratios of doc/performance.md come from run-bench.py.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("rb", os.path.join(HERE, "run-bench.py"))
rb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rb)
HZ = os.sysconf("SC_CLK_TCK")


def snapshot(root):
    """pid -> (role, counters) for root's tree."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    pp = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(pp, []).append(int(d))
    out, todo = {}, [(root, 0)]
    while todo:
        p, depth = todo.pop()
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
            comm = st[st.index("(") + 1:st.rindex(")")]
            f = st.rsplit(")", 1)[1].split()
            c = {"minflt": int(f[7]), "cpu": (int(f[11]) + int(f[12])) / HZ,
                 "sys": int(f[12]) / HZ, "vcs": 0, "ics": 0}
            with open("/proc/%d/status" % p) as s:
                for line in s:
                    if line.startswith("voluntary_ctxt_switches"):
                        c["vcs"] = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        c["ics"] = int(line.split()[1])
        except (OSError, ValueError):
            continue
        out[p] = ("%s@%d" % (comm, depth), c)
        todo.extend((k, depth + 1) for k in kids.get(p, []))
    return out


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    builddir = os.path.abspath(sys.argv[1])
    count, size, sessions = [int(x) for x in (sys.argv[2:] + ["4000", "10240", "20"][len(sys.argv) - 2:])[:3]]
    tmp = tempfile.mkdtemp(prefix="role-bench-")
    os.chmod(tmp, 0o755)
    sink, tgt, root, port = rb.start_pair(rb.Gatewayd, tmp, builddir)
    trace = None
    try:
        rb.warm_up(sink, tgt, tmp, port, size, 300)
        rb.drive(sink, tgt, tmp, port, sessions, max(1, count // 3), size, "grow", 300, sink.count())
        rb.wait_until(lambda: tgt.queue_count() == 0, 60, "queue empty")
        time.sleep(0.5)
        before = snapshot(root)
        if os.environ.get("STRACE_ONE"):
            kid = [p for p, (r, _) in before.items() if r.endswith("@2")][0]
            trace = subprocess.Popen(["strace", "-f", "-qq", "-o", os.path.join(tmp, "one.strace"),
                                      "-p", str(kid)])
            time.sleep(1)
        acc, e2e = rb.drive(sink, tgt, tmp, port, sessions, count, size, "load", 300, sink.count())
        rb.wait_until(lambda: tgt.queue_count() == 0, 60, "queue empty after the load")
        after = snapshot(root)
    finally:
        if trace:
            trace.terminate()
            trace.wait()
        tgt.stop()
        sink.stop()
    roles = {}
    for p, (role, c) in after.items():
        c0 = before.get(p, (role, dict.fromkeys(c, 0)))[1]
        r = roles.setdefault(role, dict.fromkeys(c, 0) | {"n": 0})
        r["n"] += 1
        for k in c:
            r[k] += c[k] - c0[k]
    print("%s: %d messages of %d bytes over %d sessions: e2e %.0f msg/s, accept %.0f msg/s" % (
        builddir, count, size, sessions, count / e2e, count / acc))
    total = dict.fromkeys(("cpu", "sys", "minflt", "vcs", "ics"), 0)
    for role, r in sorted(roles.items()) + [("all", None)]:
        r = r or total | {"n": sum(x["n"] for x in roles.values())}
        print("  %-22s %3d procs  CPU %6.1f us/msg (sys %6.1f)  minflt %5.2f  vcs %5.2f  ics %5.2f" % (
            role, r["n"], r["cpu"] / count * 1e6, r["sys"] / count * 1e6, r["minflt"] / count,
            r["vcs"] / count, r["ics"] / count))
        if role != "all":
            for k in total:
                total[k] += r[k]
    if trace:
        print("strace of one delivery child and its deliverer: %s (kept)" % os.path.join(tmp, "one.strace"))
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
