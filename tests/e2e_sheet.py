#!/usr/bin/env python3
"""e2e_sheet - routing and separator sheets on A4 and Letter.

gatewayctl directive sheet --paper a4|letter and directive separator
write one-page PDFs of that size (pdfinfo); the QR code decodes
(pdftoppm | zbarimg) to the directive ID or to GATEWAYD-SEPARATOR, is
large (about 144 pt on a side) and lies inside a blank 2 cm margin on
both sizes, and no text runs under it, however long the title; the
texts say how to use them; directives.paper sets the default and a bad
value is refused by the configuration check.
"""
import os
import re
import subprocess
import sys

try:
    from PIL import Image
except ImportError:     # a python3 without Debian's python3-pil first in PATH
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

import gwtest
from gwtest import check

SIZES = {"a4": (595, 842, "A4"), "letter": (612, 792, "letter")}


def ctl(gw, *args, rc=0, **kw):
    cmd = [gwtest.GATEWAYCTL, "-c", gw.config, "directive"] + list(args)
    r = subprocess.run(cmd, capture_output=True, timeout=30, **kw)
    check(r.returncode == rc, "%s: exit %d, wanted %d: %r" % (" ".join(args), r.returncode,
                                                             rc, r.stderr))
    return r


def page_size(pdf):
    out = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, timeout=30).stdout
    check(re.search(r"^Pages:\s+1$", out, re.M), "one page: %s" % out)
    m = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts(?: \((\w+)\))?", out, re.M)
    check(m is not None, "page size in %s" % out)
    return round(float(m.group(1))), round(float(m.group(2))), m.group(3)


def raster(pdf, dpi):
    base = pdf[:-4] + "-%d" % dpi
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", pdf, base],
                   check=True, timeout=60)
    return base + ".pgm"


def qr_payload(pdf):
    z = subprocess.run(["zbarimg", "-q", "--raw", raster(pdf, 150)], capture_output=True,
                       text=True, timeout=60)
    return z.stdout.strip()


def dark_box(img, box):
    """Bounding box of the dark pixels of img inside box, or None."""
    return img.crop(box).point(lambda v: 255 if v < 128 else 0).getbbox()


def check_layout(pdf, paper, separator):
    w, h, name = SIZES[paper]
    check(page_size(pdf) == (w, h, name), "%s page size %r" % (paper, page_size(pdf)))
    img = Image.open(raster(pdf, 72))       # one pixel a point
    check(abs(img.size[0] - w) <= 1 and abs(img.size[1] - h) <= 1, "raster size %r" % (img.size,))
    w, h = img.size
    inner = dark_box(img, (0, 0, w, h))
    check(inner is not None and inner[0] >= 40 and inner[1] >= 40 and
          inner[2] <= w - 40 and inner[3] <= h - 40,
          "%s: everything inside the margin, dark box %r" % (paper, inner))
    if separator:
        return
    # the code's corner, with a band around it where only the code may be
    x0, y0 = w - 56 - 144, 56
    qr = dark_box(img, (x0 - 20, 0, w, y0 + 144 + 20))
    check(qr is not None and abs(qr[0] - 20) <= 3 and abs(qr[1] - y0) <= 3 and
          abs(qr[2] - qr[0] - 144) <= 4 and abs(qr[3] - qr[1] - 144) <= 4,
          "%s: QR code of 144 pt at the top right alone in its band: %r" % (paper, qr))


def test():
    gw = gwtest.Gateway("sheet", extra="directives:\n  paper: letter")
    ok = False
    try:
        gw.start()
        r = ctl(gw, "create", "--title", "Quarterly invoices of the northern region " * 3,
                "--rcpt", "email:ap@example.com", text=True)
        dirid = r.stdout.strip()
        check(len(dirid) >= 4 and dirid.isalnum(), "directive id %r" % dirid)
        for paper in ("a4", "letter"):
            pdf = os.path.join(gw.dir, "sheet-%s.pdf" % paper)
            ctl(gw, "sheet", dirid, "-o", pdf, "--paper", paper)
            check_layout(pdf, paper, False)
            check(qr_payload(pdf) == dirid, "%s sheet QR: %r" % (paper, qr_payload(pdf)))
            txt = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True,
                                 timeout=30).stdout
            check("ED:%s" % dirid in txt and "on top of the document" in txt and
                  "separator sheet between them" in txt, "instructions: %s" % txt)
        # directives.paper: letter is the default
        pdf = os.path.join(gw.dir, "sheet-default.pdf")
        ctl(gw, "sheet", dirid, "-o", pdf)
        check(page_size(pdf)[2] == "letter", "directives.paper: letter")
        for paper in ("a4", "letter"):
            pdf = os.path.join(gw.dir, "sep-%s.pdf" % paper)
            ctl(gw, "separator", "-o", pdf, "--paper", paper)
            check_layout(pdf, paper, True)
            check(qr_payload(pdf) == "GATEWAYD-SEPARATOR", "separator QR %r" % qr_payload(pdf))
            txt = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True,
                                 timeout=30).stdout
            check("Separator sheet: place between documents" in txt, "separator text %r" % txt)
        # on standard output; without a configuration file: A4
        pdf = os.path.join(gw.dir, "sep-stdout.pdf")
        with open(pdf, "wb") as f:
            subprocess.run([gwtest.GATEWAYCTL, "-c", os.path.join(gw.dir, "none.yaml"),
                            "directive", "separator"], stdout=f, timeout=30, check=True)
        check(page_size(pdf)[2] == "A4", "separator on stdout, A4 without a configuration")
        check(qr_payload(pdf) == "GATEWAYD-SEPARATOR", "separator on stdout decodes")
        r = ctl(gw, "separator", "--paper", "b5", "-o", pdf, rc=64, text=True)
        check("expected a4 or letter" in r.stderr, "bad --paper: %r" % r.stderr)
        ctl(gw, "sheet", dirid, rc=64)          # a routing sheet names its file
        bad = os.path.join(gw.dir, "bad.yaml")
        with open(gw.config) as f:
            text = f.read().replace("paper: letter", "paper: legal")
        with open(bad, "w") as f:
            f.write(text)
        r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", bad], capture_output=True, text=True,
                           timeout=30)
        check(r.returncode != 0 and "directives.paper" in r.stdout + r.stderr,
              "gatewayd -n refuses directives.paper: legal: %r" % (r.stdout + r.stderr))
        ok = True
    finally:
        gw.cleanup(ok)


if __name__ == "__main__":
    gwtest.main(test)
