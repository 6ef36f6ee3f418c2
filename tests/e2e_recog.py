#!/usr/bin/env python3
"""e2e_recog - routing sheets read from scans, end to end.

An MFP (a client outside the relay list) sends scans to scan@gw.test,
whose rule has directive: true.  The sheets are printed with gatewayctl
directive sheet and rasterised with pdftoppm; content pages are made
with ImageMagick and wrapped with img2pdf.  Checked: a PDF with the
sheet on top reaches the directive's folder without the sheet page and
with the other pages' images byte-identical; a batch of three documents
(two directive sheets and a separator) gives three deliveries with the
right pages; keep_sheet delivers every page; a PNG sheet beside a PDF
document is removed; no sheet
holds the message with the reason in queue show; an unknown directive
bounces with the reason in the DSN; a decompression-bomb PNG and a
truncated TIFF are held as unreadable; mail that needs no recognition is
delivered while a scan waits; the daemon stays healthy throughout.
"""
import hashlib
import json
import os
import struct
import subprocess
import zlib

import gwtest
from gwtest import check, wait_for

CONVERT = "convert"


def sh(*cmd, env=None):
    r = subprocess.run(list(cmd), capture_output=True, timeout=120, env=env)
    check(r.returncode == 0, "%s: %s" % (" ".join(cmd), r.stderr.decode(errors="replace")))
    return r.stdout


def ctl_directive(gw, *args):
    return sh(gwtest.GATEWAYCTL, "-c", gw.config, "directive", *args).decode()


def pdf_images(pdf, d):
    """The raw images of a PDF (pdfimages -all: DCT streams as they are)."""
    os.makedirs(d)
    sh("pdfimages", "-all", pdf, os.path.join(d, "i"))
    return [hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
            for f in sorted(os.listdir(d))]


def mime(subject, files):
    """A multipart message as an MFP writes it: a text part, then the files."""
    bnd = "=-=scan-boundary=-="
    out = ("From: mfp@client.test\r\nTo: scan@gw.test\r\nSubject: %s\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n"
           "--%s\r\nContent-Type: text/plain\r\n\r\nScanned document.\r\n"
           % (subject, bnd, bnd))
    for name, ctype, data in files:
        b64 = __import__("base64").encodebytes(data).decode().replace("\n", "\r\n")
        out += ("--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n"
                "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n%s"
                % (bnd, ctype, name, name, b64))
    return (out + "--%s--\r\n" % bnd).encode()


