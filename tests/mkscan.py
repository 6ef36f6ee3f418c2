#!/usr/bin/env python3
"""mkscan - build realistic scans from routing sheet PDFs, for tests and the bench.

A scan is a stack of pages: sheets (one-page PDFs that gatewayctl wrote:
routing or separator sheets) and generated content pages (text and
shapes, no barcode).  Every page is rasterised (pdftoppm) at the scan's
resolution, distorted as a scanner or a careless user would (rotated by
90/180/270, skewed by a few degrees, salt-and-pepper noise, bilevel
threshold, JPEG recompression at low quality), then wrapped as a scanner
writes it:

  pdf-jpeg    PDF, one DCT (JPEG) image a page (img2pdf)
  pdf-flate   PDF, one Flate image a page (img2pdf from PNG)
  pdf-g4      PDF, CCITT G4 images (tiffcp -c g4, then tiff2pdf)
  pdf-jbig2   PDF, JBIG2 images: a generic region with MMR=1 holds the
              page's G4 data (ITU T.88 6.2.6); Debian has no JBIG2
              encoder, so the segments and the PDF are written here.
              Ghostscript (jbig2dec) decodes these pages bit for bit as
              the G4 image; poppler 22.12's MMR decoder differs from it
              in a few short runs (a few hundred pixels a text page),
              never so far on a sheet's QR code
  tiff-g4, tiff-lzw, tiff-grey, tiff-colour
              multi-page TIFF (bilevel G4, bilevel LZW, 8-bit grey LZW,
              RGB LZW), frames joined by tiffcp
  jpeg, png   one image: the stack must hold one page

Usage:
  mkscan.py --sheet sheet.pdf --pages 3 --format pdf-g4 --rotate 90 --dpi 150 --noise -o out.pdf
  mkscan.py --stack A.pdf 2 B.pdf 2 sep.pdf 1 --format tiff-g4 -o batch.tif
(in --stack a number is that many content pages, anything else a sheet PDF).
Also a module: make_scan(stack, fmt, out, **distortions).
"""
import argparse
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    from PIL import Image, ImageDraw, ImageFont
except ImportError:     # a python3 without Debian's python3-pil first in PATH
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

FORMATS = ("pdf-jpeg", "pdf-flate", "pdf-g4", "pdf-jbig2", "tiff-g4", "tiff-lzw",
           "tiff-grey", "tiff-colour", "jpeg", "png")
BILEVEL = ("pdf-g4", "pdf-jbig2", "tiff-g4", "tiff-lzw")
COLOUR = ("tiff-colour",)
PAPER = {"a4": (210 / 25.4, 297 / 25.4), "letter": (8.5, 11.0)}     # inches
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
TIMEOUT = 120


def run(cmd, **kw):
    """A helper program; its stderr in the exception if it fails."""
    r = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, **kw)
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                                r.stderr.decode(errors="replace")[:500]))
    return r.stdout


# -- pages -----------------------------------------------------------------

def rasterise(pdf, dpi, colour, tmp):
    """The first page of pdf as a PIL image (grey, or RGB)."""
    base = os.path.join(tmp, "r%d" % random.getrandbits(32))
    run(["pdftoppm", "-r", str(dpi), "-singlefile", "-f", "1", "-l", "1"] +
        ([] if colour else ["-gray"]) + [pdf, base])
    img = Image.open(base + (".ppm" if colour else ".pgm"))
    img.load()
    os.unlink(img.filename)
    return img


