#!/usr/bin/env python3
"""Golden tests of the folder connector's MIME extraction, through the real
folder.so (tests/folder_run loads it with the worker's loader and API):
every attachment is written byte-identical (SHA-256 of the expected bytes),
names are decoded from RFC 2231 (charsets, continuations) and RFC 2047
(UTF-8, ISO-8859-1/-15) or fall back to name= or to a generated name,
traversal names are neutralised, each collision policy behaves, sidecars
parse and say the right things, and malformed or absurd messages
(missing boundary, broken base64, 10,000-deep nesting, 100,000 parts)
finish quickly with what could be recovered.  uuencoded files (x-uuencode
parts, begin/end blocks in text bodies, damaged lines, 30,000 tiny blocks)
and attached messages filed byte-exact as .eml."""
import binascii
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage

from gwtest import TOP_BUILDDIR, check, main

RUN = os.path.join(TOP_BUILDDIR, "tests", "folder_run")
DATA = os.path.join(os.environ.get("GW_TEST_SRCDIR", os.path.dirname(os.path.abspath(__file__))),
                    "data", "mime")
QID = "0006152f1a2b3c4d0001"


def sha(b):
    return hashlib.sha256(b).hexdigest()


class Box:
    """A private directory: the connector root and generated messages."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="folder-mime-")
        self.root = os.path.join(self.dir, "out")

    def run(self, msg, settings=None, rcpts=("scans@gw.test",), timeout=30):
        """Deliver msg (bytes or a file name); the result lines."""
        if isinstance(msg, bytes):
            path = os.path.join(self.dir, "msg.eml")
            with open(path, "wb") as f:
                f.write(msg)
        else:
            path = os.path.join(DATA, msg)
        args = [RUN, "-s", "path=" + self.root]
        for k, v in (settings or {}).items():
            args += ["-s", "%s=%s" % (k, v)]
        for r in rcpts:
            args += ["-r", r]
        t = time.monotonic()
        p = subprocess.run(args + [path], capture_output=True, timeout=timeout)
        self.elapsed = time.monotonic() - t
        check(p.returncode == 0, "folder_run failed: %s" % p.stderr.decode(errors="replace"))
        return p.stdout.decode().splitlines()

    def files(self, sub=""):
        """{relative name: bytes} under the root (temporary names excluded)."""
        out = {}
        base = os.path.join(self.root, sub)
        for d, dirs, names in os.walk(base):
            dirs[:] = [x for x in dirs if x != ".gatewayd"]     # the journal
            for n in names:
                p = os.path.join(d, n)
                check(not n.startswith(".gw-tmp"), "temporary file left: %s" % p)
                with open(p, "rb") as f:
                    out[os.path.relpath(p, base)] = f.read()
        return out

    def clear(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def done(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def expect(box, msg, want, settings=None, note=None):
    """Deliver msg in attachments mode; the files must be exactly want."""
    box.clear()
    s = {"mode": "attachments"}
    s.update(settings or {})
    res = box.run(msg, s)
    check(len(res) == 1 and res[0].startswith("done 250"), "%s: %s" % (msg if isinstance(msg, str) else "msg", res))
    got = box.files()
    check(set(got) == set(want), "%s: files %s, want %s" % (msg if isinstance(msg, str) else "msg",
                                                            sorted(got), sorted(want)))
    for name, data in want.items():
        check(sha(got[name]) == sha(data), "%s: %s not byte-identical: %r" % (msg, name, got[name][:60]))
    if note:
        check(note in res[0], "result mentions %r: %s" % (note, res[0]))
    return res[0]


def test_built(box):
    """Python-built message: PDF + TIFF with UTF-8 RFC 2231 names, traversal name."""
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    tif = b"II*\x00" + os.urandom(5000)
    m = EmailMessage()
    m["From"] = "scanner@client.test"
    m["To"] = "scans@gw.test"
    m["Subject"] = "Scan vom Gerät"
    m.set_content("Ihr Scan.\n")
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="Übersicht März.pdf")
    m.add_attachment(tif, maintype="image", subtype="tiff", filename="../../etc/passwd")
    m.add_attachment(b"noext", maintype="image", subtype="tiff", filename="scan")
    raw = bytes(m)
    check(b"filename*=" in raw, "python encoded the name with RFC 2231")
    expect(box, raw, {"Übersicht März.pdf": pdf, "___.._etc_passwd": tif, "scan.tif": b"noext"})
    check(not os.path.exists(os.path.join(box.dir, "etc")), "nothing outside the root")
    # Windows policy and the ascii policy on the same names.
    expect(box, raw, {"Übersicht März.pdf": pdf, "___.._etc_passwd": tif, "scan.tif": b"noext"},
           {"charset": "windows"})
    expect(box, raw, {"_bersicht M_rz.pdf": pdf, "___.._etc_passwd": tif, "scan.tif": b"noext"},
           {"charset": "ascii"})


def test_fixed(box):
    """The fixed samples in tests/data/mime."""
    expect(box, "rfc2231-latin1.eml", {"Grüße aus Köln.pdf": b"%PDF-1.4 latin1 \x00\x01\x02\xff"})
    expect(box, "rfc2231-continuation.eml",
           {"Übersicht € Rechnung Teil 2.tif": b"II*\x00continuation-tiff"})
    expect(box, "rfc2047-latin9-name.eml",
           {"Rechnung € 100.pdf": b"%PDF euro", "写真.jpg": b"\xff\xd8\xff\xe0jpeg-utf8"})
    expect(box, "nested-encodings.eml", {
        QID + "-1.png": b"\x89PNG\r\n\x1a\nnoname",
        "qp.csv": b"a;b=c;\xe4\xf6\xfc\r\nline two with soft break",
        "seven.txt": b"seven bit",
        "eight.bin": b"eight \xe4 bit",
        "inner.pdf": b"%PDF inner\x00",
    })
    # Attached messages filed as .eml instead of opened.
    box.clear()
    box.run("nested-encodings.eml", {"mode": "attachments", "messages": "file"})
    got = box.files()
    check("forwarded.eml" in got and b"inner body" in got["forwarded.eml"] and "inner.pdf" not in got,
          "message/rfc822 filed as forwarded.eml: %s" % sorted(got))
    # The body is kept as text when there is nothing else (converted to UTF-8).
    expect(box, "body-only.eml", {QID + ".txt": "Grüße\r\n".encode()})
    expect(box, "body-only.eml", {QID + ".eml": open(os.path.join(DATA, "body-only.eml"), "rb").read()},
           {"body": "never"}, note="nothing to extract")
    # body: always adds the text body next to the attachments.
    box.clear()
    box.run("nested-encodings.eml", {"mode": "attachments", "body": "always"})
    check(box.files().get(QID + ".txt", b"").startswith(b"plain body"), "body: always writes the text")
    # mode: both = the message and its attachments.
    box.clear()
    box.run("rfc2231-latin1.eml", {"mode": "both"})
    got = box.files()
    check(set(got) == {QID + ".eml", "Grüße aus Köln.pdf"}, "mode both: %s" % sorted(got))
    check(got[QID + ".eml"] == open(os.path.join(DATA, "rfc2231-latin1.eml"), "rb").read(),
          "mode both: the message byte-identical")


def test_malformed(box):
    """Broken messages: recovered, said in the result, bounded."""
    raw = open(os.path.join(DATA, "missing-boundary.eml"), "rb").read()
    expect(box, "missing-boundary.eml", {QID + ".eml": raw}, note="nothing to extract")
    box.clear()
    res = box.run("broken-base64.eml", {"mode": "attachments"})
    got = box.files()
    check(res[0].startswith("done 250") and "broken.pdf: damaged base64" in res[0], res[0])
    check(got.get("good.pdf") == b"%PDF good" and got.get("broken.pdf", b"").startswith(b"%PDF-1"),
          "what could be decoded is written: %s" % got)
    expect(box, "unterminated.eml", {"first.pdf": b"%PDF first", "second.pdf": b"%PDF-second"})

    # 10,000-deep multipart nesting, with an attachment at the top level.
    parts = ["From: a@client.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=top\r\n\r\n--top\r\n"
             "Content-Type: application/pdf; name=top.pdf\r\n\r\nTOP\r\n--top\r\n"]
    for i in range(10000):
        parts.append('Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i))
    parts.append("Content-Type: application/pdf; name=bottom.pdf\r\n\r\nBOTTOM\r\n")
    for i in reversed(range(10000)):
        parts.append("--b%d--\r\n" % i)
    parts.append("--top--\r\n")
    expect(box, "".join(parts).encode(), {"top.pdf": b"TOP"}, note="nested too deep")
    check(box.elapsed < 10, "deep nesting took %.1fs" % box.elapsed)

    # 100,000 parts: cut at max_parts, quickly.
    parts = ["From: a@client.test\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
             "Content-Type: multipart/mixed; boundary=X\r\n\r\n"]
    for i in range(100000):
        parts.append("--X\r\nContent-Type: application/pdf; name=p%d.pdf\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\nQUJD\r\n" % i)
    parts.append("--X--\r\n")
    box.clear()
    res = box.run("".join(parts).encode(), {"mode": "attachments", "max_parts": "50"})
    got = box.files()
    check(res[0].startswith("done 250") and "too many parts" in res[0], res[0])
    check(40 <= len(got) <= 50 and got.get("p0.pdf") == b"ABC", "%d files written" % len(got))
    check(box.elapsed < 10, "100,000 parts took %.1fs" % box.elapsed)

    # 10,000 nested message/rfc822 and 100 KB of one header.
    deep = ("From: a@client.test\r\nSubject: x\r\nX-Big: " + "y" * 100000 + "\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: message/rfc822\r\n\r\n" * 10000 + "\r\ntext\r\n").encode()
    box.clear()
    res = box.run(deep, {"mode": "attachments"})
    check(res[0].startswith("done 250") and "attached messages" in res[0], res[0])
    check(box.files() == {QID + ".eml": deep}, "the message itself is filed")


def test_collisions(box):
    """suffix, overwrite, fail; rollback of a failed delivery."""
    def msg(*files):
        m = EmailMessage()
        m["From"] = "scanner@client.test"
        m["Subject"] = "c"
        m.set_content("x")
        for name, data in files:
            m.add_attachment(data, maintype="application", subtype="pdf", filename=name)
        return bytes(m)

    box.clear()
    for i in range(3):
        box.run(msg(("a.pdf", b"v%d" % i)), {"mode": "attachments"})
    check(box.files() == {"a.pdf": b"v0", "a-1.pdf": b"v1", "a-2.pdf": b"v2"}, "suffix: %s" % box.files())
    box.clear()
    for i in range(3):
        box.run(msg(("a.pdf", b"v%d" % i)), {"mode": "attachments", "collision": "overwrite"})
    check(box.files() == {"a.pdf": b"v2"}, "overwrite: %s" % box.files())
    # Two documents of one message never overwrite each other.
    box.clear()
    box.run(msg(("a.pdf", b"one"), ("a.pdf", b"two")), {"mode": "attachments", "collision": "overwrite"})
    check(box.files() == {"a.pdf": b"one", "a-1.pdf": b"two"}, "same message: %s" % box.files())
    box.clear()
    res = box.run(msg(("a.pdf", b"first")), {"mode": "attachments", "collision": "fail"})
    check(res[0].startswith("done"), res[0])
    res = box.run(msg(("b.pdf", b"b"), ("a.pdf", b"second")),
                  {"mode": "attachments", "collision": "fail", "sidecar": "message"})
    check(res[0].startswith("failed 550 5.3.0") and "a.pdf exists (collision: fail)" in res[0], res[0])
    check(box.files() == {"a.pdf": b"first"}, "fail: rolled back: %s" % box.files())


def test_templates_sidecar(box):
    """Templates with router fields, per-recipient copies, sidecars."""
    pdf = b"%PDF sidecar " + os.urandom(100)
    m = EmailMessage()
    m["From"] = "scanner@client.test"
    m["Subject"] = "Invoice: 42/2025"
    m["Message-ID"] = "<scan.1@client.test>"
    m.set_content("x")
    m.add_attachment(pdf, maintype="application", subtype="pdf", filename="scan.pdf")
    raw = bytes(m)
    s = {"mode": "attachments", "path_template": "%Y/%m/{fax|nofax}",
         "file_template": "{name|anon}_{subject}_{counter:2}{ext}", "sidecar": "message",
         "sidecar_template": "{qid}-{fax}.json", "timezone": "utc"}
    box.clear()
    res = box.run(raw, s, rcpts=("a@gw.test,fax=+4930111,name=Jörg", "b@gw.test,fax=+4930222",
                                 "c@gw.test,fax=+4930111,name=Jörg"))
    check(len(res) == 3 and all(r.startswith("done 250") for r in res), res)
    got = box.files()
    want = {"2025/11/+4930111/Jörg_Invoice: 42_2025_01.pdf", "2025/11/+4930111/%s-+4930111.json" % QID,
            "2025/11/+4930222/anon_Invoice: 42_2025_01.pdf", "2025/11/+4930222/%s-+4930222.json" % QID}
    check(set(got) == want, "templated names: %s" % sorted(got))
    check(res[0] == res[2] and res[0] != res[1], "recipients grouped by their fields: %s" % res)
    meta = json.loads(got["2025/11/+4930111/%s-+4930111.json" % QID])
    check(meta["queue_id"] == QID and meta["sender"] == "scanner@client.test", meta)
    check(meta["recipients"] == ["a@gw.test", "c@gw.test"], meta["recipients"])
    check(meta["subject"] == "Invoice: 42/2025" and meta["client_address"] == "192.0.2.7", meta)
    check(meta["arrival"] == "2025-11-28T10:00:00Z" and meta["arrival_unix"] == 1764324000, meta)
    check(meta["message_id"] == "scan.1@client.test", meta["message_id"])
    check(meta["router"] == {"fax": "+4930111", "name": "Jörg"}, meta["router"])
    check(meta["files"] == [{"name": "Jörg_Invoice: 42_2025_01.pdf", "original_name": "scan.pdf",
                             "content_type": "application/pdf", "size": len(pdf), "sha256": sha(pdf)}],
          meta["files"])
    # One sidecar per file, next to it.
    box.clear()
    box.run("nested-encodings.eml", {"mode": "attachments", "sidecar": "file"})
    got = box.files()
    docs = [n for n in got if not n.endswith(".json")]
    check(len(docs) == 5 and all(n + ".json" in got for n in docs), sorted(got))
    for n in docs:
        meta = json.loads(got[n + ".json"])
        check(len(meta["files"]) == 1 and meta["files"][0]["name"] == n and
              meta["files"][0]["sha256"] == sha(got[n]) and meta["files"][0]["size"] == len(got[n]),
              "sidecar of %s: %s" % (n, meta["files"]))


def test_safety(box):
    """Settings errors with positions, symlinks in the tree, modes, owner."""
    box.clear()
    res = box.run("body-only.eml", {"mode": "bogus"})
    check(res[0].startswith("init-error folder_run:3:3: folder: mode must be one of: message, attachments, both"),
          res[0])
    res = box.run("body-only.eml", {"file_template": "a/{qid}"})
    check(res[0].startswith("init-error folder_run:3:3:") and "path_template" in res[0], res[0])
    res = box.run("body-only.eml", {"mode": "attachments", "path_template": "{nosuch}"})
    check(res[0].startswith("init-error folder_run:4:3:") and "unknown field {nosuch}" in res[0], res[0])
    res = box.run("body-only.eml", {"max_parts": "0"})
    check("max_parts must be a number from 1 to 10000" in res[0], res[0])
    if os.geteuid() == 0:
        res = box.run("body-only.eml", {"owner": "nobody"})
        check(res[0].startswith("init-error") and "only root may give a file" in res[0], res[0])
        res = box.run("body-only.eml", {"group": "nogroup"})
        check(res[0].startswith("init-error") and "not a group of the user" in res[0], res[0])
    # A symbolic link planted in the tree is not followed.
    box.clear()
    os.makedirs(box.root)
    outside = os.path.join(box.dir, "outside")
    os.mkdir(outside)
    os.symlink(outside, os.path.join(box.root, "link"))
    res = box.run("rfc2231-latin1.eml", {"mode": "attachments", "path_template": "link/x"})
    check(res[0].startswith("failed 550"), res[0])
    check(os.listdir(outside) == [], "nothing written through the link")
    # Modes of created directories and files.
    box.clear()
    res = box.run("rfc2231-latin1.eml", {"mode": "attachments", "path_template": "a/b",
                                         "file_mode": "0604", "dir_mode": "0711"})
    check(res[0].startswith("done"), res[0])
    check(os.stat(os.path.join(box.root, "a", "b")).st_mode & 0o7777 == 0o711, "dir_mode")
    check(os.stat(os.path.join(box.root, "a", "b", "Grüße aus Köln.pdf")).st_mode & 0o7777 == 0o604,
          "file_mode")


def uu_block(name, data, mode="644"):
    """data as a uuencode(1) block with CR LF line ends (Python's binascii is the reference)."""
    out = "begin %s %s\r\n" % (mode, name)
    for i in range(0, len(data), 45):
        out += binascii.b2a_uu(data[i:i + 45]).decode().replace("\n", "\r\n")
    return out + "`\r\nend\r\n"


def crlf_message(body_parts):
    """A CR LF multipart/mixed message (as SMTP carries it) of (headers, body) parts."""
    out = ("From: scanner@client.test\r\nTo: scans@gw.test\r\nSubject: uu\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=outer\r\n\r\n")
    for hdrs, body in body_parts:
        out += "--outer\r\n" + hdrs + "\r\n\r\n" + body + "\r\n"
    return (out + "--outer--\r\n").encode("latin-1")


def test_uuencode(box):
    """uuencoded blocks in a text body and x-uuencode parts become files, byte-exact, in the sidecar."""
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 20
    tif = b"II*\x00" + os.urandom(3000)
    raw = bytes(range(256)) * 3
    body = "Hello,\r\nbegin the scan now\r\n" + uu_block("scan.pdf", pdf) + "and\r\n" + \
        uu_block("page 2.tif", tif, "0600") + "regards\r\n"
    msg = crlf_message([("Content-Type: text/plain; charset=us-ascii", body),
                        ("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode",
                         uu_block("part.dat", raw).rstrip("\r\n")),
                        ("Content-Type: application/octet-stream; name=named.bin\r\n"
                         "Content-Transfer-Encoding: uuencode", uu_block("other.bin", b"named").rstrip("\r\n"))])
    res = expect(box, msg, {"scan.pdf": pdf, "page 2.tif": tif, "part.dat": raw, "named.bin": b"named"})
    check("damaged" not in res, res)
    box.clear()
    box.run(msg, {"mode": "attachments", "sidecar": "message"})
    got = box.files()
    meta = json.loads(got[QID + ".json"])
    files = {f["name"]: f for f in meta["files"]}
    check(set(files) == {"scan.pdf", "page 2.tif", "part.dat", "named.bin"}, sorted(files))
    for name, data in (("scan.pdf", pdf), ("page 2.tif", tif), ("part.dat", raw), ("named.bin", b"named")):
        check(files[name]["sha256"] == sha(data) and files[name]["size"] == len(data), files[name])
    check(files["scan.pdf"]["content_type"] == "application/pdf", files["scan.pdf"])
    check(files["page 2.tif"]["content_type"] == "image/tiff", files["page 2.tif"])
    # A damaged line is skipped and noted; prose with "begin" is no file.
    lines = uu_block("hurt.bin", bytes(range(200))).split("\r\n")
    lines[2] = lines[2][:10] + "~~~~" + "\x01" + lines[2][15:]
    msg = crlf_message([("Content-Type: text/plain", "\r\n".join(lines))])
    res = expect(box, msg, {"hurt.bin": bytes(range(45)) + bytes(range(90, 200))},
                 note="hurt.bin: 1 damaged uuencoded lines skipped")
    msg = crlf_message([("Content-Type: text/plain", "begin 644 here\r\nis no end\r\n")])
    expect(box, msg, {QID + ".txt": b"begin 644 here\r\nis no end\r\n"})


def test_uu_bomb(box):
    """30,000 tiny uuencoded blocks: max_parts files, a note, in bounded time."""
    body = "".join("begin 644 f%d.bin\r\n!80``\r\n`\r\nend\r\n" % i for i in range(30000))
    msg = crlf_message([("Content-Type: text/plain", body)])
    box.clear()
    res = box.run(msg, {"mode": "attachments", "max_parts": "50"})
    got = box.files()
    check(res[0].startswith("done 250") and "uuencoded files after the first" in res[0], res[0])
    check(len(got) <= 50 and got.get("f0.bin") == b"a", "%d files" % len(got))
    check(box.elapsed < 20, "30,000 blocks took %.1fs" % box.elapsed)


def test_eml_exact(box):
    """An attached message/rfc822 is filed as .eml with the bytes it had (CR LF, folding, spacing)."""
    inner = ("From:   other@client.test\r\nSubject: fwd\r\n  folded  line\r\nX-Odd:no-space\r\n"
             "MIME-Version: 1.0\r\nContent-Type: multipart/mixed;\r\n\tboundary=\"in\"\r\n\r\n"
             "preamble\r\n--in\r\nContent-Type: text/plain\r\n\r\ninner body  \r\n--in\r\n"
             "Content-Type: application/pdf; name=inner.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             "JVBERiBpbm5lcgA=\r\n--in--\r\n")
    msg = crlf_message([("Content-Type: text/plain", "see attached"),
                        ("Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"fw.eml\"",
                         inner.rstrip("\r\n") + "\r\n")])
    expect(box, msg, {"fw.eml": inner.encode()}, {"messages": "file"})
    # Without a file name: the subject names it.
    msg = crlf_message([("Content-Type: message/rfc822", inner)])
    expect(box, msg, {"fwd  folded  line.eml": inner.encode()}, {"messages": "file"})


def test():
    check(os.access(RUN, os.X_OK), "%s built" % RUN)
    box = Box()
    ok = False
    try:
        test_built(box)
        test_fixed(box)
        test_malformed(box)
        test_collisions(box)
        test_templates_sidecar(box)
        test_safety(box)
        test_uuencode(box)
        test_uu_bomb(box)
        test_eml_exact(box)
        ok = True
    finally:
        if ok:
            box.done()
        else:
            print("kept %s" % box.dir, file=sys.stderr)


if __name__ == "__main__":
    main(test)
