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
scan, plus the load average before and after and the CPU time of the
runs: the 2-core machines are shared, so read the wall-clock numbers as
medians under that load.  The target of issue 13: the sheet of a 10-page
300 dpi scan found in under 0.5 s.

Then, through a running gatewayd (RECOG_E2E=1, the default), the same
scans as the attachment of a message (a text part and the scan, as an MFP
writes it) sent with smtplib:

  latency     to scan@ (a rule with directive: true: the recognizer finds
              the sheet, the router splits, the folder connector files the
              part) and to plain@ (a plain route to another folder), one
              after the other, RECOG_E2E_RUNS times: the median time from
              the end of DATA (250) to the file in its folder; "added" is
              the difference, the latency recognition adds per message
  plain mail  RECOG_PLAIN messages of 10 KB to plain@, one at a time, alone
              and then while 10-page scans are sent to scan@ in a loop:
              median and 90th percentile of the SMTP transaction (accept)
              and of the delivery (250 to file), and how many scans the
              recognizer finished meanwhile

Environment: RECOG_RUNS [5], RECOG_PAGES [1,10,100], RECOG_FORMATS
[pdf-jpeg,tiff-g4], RECOG_DPI [300], RECOG_E2E [1], RECOG_E2E_RUNS [5],
RECOG_PLAIN [100], KEEP_TMP [0].
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests")
sys.path.insert(0, TESTS)
import mkscan       # noqa: E402  (re-executes under Debian's python3 for PIL)


CPU = [0.0]        # user + system seconds of the scan_run children


def timed(cmd, stdout=subprocess.PIPE):
    t0 = time.monotonic()
    c0 = os.times()
    r = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=600)
    dt = time.monotonic() - t0
    c1 = os.times()
    CPU[0] += (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
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
        cpu0 = CPU[0]
        for _ in range(runs):
            # the daemon's default recognize.dpi (PDF pages looked at again)
            dt, out = timed([scan_run, "find", path, "--dpi", "150"] + extra)
            if "sheet 0 directive %s" % did not in out:
                raise SystemExit("%s: the sheet was not found:\n%s" % (path, out))
            times.append(dt)
        res[name] = statistics.median(times)
        res[name + "-cpu"] = (CPU[0] - cpu0) / max(1, runs)
        res[name + "-searched"] = int(out.split("searched ")[1].split()[0])
    times = []
    for _ in range(runs if npages > 1 else 0):     # a lone sheet leaves nothing
        with open(os.devnull, "w") as null:
            dt, _ = timed([scan_run, "cut", path, "0", str(npages - 1), "0"], stdout=null)
        times.append(dt)
    res["cut"] = statistics.median(times) if times else float("nan")
    return res


# -- through the daemon -------------------------------------------------------

def daemon_start(build, tmp):
    """A gatewayd with scan@ (directive: true) and plain@ routes, and a directive."""
    import gwtest
    gw = gwtest.Gateway("recog-e2e", relay_allow=["192.0.2.0/24"])
    connectors = [
        {"name": "archive", "type": "folder", "settings": {"path": gw.mail + "/scan"}},
        {"name": "plain", "type": "folder", "settings": {"path": gw.mail + "/plain"}},
    ]
    rules = [{"name": "scan", "recipient": "scan@gw.test", "directive": "true"},
             {"name": "plain", "recipient": "plain@gw.test", "connector": "plain"}]
    extra = ("directives: { channels: { folder: archive } }\n"
             "recognize: { memory: 2G, timeout: 120s }\n")
    gw.write_config(connectors, rules, ["192.0.2.0/24"], ["gw.test"], extra,
                    smtp={"max_message_size": "128M"})
    gw.start()
    gwtest.wait_for(lambda: "recognizer" in gw.ctl("status"), 20, "the recognizer")
    r = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "create",
                        "--title", "Bench", "--rcpt", "folder:"],
                       capture_output=True, text=True, timeout=30, check=True)
    did = r.stdout.strip()
    pdf = os.path.join(tmp, "e2e-sheet.pdf")
    subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "sheet", did, "-o", pdf],
                   check=True, timeout=30)
    return gw, pdf


def filed(d):
    """Files a folder connector finished in d (not its dot-files)."""
    n = 0
    for _root, _dirs, files in os.walk(d):
        n += sum(1 for f in files if not f.startswith("."))
    return n


def send_wait(gw, rcpt, msg, folder, timeout=300):
    """Send msg; (seconds of the SMTP transaction, seconds from 250 to the file)."""
    before = filed(folder)
    t0 = time.monotonic()
    s = gw.smtp(timeout=120)
    s.sendmail("mfp@client.test", [rcpt], msg)
    t1 = time.monotonic()
    s.quit()
    deadline = t1 + timeout
    while filed(folder) <= before:
        if time.monotonic() > deadline:
            raise SystemExit("%s: nothing filed in %s after %d s; log:\n%s"
                             % (rcpt, folder, timeout, gw.read_log()[-2000:]))
        time.sleep(0.005)
    return t1 - t0, time.monotonic() - t1