def content_page(n, dpi, paper, colour):
    """A document page: a heading, lines of text, boxes; no barcode."""
    w, h = (int(math.ceil(x * dpi - 0.01)) for x in PAPER[paper])  # as pdftoppm
    img = Image.new("RGB" if colour else "L", (w, h), "white")
    d = ImageDraw.Draw(img)
    u = dpi / 72.0                                      # one point
    try:
        big = ImageFont.truetype(FONT, int(20 * u))
        small = ImageFont.truetype(FONT, int(10 * u))
    except OSError:
        big = small = ImageFont.load_default()
    ink = (20, 40, 140) if colour else 0
    d.text((int(60 * u), int(60 * u)), "Document page %d" % n, fill=ink, font=big)
    y = int(110 * u)
    rnd = random.Random(n)
    for i in range(24):
        words = " ".join(rnd.choice(("invoice", "total", "amount", "due", "order",
                                     "number", "the", "of", "delivery", "paid"))
                         for _ in range(10))
        d.text((int(60 * u), y), "%2d  %s" % (i + 1, words), fill=0, font=small)
        y += int(16 * u)
    d.rectangle([int(60 * u), y + int(10 * u), int(300 * u), y + int(90 * u)],
                outline=0, width=max(1, int(2 * u)))
    d.ellipse([int(340 * u), y + int(10 * u), int(500 * u), y + int(110 * u)],
              fill=(200, 30, 30) if colour else 100)
    return img


def salt_and_pepper(img, fraction, seed):
    """Flip about fraction of the pixels to black, as many to white."""
    rnd = random.Random(seed)
    noise = Image.frombytes("L", img.size, rnd.randbytes(img.size[0] * img.size[1]))
    cut = max(1, int(fraction * 256))
    pepper = noise.point(lambda v: 255 if v < cut else 0).convert("1")
    salt = noise.point(lambda v: 255 if v >= 256 - cut else 0).convert("1")
    img = img.copy()
    img.paste(0 if img.mode == "L" else (0, 0, 0), mask=pepper)
    img.paste(255 if img.mode == "L" else (255, 255, 255), mask=salt)
    return img


def bilevel(img):
    """Threshold at half grey, no dithering: what a bilevel scanner writes."""
    return img.convert("L").point(lambda v: 255 if v >= 128 else 0).convert(
        "1", dither=Image.Dither.NONE)


def distort(img, i, rotate=0, skew=0.0, noise=False, recompress=None, bilevel_out=False):
    """One page as the scanner saw it."""
    if rotate:
        img = img.transpose({90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
                             270: Image.Transpose.ROTATE_270}[rotate])
    if skew:
        fill = "white" if img.mode == "L" else (255, 255, 255)
        img = img.rotate(skew, resample=Image.Resampling.BILINEAR, expand=True,
                         fillcolor=fill)
    if recompress:
        tmp = _jpeg_round_trip(img, recompress)
        img = tmp
    if noise:
        img = salt_and_pepper(img, 0.01, 1000 + i)
    if bilevel_out or noise:
        img = bilevel(img)
    return img


def _jpeg_round_trip(img, quality):
    import io
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out


