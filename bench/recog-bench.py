#!/usr/bin/env python3
"""recog-bench.py - how fast routing sheets are found in scans and cut out.

Builds scans of 1, 10 and 100 pages at 300 dpi with a routing sheet first
(tests/mkscan.py, from a sheet that gatewayctl prints for a directive of a
throw-away gatewayd), as a PDF of JPEG pages (what most MFPs send) and as
a multi-page CCITT G4 TIFF, and times tests/scan_run of the build tree
given as the first argument:

  find        scan_run find with its default page limit (the daemon's case:
              the first pages only), the median of RECOG_RUNS runs
  find-all    scan_run find --pages N: every page searched, pages per second
  cut         scan_run cut FILE 0 N-1 0: the sheet page removed, the other
              pages copied, pages written per second (none for 1 page)

It checks that every run found the sheet on page 0 and prints one line per
scan, plus the load average before and after: the 2-core machines are
shared, so read the numbers as medians under that load.  The target of
issue 13: the sheet of a 10-page 300 dpi scan found in under 0.5 s.

Not measured yet: the added latency per message through the daemon and
whether plain mail is slowed while recognition runs (that needs the
recognizer child end to end).

Environment: RECOG_RUNS [5], RECOG_PAGES [1,10,100], RECOG_FORMATS
[pdf-jpeg,tiff-g4], RECOG_DPI [300], KEEP_TMP [0].
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests")
sys.path.insert(0, TESTS)
import mkscan       # noqa: E402  (re-executes under Debian's python3 for PIL)


def timed(cmd, stdout=subprocess.PIPE):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=600)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        raise SystemExit("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stderr[:400]))
    return dt, r.stdout


def sheet_pdf(build, tmp):
    """A routing sheet of a new directive, and its ID."""
    os.environ.setdefault("GW_TOP_BUILDDIR", build)
    import gwtest
    gw = gwtest.Gateway("recog-bench")
    try:
        gw.start()
        r = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "create",
                            "--title", "Bench", "--rcpt", "email:ap@example.com"],
                           capture_output=True, text=True, timeout=30, check=True)
        did = r.stdout.strip()
        pdf = os.path.join(tmp, "sheet.pdf")
        subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "sheet", did,
                        "-o", pdf], check=True, timeout=30)
    finally:
        gw.cleanup(True)
    return pdf, did


def bench_one(scan_run, path, npages, did, runs):
    """Medians of find, find --pages N and cut for one scan."""
    res = {}
    for name, extra in (("find", []), ("find-all", ["--pages", str(npages)])):
        times = []
        for _ in range(runs):
            dt, out = timed([scan_run, "find", path] + extra)
            if "sheet 0 directive %s" % did not in out:
                raise SystemExit("%s: the sheet was not found:\n%s" % (path, out))
            times.append(dt)
        res[name] = statistics.median(times)
        res[name + "-searched"] = int(out.split("searched ")[1].split()[0])
    times = []
    for _ in range(runs if npages > 1 else 0):     # a lone sheet leaves nothing
        with open(os.devnull, "w") as null:
            dt, _ = timed([scan_run, "cut", path, "0", str(npages - 1), "0"], stdout=null)
        times.append(dt)
    res["cut"] = statistics.median(times) if times else float("nan")
    return res


def main():
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    scan_run = os.path.join(build, "tests", "scan_run")
    if not os.access(scan_run, os.X_OK):
        raise SystemExit("%s is not built (make -C tests scan_run)" % scan_run)
    runs = int(os.environ.get("RECOG_RUNS", "5"))
    sizes = [int(x) for x in os.environ.get("RECOG_PAGES", "1,10,100").split(",")]
    formats = os.environ.get("RECOG_FORMATS", "pdf-jpeg,tiff-g4").split(",")
    dpi = int(os.environ.get("RECOG_DPI", "300"))
    tmp = tempfile.mkdtemp(prefix="recog-bench-", dir=os.environ.get("BENCH_TMPDIR", "/var/tmp"))
    try:
        pdf, did = sheet_pdf(build, tmp)
        print("load average before: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        print("%-9s %5s %9s %8s %11s %10s %9s %10s" % (
            "format", "pages", "bytes", "find s", "(searched)", "all pg/s", "cut s", "cut pg/s"))
        for fmt in formats:
            for n in sizes:
                path = os.path.join(tmp, "scan-%d.%s" % (n, "pdf" if fmt.startswith("pdf")
                                                          else "tif"))
                mkscan.make_scan([pdf, n - 1] if n > 1 else [pdf], fmt, path, dpi=dpi,
                                 quality=75)
                r = bench_one(scan_run, path, n, did, runs)
                print("%-9s %5d %9d %8.3f %11d %10.1f %9.3f %10.1f" % (
                    fmt, n, os.path.getsize(path), r["find"], r["find-searched"],
                    n / r["find-all"], r["cut"], (n - 1) / r["cut"]), flush=True)
                os.unlink(path)
        print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        print("runs per median: %d, %d dpi" % (runs, dpi))
    finally:
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
