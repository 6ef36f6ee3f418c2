#!/usr/bin/env python3
"""scan_matrix - the sheet is found in every scan format and distortion.

Routing sheets (A4 and Letter) and a separator are printed by gatewayctl
for a directive of a throw-away gatewayd; tests/mkscan.py turns them into
scans as scanners write them (every format), distorted as paper is
(rotated 90/180/270, skewed by 5 degrees either way, noise and bilevel,
low-quality JPEG, 150 to 600 dpi, Letter), and batches of several sheets.
For each scan, "scan_run find" must report exactly the expected sheets:
the sheet page with the directive ID, the separator, and nothing on the
content pages.  Skips (77) only while tests/scan_run is not built.
"""
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkscan     # noqa: E402  (re-executes under Debian's python3 for PIL)
import gwtest     # noqa: E402
from gwtest import check     # noqa: E402

SCAN_RUN = os.environ.get("SCAN_RUN", os.path.join(gwtest.TOP_BUILDDIR, "tests", "scan_run"))
SEP = "separator"


def sheets(gw, tmp):
    """{name: pdf} of two routing sheets (A4, Letter), a second directive and a separator."""
    out = {}
    ids = []
    for title in ("Invoices", "Contracts"):
        r = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive", "create",
                            "--title", title, "--rcpt", "email:ap@example.com"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "directive create: %r" % r.stderr)
        ids.append(r.stdout.strip())
    for name, args in (("A", ["sheet", ids[0], "--paper", "a4"]),
                       ("A-letter", ["sheet", ids[0], "--paper", "letter"]),
                       ("B", ["sheet", ids[1]]), (SEP, ["separator"])):
        out[name] = os.path.join(tmp, name + ".pdf")
        r = subprocess.run([gwtest.GATEWAYCTL, "-c", gw.config, "directive"] + args +
                           ["-o", out[name]], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "%s: %r" % (" ".join(args), r.stderr))
    return out, ids


def cases():
    """(label, stack, format, options): stack items are sheet names or page counts."""
    c = []
    for fmt in mkscan.FORMATS:
        stack = ["A"] if fmt in ("jpeg", "png") else ["A", 1]
        c.append((fmt, stack, fmt, {}))
    for rot in (90, 180, 270):
        c.append(("rotate %d" % rot, ["A", 1], "pdf-flate", {"rotate": rot}))
    c.append(("rotate 90 tiff-g4", ["A", 1], "tiff-g4", {"rotate": 90}))
    for skew in (5, -5):
        c.append(("skew %g" % skew, ["A", 1], "pdf-g4", {"skew": skew}))
    c.append(("skew 3 rotate 180 jbig2", ["A"], "pdf-jbig2", {"skew": 3, "rotate": 180}))
    c.append(("noise bilevel", ["A", 1], "tiff-lzw", {"noise": True}))
    c.append(("noise jpeg", ["A", 1], "pdf-jpeg", {"noise": True}))
    c.append(("jpeg quality 20", ["A", 1], "pdf-jpeg", {"quality": 20, "recompress": 25}))
    c.append(("jpeg image quality 20", ["A"], "jpeg", {"quality": 20}))
    for dpi in (200, 300, 600):
        c.append(("%d dpi" % dpi, ["A"], "pdf-g4", {"dpi": dpi}))
    c.append(("300 dpi tiff", ["A"], "tiff-g4", {"dpi": 300}))
    c.append(("letter pdf", ["A-letter", 1], "pdf-jpeg", {"paper": "letter"}))
    c.append(("letter tiff skew", ["A-letter", 1], "tiff-g4", {"paper": "letter", "skew": 4}))
    batch = [1, "A", 1, "B", 1, SEP, 1]
    c.append(("batch pdf", batch, "pdf-g4", {}))
    c.append(("batch tiff", batch, "tiff-g4", {"rotate": 90}))
    c.append(("no sheet", [2], "pdf-jpeg", {}))
    return c


def expected(stack, names):
    """The "sheet ..." lines scan_run must print for stack."""
    lines, page = [], 0
    for item in stack:
        if isinstance(item, int):
            page += item
            continue
        lines.append("sheet %d %s" % (page, SEP if item == SEP else
                                      "directive " + names[item]))
        page += 1
    return lines, page


def one(case, pdfs, names, tmp):
    """Build one scan and compare scan_run's answer; a failure text or None."""
    label, stack, fmt, opts = case
    out = os.path.join(tmp, "%s.%s" % (label.replace(" ", "_"), fmt))
    mkscan.make_scan([pdfs[s] if isinstance(s, str) else s for s in stack], fmt, out, **opts)
    want, npages = expected(stack, names)
    r = subprocess.run([SCAN_RUN, "find", out, "--pages", str(npages)], capture_output=True,
                       text=True, timeout=120)
    got = [l for l in r.stdout.splitlines() if l.startswith("sheet ")]
    if r.returncode != 0 or got != want or "pages %d" % npages not in r.stdout:
        return "%s (%s): exit %d, wanted %r, got:\n%s%s" % (label, fmt, r.returncode, want,
                                                           r.stdout, r.stderr)
    return None


def test():
    if not os.access(SCAN_RUN, os.X_OK):
        print("SKIP scan_matrix.py: %s is not built" % SCAN_RUN)
        sys.exit(77)
    gw = gwtest.Gateway("matrix")
    ok = False
    tmp = tempfile.mkdtemp(prefix="gw-matrix-")
    try:
        gw.start()
        pdfs, ids = sheets(gw, tmp)
        gw.stop()
        names = {"A": ids[0], "A-letter": ids[0], "B": ids[1]}
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=2) as pool:
            fails = [f for f in pool.map(lambda c: one(c, pdfs, names, tmp), cases()) if f]
        print("%d cases in %.1f s" % (len(cases()), time.monotonic() - t0))
        check(not fails, "%d of %d cases:\n%s" % (len(fails), len(cases()), "\n".join(fails)))
        ok = True
    finally:
        if ok:
            subprocess.run(["rm", "-rf", tmp], timeout=60)
        else:
            print("kept %s" % tmp)
        gw.cleanup(ok)


if __name__ == "__main__":
    gwtest.main(test)