def reduced(img, factor):
    """The sheet printed reduced (two-up, or fit to a small label): scaled by
    factor at the top left of a white page of the same size."""
    page = Image.new(img.mode, img.size, "white")
    small = img.resize((max(1, int(img.width * factor)), max(1, int(img.height * factor))),
                       Image.Resampling.LANCZOS)
    page.paste(small, (img.width // 20, img.height // 20))
    return page


def build_pages(stack, dpi=150, paper="a4", colour=False, tmp=None, reduce=None, **dist):
    """The stack's pages as distorted images (sheets scaled by reduce first)."""
    pages, n = [], 0
    for item in stack:
        if isinstance(item, int):
            for _ in range(item):
                n += 1
                pages.append(content_page(n, dpi, paper, colour))
        else:
            sheet = rasterise(item, dpi, colour, tmp)
            pages.append(reduced(sheet, reduce) if reduce else sheet)
    return [distort(p, i, **dist) for i, p in enumerate(pages)]


# -- wrappers --------------------------------------------------------------

def _save_each(pages, tmp, ext, **kw):
    names = []
    for i, p in enumerate(pages):
        name = os.path.join(tmp, "p%04d.%s" % (i, ext))
        p.save(name, **kw)
        names.append(name)
    return names


def wrap_img2pdf(pages, out, dpi, tmp, jpeg, quality):
    """img2pdf: JPEG pages embedded as DCT, PNG pages as Flate."""
    if jpeg:
        names = _save_each([p.convert("L") if p.mode == "1" else p for p in pages],
                           tmp, "jpg", quality=quality, dpi=(dpi, dpi))
    else:
        names = _save_each(pages, tmp, "png", dpi=(dpi, dpi))
    run(["img2pdf", "-o", out] + names)


def wrap_tiff(pages, out, dpi, tmp, compression, mode):
    """A multi-page TIFF: uncompressed frames joined and compressed by tiffcp."""
    conv = [p if p.mode == mode else (bilevel(p) if mode == "1" else p.convert(mode))
            for p in pages]
    names = _save_each(conv, tmp, "tif", dpi=(dpi, dpi))
    run(["tiffcp", "-c", compression] + names + [out])


def wrap_pdf_g4(pages, out, dpi, tmp):
    """tiffcp -c g4 then tiff2pdf: CCITT G4 images passed through unchanged."""
    tif = os.path.join(tmp, "g4.tif")
    wrap_tiff(pages, tif, dpi, tmp, "g4", "1")
    run(["tiff2pdf", "-o", out, tif])


def g4_strip(page, tmp):
    """The CCITT G4 (T.6) data of a bilevel page, 0 bits white, in one strip."""
    src = os.path.join(tmp, "j.tif")
    g4 = os.path.join(tmp, "j4.tif")
    # PIL writes '1' as BlackIsZero; invert so 1 bits are black (WhiteIsZero)
    inv = page.point(lambda v: 0 if v else 255).convert("1", dither=Image.Dither.NONE)
    inv.save(src)
    run(["tiffcp", "-c", "g4", "-r", str(page.size[1]), src, g4])
    t = Image.open(g4)
    offsets, counts = t.tag_v2[273], t.tag_v2[279]
    check_one = len(offsets) == 1 and len(counts) == 1
    if not check_one:
        raise RuntimeError("G4 TIFF has %d strips" % len(offsets))
    t.close()
    with open(g4, "rb") as f:
        f.seek(offsets[0])
        return f.read(counts[0])


def jbig2_segment(number, kind, data, page=1):
    """One JBIG2 segment: header (T.88 7.2) with no referred-to segments."""
    return struct.pack(">IBBBI", number, kind, 0, page, len(data)) + data


def jbig2_page(width, height, dpi, mmr):
    """Page information, then an immediate lossless generic region (MMR)."""
    ppm = int(round(dpi / 0.0254))
    info = struct.pack(">IIIIBH", width, height, ppm, ppm, 0x01, 0)
    region = struct.pack(">IIIIB", width, height, 0, 0, 0)
    flags = struct.pack(">B", 0x01)                     # MMR=1, GBTEMPLATE 0
    return (jbig2_segment(0, 48, info) +
            jbig2_segment(1, 39, region + flags + mmr))


def wrap_pdf_jbig2(pages, out, dpi, tmp):
    """A PDF whose pages are /JBIG2Decode image XObjects, written by hand."""
    objs = [None, None]                     # 1 catalog, 2 pages
    kids = []
    for p in pages:
        p = p if p.mode == "1" else bilevel(p)
        w, h = p.size
        data = jbig2_page(w, h, dpi, g4_strip(p, tmp))
        img = ("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
               "/DeviceGray /BitsPerComponent 1 /Filter /JBIG2Decode /Length %d >>\n"
               "stream\n" % (w, h, len(data))).encode() + data + b"\nendstream"
        objs.append(img)
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        content = zlib.compress(b"q %.2f 0 0 %.2f 0 0 cm /Im0 Do Q" % (pw, ph))
        objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) +
                    content + b"\nendstream")
        kids.append(len(objs) + 1)
        objs.append(("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.2f %.2f] /Resources "
                     "<< /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
                     % (pw, ph, len(objs) - 1, len(objs))).encode())
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[1] = ("<< /Type /Pages /Kids [%s] /Count %d >>"
               % (" ".join("%d 0 R" % k for k in kids), len(kids))).encode()
    write_pdf(objs, out)


def write_pdf(objs, out):
    """Objects 1..n, a cross-reference table and a trailer."""
    body = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, o in enumerate(objs):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        body += b"%010d 00000 n \n" % off
    body += (b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
             % (len(objs) + 1, xref))
    with open(out, "wb") as f:
        f.write(body)