def e2e_latency(gw, msg, runs):
    """Medians of 250-to-file for plain@ and scan@ with the same message."""
    scan, plain = [], []
    for _ in range(runs):
        plain.append(send_wait(gw, "plain@gw.test", msg, gw.mail + "/plain")[1])
        scan.append(send_wait(gw, "scan@gw.test", msg, gw.mail + "/scan")[1])
    return statistics.median(plain), statistics.median(scan)


def plain_series(gw, n):
    """n plain 10 KB messages one at a time: accept and delivery times."""
    import gwtest
    acc, dlv = [], []
    for i in range(n):
        a, d = send_wait(gw, "plain@gw.test", gwtest.make_message(i, "plain", 10240),
                         gw.mail + "/plain", timeout=60)
        acc.append(a)
        dlv.append(d)
    return acc, dlv


def scan_loop(gw, msg, stop, done):
    """Send msg to scan@ again and again (the next when the last is filed)."""
    while not stop.is_set():
        send_wait(gw, "scan@gw.test", msg, gw.mail + "/scan")
        done[0] += 1


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def daemon_bench(build, tmp, formats, sizes, dpi):
    """Latency added by recognition, and plain mail while scans are read."""
    import e2e_recog
    runs = int(os.environ.get("RECOG_E2E_RUNS", "5"))
    nplain = int(os.environ.get("RECOG_PLAIN", "100"))
    gw, pdf = daemon_start(build, tmp)
    ok = False
    try:
        print("\nthrough the daemon (gatewayd, recognize defaults: 10 pages, 150 dpi)")
        print("load average before: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        print("%-9s %5s %10s %9s %9s %9s" % ("format", "pages", "msg bytes", "plain s",
                                            "scan s", "added s"))
        load_msg = None
        for fmt in formats:
            pdfish = fmt.startswith("pdf")
            for n in sizes:
                path = os.path.join(tmp, "e2e-%d.%s" % (n, "pdf" if pdfish else "tif"))
                mkscan.make_scan([pdf, n - 1] if n > 1 else [pdf], fmt, path, dpi=dpi,
                                 quality=75)
                name = os.path.basename(path)
                msg = e2e_recog.mime("scan", [(name, "application/pdf" if pdfish else
                                               "image/tiff", open(path, "rb").read())])
                os.unlink(path)
                plain, scan = e2e_latency(gw, msg, runs)
                print("%-9s %5d %10d %9.3f %9.3f %9.3f" % (fmt, n, len(msg), plain, scan,
                                                         scan - plain), flush=True)
                if n == 10 and load_msg is None:
                    load_msg = msg
        if load_msg is not None:
            alone = plain_series(gw, nplain)
            stop, done = threading.Event(), [0]
            t = threading.Thread(target=scan_loop, args=(gw, load_msg, stop, done))
            t.start()
            try:
                busy = plain_series(gw, nplain)
            finally:
                stop.set()
                t.join(600)
            print("plain 10 KB mail, %d messages one at a time (s): accept median/p90, "
                  "delivery median/p90" % nplain)
            for label, (acc, dlv) in (("alone", alone), ("with scans", busy)):
                print("  %-11s %7.4f %7.4f   %7.4f %7.4f" % (
                    label, statistics.median(acc), pct(acc, 0.9), statistics.median(dlv),
                    pct(dlv, 0.9)))
            print("  10-page %s scans filed meanwhile: %d" % (formats[0], done[0]))
        print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        print("median of %d runs each" % runs)
        ok = True
    finally:
        gw.stop()
        gw.cleanup(ok)


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
        print("%-9s %5s %9s %8s %11s %9s %10s %9s %10s" % (
            "format", "pages", "bytes", "find s", "(searched)", "find cpu", "all pg/s",
            "cut s", "cut pg/s"))
        for fmt in formats:
            for n in sizes:
                path = os.path.join(tmp, "scan-%d.%s" % (n, "pdf" if fmt.startswith("pdf")
                                                          else "tif"))
                mkscan.make_scan([pdf, n - 1] if n > 1 else [pdf], fmt, path, dpi=dpi,
                                 quality=75)
                r = bench_one(scan_run, path, n, did, runs)
                print("%-9s %5d %9d %8.3f %11d %9.3f %10.1f %9.3f %10.1f" % (
                    fmt, n, os.path.getsize(path), r["find"], r["find-searched"],
                    r["find-cpu"], n / r["find-all"], r["cut"], (n - 1) / r["cut"]),
                    flush=True)
                os.unlink(path)
        print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        print("runs per median: %d, %d dpi; find cpu: user+system s per run" % (runs, dpi))
        if os.environ.get("RECOG_E2E", "1") == "1":
            daemon_bench(build, tmp, formats, sizes, dpi)
    finally:
        if os.environ.get("KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
