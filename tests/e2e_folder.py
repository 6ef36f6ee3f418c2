#!/usr/bin/env python3
"""End to end: swaks --attach sends a PDF and a two-page TIFF (both made
here) through the real daemon to a folder connector in attachments mode
with path and file name templates and a JSON sidecar; both files are found
under the templated path, byte-identical, with the sidecar naming their
SHA-256.  Run as root, the worker is unprivileged and the configured group
(nogroup) reaches the files through the set-group-ID root directory."""
import grp
import hashlib
import binascii
import json
import os
import re
import shutil
import struct
import smtplib
import subprocess
import time

from gwtest import Gateway, check, main, run_user, wait_for


def make_pdf():
    """A minimal valid one-page PDF, cross-reference offsets computed."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def make_tiff(pages=2, w=64, h=32):
    """A little-endian, uncompressed, bilevel TIFF with several pages."""
    row = (w + 7) // 8
    out = bytearray(b"II*\x00\x00\x00\x00\x00")
    prev_next = 4
    for p in range(pages):
        strip = bytes((p * 37 + y) & 0xff for y in range(row * h))
        data_off = len(out)
        out += strip
        if len(out) % 2:
            out += b"\x00"
        ifd_off = len(out)
        struct.pack_into("<I", out, prev_next, ifd_off)
        tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, 1), (259, 3, 1, 1),
                (262, 3, 1, 0), (273, 4, 1, data_off), (277, 3, 1, 1),
                (278, 3, 1, h), (279, 4, 1, len(strip)), (297, 3, 2, p | (pages << 16))]
        out += struct.pack("<H", len(tags))
        for tag, typ, cnt, val in tags:
            if typ == 3 and cnt == 1:
                out += struct.pack("<HHIHH", tag, typ, cnt, val, 0)
            else:
                out += struct.pack("<HHII", tag, typ, cnt, val)
        prev_next = len(out)
        out += b"\x00\x00\x00\x00"
    return bytes(out)


def sha(b):
    return hashlib.sha256(b).hexdigest()


def uu_block(name, data):
    """data as a uuencode(1) block (Python's binascii is the reference encoder)."""
    out = "begin 644 %s\n" % name
    for i in range(0, len(data), 45):
        out += binascii.b2a_uu(data[i:i + 45]).decode()
    return out + "`\nend\n"


def uu_and_eml(gw, sub, year):
    """Through SMTP: a uuencoded file in the text body and an attached message, filed byte-exact."""
    data = bytes(range(256)) * 8
    inner = ("From: other@client.test\r\nSubject: inner\r\n  folded\r\nMIME-Version: 1.0\r\n"
             "Content-Type: text/plain\r\n\r\nforwarded body\r\n")
    msg = ("From: mfp2@client.test\r\nTo: scans@gw.test\r\nSubject: uu\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n"
           "Here it is:\r\n" + uu_block("old scan.pdf", data).replace("\n", "\r\n") +
           "\r\n--b1\r\nContent-Type: message/rfc822\r\n"
           "Content-Disposition: attachment; filename=fwd.eml\r\n\r\n" + inner + "\r\n--b1--\r\n")
    with smtplib.SMTP("127.0.0.1", gw.port, timeout=30) as s:
        s.sendmail("mfp2@client.test", ["scans@gw.test"], msg.encode())
    wait_for(lambda: "delivered 2 files" in gw.read_log().split("mfp1")[-1] and
             any(n.startswith("mfp2-") and n.endswith(".eml") for n in os.listdir(sub)), 30,
             "the second message filed")
    names = [n for n in os.listdir(sub) if n.startswith("mfp2-")]
    got = {}
    for n in names:
        with open(os.path.join(sub, n), "rb") as f:
            got[n] = f.read()
    check(got.get("mfp2-1-old scan.pdf") == data, "uuencoded file byte-identical: %s" % sorted(got))
    check(got.get("mfp2-2-fwd.eml") == inner.encode(), "attached message byte-exact: %r" % got.get("mfp2-2-fwd.eml"))
    side = [n for n in os.listdir(sub) if n.endswith(".json")]
    metas = [json.loads(open(os.path.join(sub, n), "rb").read()) for n in side]
    files = {f["name"]: f for m in metas for f in m["files"]}
    check(files["mfp2-1-old scan.pdf"]["sha256"] == sha(data) and
          files["mfp2-2-fwd.eml"]["sha256"] == sha(inner.encode()), files)
    check(files["mfp2-1-old scan.pdf"]["content_type"] == "application/pdf", files["mfp2-1-old scan.pdf"])


def redelivered_once(gw, sub):
    """A job handed to the connector again after it had written (as after
    a crash between the connector's answer and the job's removal: the job
    file put back into the spool) is not written twice: the delivery
    journal says "already delivered"."""
    gw.ctl("pause", "delivery", "archive")
    with gw.smtp() as s:
        s.sendmail("mfp3@client.test", ["scans@gw.test"],
                   b"Subject: again\r\nMessage-ID: <again@client.test>\r\n\r\nonce\r\n")
    queued = os.path.join(gw.spool, "queue", "archive")
    wait_for(lambda: os.path.isdir(queued) and os.listdir(queued), 30, "the job queued")
    qid = os.listdir(queued)[0]
    saved = {}
    for p in (os.path.join(queued, qid), os.path.join(gw.spool, "data", qid + ".archive")):
        with open(p, "rb") as f:
            saved[p] = (f.read(), os.stat(p))
    before = set(os.listdir(sub))
    gw.ctl("resume", "delivery", "archive")
    wait_for(lambda: "%s: to=<scans@gw.test>" % qid in gw.read_log() and
             not os.path.exists(os.path.join(queued, qid)), 30, "the job delivered")
    mine = sorted(n for n in set(os.listdir(sub)) - before if not n.startswith("."))
    check(len(mine) == 2, "one copy (text and sidecar): %s" % mine)
    gw.stop()
    for p, (data, st) in saved.items():     # back as the crash left it
        with open(p, "wb") as f:
            f.write(data)
        os.chown(p, st.st_uid, st.st_gid)
        os.chmod(p, st.st_mode & 0o7777)
    gw.start()
    wait_for(lambda: re.search(r"%s: .*already delivered" % qid, gw.read_log()) and
             not os.path.exists(os.path.join(queued, qid)), 30,
             "the job handed over again and ended")
    again = sorted(n for n in set(os.listdir(sub)) - before if not n.startswith("."))
    check(again == mine, "nothing written again: %s, was %s" % (again, mine))
    check(not [n for n in os.listdir(sub) if n.startswith(".gw-tmp.")], "no temporary file")
    check(len(re.findall(r"%s: to=<scans@gw.test>.*status=sent" % qid, gw.read_log())) == 2,
          "the second attempt also sent (a no-op)")


def test():
    gw = None
    ok = False
    root_run = run_user() is not None
    settings = {"path": None, "mode": "attachments",
                "path_template": '"{rcpt_local}/%Y/{fax|nofax}"',
                "file_template": '"{sender_local}-{counter}-{file}{ext}"',
                "sidecar": "message", "sidecar_template": '"{qid}.json"',
                "charset": "windows", "file_mode": "0640", "dir_mode": "0750", "messages": "file"}
    if root_run:
        settings["group"] = "nogroup"
    try:
        gw = Gateway("folder")
        settings["path"] = gw.mail
        gw.write_config([{"name": "archive", "type": "folder", "settings": settings}],
                        [{"name": "all", "connector": "archive"}],
                        ["127.0.0.0/8", "::1"], ["gw.test"])
        pdf, tif = make_pdf(), make_tiff()
        check(tif[:4] == b"II*\x00" and pdf.startswith(b"%PDF-1.4"), "test files made")
        work = os.path.join(gw.dir, "att")
        os.mkdir(work)
        paths = {}
        for name, data in (("Scan 2025.pdf", pdf), ("pages.tiff", tif)):
            paths[name] = os.path.join(work, name)
            with open(paths[name], "wb") as f:
                f.write(data)
        gw.start()
        if shutil.which("swaks") is None:
            raise SystemExit(77)
        r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(gw.port),
                            "--from", "mfp1@client.test", "--to", "scans@gw.test",
                            "--helo", "mfp1.client.test", "--header", "Subject: Scan",
                            "--body", "Scanned on MFP1",
                            "--attach-type", "application/pdf", "--attach", "@" + paths["Scan 2025.pdf"],
                            "--attach-type", "image/tiff", "--attach", "@" + paths["pages.tiff"]],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "swaks failed: %s %s" % (r.stdout[-800:], r.stderr[-400:]))
        year = time.strftime("%Y")
        sub = os.path.join(gw.mail, "scans", year, "nofax")
        def visible():
            return sorted(n for n in os.listdir(sub) if not n.startswith(".")) if os.path.isdir(sub) else []
        # The sidecar is written last; the delivery is done when the log says so.
        wait_for(lambda: len(visible()) >= 3 and "delivered 2 files" in gw.read_log(), 30,
                 "three files under %s" % sub)
        names = visible()
        check(len(names) == 3, "files: %s" % names)
        got = {}
        for n in names:
            with open(os.path.join(sub, n), "rb") as f:
                got[n] = f.read()
        check(got.get("mfp1-1-Scan 2025.pdf") == pdf, "PDF byte-identical under %s: %s" % (sub, names))
        check(got.get("mfp1-2-pages.tiff") == tif, "TIFF byte-identical under %s: %s" % (sub, names))
        qids = [n[:-5] for n in names if n.endswith(".json")]
        check(len(qids) == 1, "one sidecar: %s" % names)
        meta = json.loads(got[qids[0] + ".json"])
        check(meta["queue_id"] == qids[0] and meta["client_address"] == "127.0.0.1", meta)
        check(meta["sender"] == "mfp1@client.test" and meta["recipients"] == ["scans@gw.test"], meta)
        check(meta["helo"] == "mfp1.client.test" and meta["subject"] == "Scan", meta)
        check(meta["directory"] == "scans/%s/nofax" % year, meta["directory"])
        files = {f["name"]: f for f in meta["files"]}
        check(files["mfp1-1-Scan 2025.pdf"]["sha256"] == sha(pdf) and
              files["mfp1-2-pages.tiff"]["sha256"] == sha(tif) and
              files["mfp1-2-pages.tiff"]["size"] == len(tif) and
              files["mfp1-1-Scan 2025.pdf"]["original_name"] == "Scan 2025.pdf", meta["files"])
        st = os.stat(os.path.join(sub, "mfp1-1-Scan 2025.pdf"))
        check(st.st_mode & 0o777 == 0o640, "file mode 0640")
        check(os.stat(sub).st_mode & 0o777 == 0o750, "directory mode 0750")
        if root_run:
            import pwd
            gid = grp.getgrnam("nogroup").gr_gid
            check(st.st_uid == pwd.getpwnam(run_user()).pw_uid, "file owned by the run user")
            check(st.st_gid == gid and os.stat(sub).st_gid == gid, "group nogroup inherited")
        log = gw.read_log()
        check("delivered 2 files to %s/scans/%s/nofax" % (os.path.realpath(gw.mail), year) in log,
              "result text in the log")
        uu_and_eml(gw, sub, year)
        redelivered_once(gw, sub)
        ok = True
    finally:
        if gw:
            gw.cleanup(ok)


if __name__ == "__main__":
    main(test)