def bomb_png():
    """100000 x 100000 pixels declared, a few bytes of data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(b"\0" * 100000)) + chunk(b"IEND", b""))


class Scans:
    def __init__(self, gw):
        self.gw = gw
        self.d = os.path.join(gw.dir, "scans")
        os.makedirs(self.d)

    def p(self, n):
        return os.path.join(self.d, n)

    def sheet(self, dirid, name):
        ctl_directive(self.gw, "sheet", dirid, "-o", self.p(name + ".pdf"))
        sh("pdftoppm", "-r", "150", "-gray", "-singlefile", self.p(name + ".pdf"), self.p(name))
        sh(CONVERT, self.p(name + ".pgm"), "-quality", "85", self.p(name + ".jpg"))
        return self.p(name + ".jpg")

    def page(self, i):
        out = self.p("page%d.jpg" % i)
        sh(CONVERT, "-size", "1240x1754", "xc:white", "-pointsize", "90",
           "-draw", "text 200,400 'content page %d'" % i, "-quality", "85", out)
        return out

    def pdf(self, name, pages):
        sh("img2pdf", *pages, "-o", self.p(name))
        return open(self.p(name), "rb").read()


def edit_config(gw, *edits):
    """Replace the first occurrence of each (old, new) in the config file
    (the rules' sheet maps, which write_config does not write)."""
    with open(gw.config) as f:
        text = f.read()
    for old, new in edits:
        text = text.replace(old, new, 1)
    with open(gw.config, "w") as f:
        f.write(text)


def delivered_pdfs(gw):
    return {n: d for n, d in gw.delivered().items() if d.startswith(b"%PDF")}


def test():
    for tool in (CONVERT, "img2pdf", "pdftoppm", "pdfimages"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            raise gwtest.TestFailure("%s is needed (README quick start)" % tool)
    gw = gwtest.Gateway("recog", relay_allow=["192.0.2.0/24"])
    ok = False
    try:
        connectors = [
            {"name": "archive", "type": "folder",
             "settings": {"path": gw.mail, "mode": "attachments", "sidecar": "file"}},
            {"name": "park", "type": "folder",
             "settings": {"path": os.path.join(gw.dir, "park")}},
            {"name": "sink", "type": "folder",
             "settings": {"path": os.path.join(gw.dir, "dsn"), "mode": "message"}},
        ]
        rules = [
            {"name": "scan", "recipient": "scan@gw.test", "directive": "true"},
            {"name": "keep", "recipient": "keep@gw.test", "directive": "true"},
            {"name": "dsn", "recipient": "*@client.test", "connector": "sink"},
            {"name": "plain", "recipient": "plain@gw.test", "connector": "archive"},
        ]
        extra = ("directives: { channels: { folder: archive } }\n"
                 "recognize: { max_pages: 10, dpi: 150, timeout: 30s, max_pixels: 50M }\n")
        gw.write_config(connectors, rules, ["192.0.2.0/24"], ["gw.test"], extra)
        edit_config(gw, ('    directive: "true"\n',
                         '    directive: "true"\n    sheet: { missing: hold, unknown: bounce, '
                         'unreadable: hold, hold: park }\n'),
                    ('keep@gw.test"\n    directive: "true"\n',
                     'keep@gw.test"\n    directive: "true"\n    sheet: { keep_sheet: yes }\n'))
        r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", gw.config], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "gatewayd -n: %s%s" % (r.stdout, r.stderr))
        gw.start()
        wait_for(lambda: "recognizer" in gw.ctl("status"), 20, "the recognizer in status")

        d1 = ctl_directive(gw, "create", "--title", "Invoices", "--rcpt", "folder:").strip()
        d2 = ctl_directive(gw, "create", "--title", "Contracts", "--rcpt", "folder:").strip()
        gone = ctl_directive(gw, "create", "--title", "Gone", "--rcpt", "folder:").strip()
        sc = Scans(gw)
        s1, s2, sg = sc.sheet(d1, "s1"), sc.sheet(d2, "s2"), sc.sheet(gone, "sg")
        ctl_directive(gw, "delete", gone)
        pages = [sc.page(i) for i in range(1, 5)]

        # 1. sheet on top of two pages, as one PDF
        single = sc.pdf("single.pdf", [s1, pages[0], pages[1]])
        s = gw.smtp()
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   mime("scan one", [("scan.pdf", "application/pdf", single)]))
        s.quit()
        wait_for(lambda: len(delivered_pdfs(gw)) >= 1, 60, "the single scan's delivery")
        (name, data), = delivered_pdfs(gw).items()
        with open(sc.p("got1.pdf"), "wb") as f:
            f.write(data)
        want = pdf_images(sc.p("single.pdf"), sc.p("img-single"))
        got = pdf_images(sc.p("got1.pdf"), sc.p("img-got1"))
        check(got == want[1:], "delivered PDF: sheet removed, pages byte-identical "
              "(%d images, want %d)" % (len(got), len(want) - 1))
        log = gw.read_log()
        check("part 1/1" in log and "directive %s" % d1 in log, "part log line names the directive")
        wait_for(lambda: any(n.endswith(".json") for n in gw.delivered()), 30, "the sidecar")
        side = [json.loads(d) for n, d in gw.delivered().items() if n.endswith(".json")]
        check(any(j.get("sheet", {}).get("directive") == d1 and
                  j["sheet"].get("pages") == "1-3" and j["sheet"].get("page") == "1"
                  for j in side), "sidecar sheet fields: %r" % side)

        # keep_sheet: the same scan keeps its sheet page
        before = set(delivered_pdfs(gw))
        s = gw.smtp()
        s.sendmail("mfp@client.test", ["keep@gw.test"],
                   mime("scan kept", [("scan.pdf", "application/pdf", single)]))
        s.quit()
        wait_for(lambda: len(set(delivered_pdfs(gw)) - before) >= 1, 60, "the kept scan")
        (name,) = set(delivered_pdfs(gw)) - before
        with open(sc.p("kept.pdf"), "wb") as f:
            f.write(delivered_pdfs(gw)[name])
        check(pdf_images(sc.p("kept.pdf"), sc.p("img-kept")) == want,
              "keep_sheet: every page delivered")

        # 2. three documents: D1 sheet, p1; D2 sheet, p2, p3; separator (D2), p4
        sep = sc.p("sep.jpg")
        sh(os.path.join(gwtest.TOP_BUILDDIR, "tests", "scan_fixture"), "qr",
           "GATEWAYD-SEPARATOR", "150", sc.p("sep.pgm"),
           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))  # a test tool
        sh(CONVERT, sc.p("sep.pgm"), "-quality", "90", sep)
        batch = sc.pdf("batch.pdf", [s1, pages[0], s2, pages[1], pages[2], sep, pages[3]])
        before = set(delivered_pdfs(gw))
        s = gw.smtp()
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   mime("batch", [("batch.pdf", "application/pdf", batch)]))
        s.quit()
        wait_for(lambda: len(set(delivered_pdfs(gw)) - before) >= 3, 60, "three deliveries")
        bimg = pdf_images(sc.p("batch.pdf"), sc.p("img-batch"))
        parts = []
        for i, n in enumerate(sorted(set(delivered_pdfs(gw)) - before)):
            with open(sc.p("b%d.pdf" % i), "wb") as f:
                f.write(delivered_pdfs(gw)[n])
            parts.append(pdf_images(sc.p("b%d.pdf" % i), sc.p("img-b%d" % i)))
        check(sorted(parts) == sorted([[bimg[1]], [bimg[3], bimg[4]], [bimg[6]]]),
              "batch: each part has only its own pages")
        log = gw.read_log()
        check("pages 3-5, directive %s" % d2 in log and
              "pages 6-7, directive %s (separator)" % d2 in log, "batch log lines")

        # 3. a PNG sheet beside the PDF document
        sh(CONVERT, s1, sc.p("s1.png"))
        doc = sc.pdf("doc.pdf", [pages[2]])
        before = set(gw.delivered())
        s = gw.smtp()
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   mime("png sheet", [("sheet.png", "image/png", open(sc.p("s1.png"), "rb").read()),
                                      ("doc.pdf", "application/pdf", doc)]))
        s.quit()
        wait_for(lambda: any(gw.delivered()[n] == doc for n in set(gw.delivered()) - before),
                 60, "the PNG-sheet scan's document")
        check(not any(n.endswith(".png") for n in set(gw.delivered()) - before),
              "the PNG sheet is not delivered")

        # 4. no sheet, unknown directive, hostile files; plain mail meanwhile
        nrouted = gw.read_log().count("routed to archive")
        s = gw.smtp()
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   mime("nosheet", [("p.pdf", "application/pdf", sc.pdf("nos.pdf", [pages[0]]))]))
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   mime("unknown", [("u.pdf", "application/pdf", sc.pdf("unk.pdf", [sg, pages[0]]))]))
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   mime("bomb", [("b.png", "image/png", bomb_png())]))
        tif = sc.p("t.tif")
        sh(CONVERT, pages[0], "-compress", "lzw", tif)
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   mime("trunc", [("t.tif", "image/tiff", open(tif, "rb").read()[:3000])]))
        s.sendmail("a@client.test", ["plain@gw.test"],
                   b"From: a@client.test\r\nSubject: plain\r\n\r\nno scan\r\n")
        s.quit()
        # the plain message does not wait behind the scans
        wait_for(lambda: gw.read_log().count("routed to archive") > nrouted, 20,
                 "plain mail routed while scans wait")

        def held():
            return [f for f in gw.spool_files("hold")]
        wait_for(lambda: len(held()) >= 3, 60, "three held scans")
        shows = ""
        for f in held():
            shows += gw.ctl("queue", "show", os.path.basename(f))
        check("no routing sheet found in the scan" in shows, "no-sheet reason in queue show: %s" % shows)
        check(shows.count("could not be read") >= 2, "unreadable reasons in queue show: %s" % shows)
        dsn_dir = os.path.join(gw.dir, "dsn")

        def dsn_text():
            out = b""
            for root, _d, files in os.walk(dsn_dir):
                for n in files:
                    out += open(os.path.join(root, n), "rb").read()
            return out
        wait_for(lambda: b"does not exist" in dsn_text(), 60, "the unknown directive's DSN")
        check(gone.encode() in dsn_text(), "DSN names the directive")
        st = gw.ctl("status")
        check("recognizer" in st and "ready" in st, "recognizer still ready: %s" % st)
        check(gw.proc.poll() is None, "daemon alive")
        ok = True
    finally:
        gw.cleanup(ok)


if __name__ == "__main__":
    gwtest.main(test)