def wrap(pages, fmt, out, dpi, tmp, quality=85):
    """Write the pages as fmt into out."""
    if fmt == "pdf-jpeg":
        wrap_img2pdf(pages, out, dpi, tmp, True, quality)
    elif fmt == "pdf-flate":
        wrap_img2pdf(pages, out, dpi, tmp, False, quality)
    elif fmt == "pdf-g4":
        wrap_pdf_g4(pages, out, dpi, tmp)
    elif fmt == "pdf-jbig2":
        wrap_pdf_jbig2(pages, out, dpi, tmp)
    elif fmt == "tiff-g4":
        wrap_tiff(pages, out, dpi, tmp, "g4", "1")
    elif fmt == "tiff-lzw":
        wrap_tiff(pages, out, dpi, tmp, "lzw", "1")
    elif fmt == "tiff-grey":
        wrap_tiff(pages, out, dpi, tmp, "lzw", "L")
    elif fmt == "tiff-colour":
        wrap_tiff(pages, out, dpi, tmp, "lzw", "RGB")
    elif fmt in ("jpeg", "png"):
        if len(pages) != 1:
            raise ValueError("%s holds one page, the stack has %d" % (fmt, len(pages)))
        p = pages[0].convert("L") if fmt == "jpeg" and pages[0].mode == "1" else pages[0]
        if fmt == "jpeg":
            p.save(out, "JPEG", quality=quality, dpi=(dpi, dpi))
        else:
            p.save(out, "PNG", dpi=(dpi, dpi))
    else:
        raise ValueError("unknown format %r (one of %s)" % (fmt, ", ".join(FORMATS)))


def make_scan(stack, fmt, out, dpi=150, paper="a4", rotate=0, skew=0.0, noise=False,
              quality=85, recompress=None, reduce=None):
    """Build the scan of stack (sheet PDF paths and counts of content pages) as fmt."""
    tmp = tempfile.mkdtemp(prefix="mkscan-")
    try:
        pages = build_pages(stack, dpi=dpi, paper=paper, colour=fmt in COLOUR, tmp=tmp,
                            reduce=reduce,
                            rotate=rotate, skew=skew, noise=noise, recompress=recompress,
                            bilevel_out=fmt in BILEVEL)
        wrap(pages, fmt, out, dpi, tmp, quality)
        return len(pages)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def parse_stack(words):
    return [int(w) if w.isdigit() else w for w in words]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sheet", help="the sheet PDF put on top")
    ap.add_argument("--pages", type=int, default=0, help="content pages after the sheet")
    ap.add_argument("--stack", nargs="+", help="sheet PDFs and counts of content pages")
    ap.add_argument("--format", default="pdf-jpeg", choices=FORMATS)
    ap.add_argument("--dpi", type=int, default=150)
    ap.add_argument("--paper", default="a4", choices=sorted(PAPER))
    ap.add_argument("--rotate", type=int, default=0, choices=(0, 90, 180, 270))
    ap.add_argument("--skew", type=float, default=0.0, help="degrees, counter-clockwise")
    ap.add_argument("--noise", action="store_true", help="salt and pepper, then bilevel")
    ap.add_argument("--quality", type=int, default=85, help="JPEG quality of the output")
    ap.add_argument("--recompress", type=int, help="pass every page through JPEG at this quality")
    ap.add_argument("--reduce", type=float, help="print the sheets scaled by this factor (0.35)")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    stack = parse_stack(a.stack) if a.stack else ([a.sheet] if a.sheet else []) + [a.pages]
    stack = [s for s in stack if s != 0]
    if not stack:
        ap.error("nothing to scan: give --sheet, --pages or --stack")
    n = make_scan(stack, a.format, a.output, dpi=a.dpi, paper=a.paper, rotate=a.rotate,
                  skew=a.skew, noise=a.noise, quality=a.quality, recompress=a.recompress,
                  reduce=a.reduce)
    print("%s: %d pages, %s, %d dpi" % (a.output, n, a.format, a.dpi))


if __name__ == "__main__":
    main()
