#!/usr/bin/env python3
"""The routing-sheet reader (gatewayd/scan*.c) through tests/scan_run, on
scans made here at test time from the sheet gatewayd prints (sheet.c, via
tests/scan_fixture) and from QR and text pages: PDF with JPEG, Flate and
CCITT G4 images, multi-page TIFF (G4, LZW grey, LZW colour), JPEG and PNG;
rotated 90/180/270, skewed 5 degrees, at 150 dpi, bilevel with noise,
heavily JPEG-compressed.  The sheet's page and ID and a separator are
found, a page without a code gives nothing, --pages bounds the search, a
cut PDF or TIFF keeps every other page's image bytes identical, and
hostile files (declared sizes far past the pixel limit, truncated or
garbled TIFF, an absurd PDF page) fail cleanly with "error:"."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

from gwtest import TOP_BUILDDIR, check, main

RUN = os.path.join(TOP_BUILDDIR, "tests", "scan_run")
FIX = os.path.join(TOP_BUILDDIR, "tests", "scan_fixture")
ID = "Ab12Cd34"
SEP = "GATEWAYD-SEPARATOR"
# Debian's ImageMagick itself, one thread (the machine is shared)
CONVERT = "/usr/bin/convert" if os.access("/usr/bin/convert", os.X_OK) else "convert"
os.environ["MAGICK_THREAD_LIMIT"] = "1"


TIMES = {}


def timed(key, f, *a, **k):
    t = time.time()
    try:
        return f(*a, **k)
    finally:
        TIMES[key] = TIMES.get(key, 0) + time.time() - t


def sh(*cmd, cwd=None):
    """Run a tool; fail the test with its output if it fails."""
    r = timed(os.path.basename(cmd[0]), subprocess.run, cmd, cwd=cwd, capture_output=True, timeout=120)
    check(r.returncode == 0, "%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                                   r.stderr.decode(errors="replace")[-400:]))
    return r.stdout


def find(path, *args):
    """scan_run find: (exit code, lines)."""
    r = timed("find", subprocess.run, [RUN, "find", path] + list(args), capture_output=True,
              timeout=120)
    check(r.returncode in (0, 1), "scan_run find %s: exit %d (crash?) %s" %
          (path, r.returncode, r.stderr.decode(errors="replace")[-400:]))
    return r.returncode, r.stdout.decode().splitlines()


def sheets(path, *args):
    rc, lines = find(path, *args)
    check(rc == 0, "%s unreadable: %s" % (path, lines))
    return [l for l in lines if l.startswith("sheet ")], lines


def expect(path, want, *args):
    got, lines = sheets(path, *args)
    check(got == want, "%s: want %s, got %s" % (os.path.basename(path), want, lines))
    return lines


class Box:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="scan-basic-")

    def p(self, name):
        return os.path.join(self.dir, name)

    def im(self, src, dst, *ops, dpi=300):
        """ImageMagick: src -> dst with ops, at dpi."""
        sh(CONVERT, self.p(src), *ops, "-density", str(dpi), "-units",
           "PixelsPerInch", self.p(dst))
        return self.p(dst)


def make_pages(b):
    """sheet300.pgm (the printed sheet, rasterised), sep.pgm, t1..t3.pgm."""
    sh(FIX, "sheet", ID, b.p("sheet.pdf"))
    sh("pdftoppm", "-r", "300", "-gray", "-singlefile", b.p("sheet.pdf"), b.p("sheet300"))
    sh("pdftoppm", "-r", "150", "-gray", "-singlefile", b.p("sheet.pdf"), b.p("sheet150"))
    sh(FIX, "qr", SEP, "300", b.p("sep.pgm"))
    for i in (1, 2, 3):
        sh(FIX, "page", str(i), "300", b.p("t%d.pgm" % i))
    order = ["t1", "sheet300", "t2", "sep", "t3"]
    for n in order:
        b.im(n + ".pgm", n + ".jpg", "-quality", "85")
        b.im(n + ".pgm", n + ".png")
        b.im(n + ".pgm", n + ".g4.tif", "-threshold", "50%", "-type", "bilevel",
             "-compress", "Group4")
    return order


def test_formats(b, order):
    want = ["sheet 1 directive " + ID, "sheet 3 separator"]
    expect(b.p("sheet.pdf"), ["sheet 0 directive " + ID])
    sh("img2pdf", *[b.p(n + ".jpg") for n in order], "-o", b.p("jpeg.pdf"))
    lines = expect(b.p("jpeg.pdf"), want)
    check("pages 5" in lines and "searched 5" in lines and "format pdf" in lines,
          "jpeg.pdf: %s" % lines)
    sh("img2pdf", *[b.p(n + ".png") for n in order], "-o", b.p("flate.pdf"))
    expect(b.p("flate.pdf"), want)
    sh("tiffcp", *[b.p(n + ".g4.tif") for n in order], b.p("g4.tif"))
    expect(b.p("g4.tif"), want)
    sh("tiff2pdf", "-o", b.p("g4.pdf"), b.p("g4.tif"))
    expect(b.p("g4.pdf"), want)
    grey = [b.im(n + ".pgm", n + ".grey.tif", "-compress", "LZW") for n in order]
    sh("tiffcp", *grey, b.p("grey.tif"))
    lines = expect(b.p("grey.tif"), want)
    check("format tiff" in lines and "pages 5" in lines, "grey.tif: %s" % lines)
    colour = [b.im(n + ".pgm", n + ".rgb.tif", "-type", "TrueColor", "-compress", "LZW")
              for n in order[:2]]
    sh("tiffcp", *colour, b.p("rgb.tif"))
    expect(b.p("rgb.tif"), ["sheet 1 directive " + ID])
    lines = expect(b.p("sheet300.jpg"), ["sheet 0 directive " + ID])
    check("format jpeg" in lines and "pages 1" in lines, "jpeg: %s" % lines)
    expect(b.p("sep.png"), ["sheet 0 separator"])
    # nothing to find
    expect(b.p("t1.jpg"), [])
    expect(b.p("t2.png"), [])
    # --pages bounds the search
    lines = expect(b.p("jpeg.pdf"), ["sheet 1 directive " + ID], "--pages", "2")
    check("searched 2" in lines and "pages 5" in lines, "--pages 2: %s" % lines)
    lines = expect(b.p("g4.tif"), [], "--pages", "1")
    check("searched 1" in lines, "tiff --pages 1: %s" % lines)


def test_distortions(b):
    one = ["sheet 0 directive " + ID]
    for deg in ("90", "180", "270", "5", "-5"):
        expect(b.im("sheet300.pgm", "rot%s.jpg" % deg, "-background", "white",
                    "-rotate", deg, "+repage", "-quality", "80"), one)
    expect(b.im("sheet150.pgm", "s150.png", dpi=150), one)
    sh("img2pdf", b.im("sheet150.pgm", "s150.jpg", "-quality", "75", dpi=150),
       "-o", b.p("s150.pdf"))
    expect(b.p("s150.pdf"), one)
    expect(b.im("sheet300.pgm", "noise.png", "-attenuate", "0.6", "+noise", "Impulse",
                "-threshold", "50%", "-type", "bilevel"), one)
    expect(b.im("sheet300.pgm", "noise.g4.tif", "-background", "white", "-rotate", "3", "+repage",
                "-attenuate", "0.6", "+noise", "Impulse", "-threshold", "50%",
                "-type", "bilevel", "-compress", "Group4"), one)
    expect(b.im("sheet300.pgm", "q20.jpg", "-quality", "20"), one)


def pdf_images(b, pdf, tag):
    """The images of a PDF as pdfimages -all writes them (DCT and CCITT raw)."""
    d = b.p("img-" + tag)
    os.mkdir(d)
    sh("pdfimages", "-all", pdf, os.path.join(d, "i"))
    imgs = {}
    for f in sorted(os.listdir(d)):
        imgs.setdefault(f.split(".")[0], []).append(open(os.path.join(d, f), "rb").read())
    return [imgs[k] for k in sorted(imgs)]


def tiff_strips(path):
    """Per frame, the raw bytes of its strips (a small IFD walker)."""
    data = open(path, "rb").read()
    e = "<" if data[:2] == b"II" else ">"
    off = struct.unpack(e + "I", data[4:8])[0]
    frames = []
    for _ in range(1000):
        if off == 0:
            break
        n = struct.unpack(e + "H", data[off:off + 2])[0]
        tags = {}
        for i in range(n):
            t, typ, cnt, val = struct.unpack(e + "HHII", data[off + 2 + 12 * i:off + 14 + 12 * i])
            size = {3: 2, 4: 4}.get(typ, 0)
            if size and cnt * size <= 4:
                raw = data[off + 10 + 12 * i:off + 10 + 12 * i + cnt * size]
            else:
                raw = data[val:val + cnt * size]
            tags[t] = struct.unpack(e + ("H" if typ == 3 else "I") * cnt, raw) if size else ()
        frames.append(b"".join(data[o:o + c] for o, c in zip(tags[273], tags[279])))
        off = struct.unpack(e + "I", data[off + 2 + 12 * n:off + 6 + 12 * n])[0]
    return frames


def cut(b, src, dst, *args):
    with open(b.p(dst), "wb") as f:
        r = subprocess.run([RUN, "cut", b.p(src)] + [str(a) for a in args], stdout=f,
                           stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stderr.decode()


def test_cut(b):
    for src in ("jpeg.pdf", "g4.pdf"):
        rc, err = cut(b, src, "cut-" + src, 0, 4, 1, 3)
        check(rc == 0, "cut %s: %s" % (src, err))
        _, lines = sheets(b.p("cut-" + src))
        check("pages 3" in lines and not [l for l in lines if l.startswith("sheet")],
              "cut %s: %s" % (src, lines))
        before = pdf_images(b, b.p(src), src)
        after = pdf_images(b, b.p("cut-" + src), "cut-" + src)
        check(len(before) == 5 and after == [before[0], before[2], before[4]],
              "cut %s: pages 0, 2, 4 not byte-identical" % src)
    for src in ("g4.tif", "grey.tif"):
        rc, err = cut(b, src, "cut-" + src, 1, 4, 1)
        check(rc == 0, "cut %s: %s" % (src, err))
        _, lines = sheets(b.p("cut-" + src))
        check("pages 3" in lines and lines[-1] == "sheet 1 separator",
              "cut %s: %s" % (src, lines))
        before, after = tiff_strips(b.p(src)), tiff_strips(b.p("cut-" + src))
        check(after == before[2:5], "cut %s: frames not byte-identical" % src)
    rc, err = cut(b, "jpeg.pdf", "bad.pdf", 2, 9)
    check(rc == 1 and "error:" in err, "cut past the end: %d %s" % (rc, err))
    rc, err = cut(b, "t1.jpg", "same.jpg", 0, 0)
    check(rc == 0 and open(b.p("same.jpg"), "rb").read() == open(b.p("t1.jpg"), "rb").read(),
          "cut of a JPEG to its one page: %s" % err)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiff_tiny(w, h):
    """A one-strip bilevel little-endian TIFF declaring w x h."""
    tags = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 1), (259, 3, 1, 1),
            (262, 3, 1, 0), (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, h),
            (279, 4, 1, 16)]
    ifd = struct.pack("<H", len(tags)) + b"".join(
        struct.pack("<HHII", *t) for t in tags) + struct.pack("<I", 0)
    return b"II*\0" + struct.pack("<I", 24) + b"\0" * 16 + ifd


def pdf_page(box):
    """A one-page PDF whose MediaBox is box."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [" + box + b"] >>"]
    out, offs = b"%PDF-1.4\n", []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offs)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)


def hostile(b, name, data, why):
    with open(b.p(name), "wb") as f:
        f.write(data)
    rc, lines = find(b.p(name), "--max-pixels", "50000000")
    check(rc == 1 and lines and lines[0].startswith("error:"),
          "%s (%s): want a clean error, got %d %s" % (name, why, rc, lines))
    return lines[0]


def test_hostile(b):
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1000)
    msg = hostile(b, "bomb.png", b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
                  png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""), "PNG bomb")
    check("limit" in msg, "PNG bomb: %s" % msg)
    jpg = bytearray(open(b.p("t1.jpg"), "rb").read())
    i = 2
    while i < len(jpg) and jpg[i + 1] not in (0xc0, 0xc1, 0xc2):
        i += 2 + struct.unpack(">H", jpg[i + 2:i + 4])[0]
    jpg[i + 5:i + 9] = struct.pack(">HH", 60000, 60000)
    hostile(b, "bomb.jpg", bytes(jpg), "JPEG bomb")
    msg = hostile(b, "bomb.tif", tiff_tiny(200000, 200000), "TIFF bomb")
    check("limit" in msg, "TIFF bomb: %s" % msg)
    g4 = open(b.p("g4.tif"), "rb").read()
    rc, lines = find(b.p("g4.tif"))
    with open(b.p("trunc.tif"), "wb") as f:
        f.write(g4[:len(g4) // 3])
    rc, lines = find(b.p("trunc.tif"))
    check(rc == 1 or "format tiff" in lines, "truncated TIFF: %s" % lines)
    hostile(b, "garbled.tif", b"II*\0\xff\xff\xff\x7f" + os.urandom(3000), "garbled TIFF")
    hostile(b, "loop.tif", b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 0) +
            struct.pack("<I", 8), "IFD loop")
    msg = hostile(b, "huge.pdf", pdf_page(b"0 0 14400 14400"), "absurd PDF page")
    check("limit" in msg or "absurd" in msg, "huge PDF page: %s" % msg)
    hostile(b, "garbage.pdf", b"%PDF-1.4\n" + os.urandom(2000), "garbage PDF")
    hostile(b, "empty", b"", "empty file")


def test():
    check(os.access(RUN, os.X_OK) and os.access(FIX, os.X_OK), "scan_run, scan_fixture built")
    for tool in ("convert", "img2pdf", "tiffcp", "tiff2pdf", "pdftoppm", "pdfimages"):
        check(shutil.which(tool) is not None, "%s installed" % tool)
    b = Box()
    ok = False
    try:
        order = make_pages(b)
        test_formats(b, order)
        test_distortions(b)
        test_cut(b)
        test_hostile(b)
        ok = True
    finally:
        print("seconds: " + ", ".join("%s %.1f" % kv for kv in sorted(TIMES.items())))
        if ok:
            shutil.rmtree(b.dir)
        else:
            print("kept %s" % b.dir, file=sys.stderr)


if __name__ == "__main__":
    main(test)
