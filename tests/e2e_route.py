#!/usr/bin/env python3
"""e2e_route - capture-and-route through the real daemon.

A fax one-off address reaches its connector with number, name and
company; a DID message reaches every user sharing the extension and an
unmatched one the default; a directive created with gatewayctl fans one
scanned message out to an e-mail recipient and a folder; an expired
directive is refused at RCPT with its reason; the routing sheet PDF reads back with
pdftotext/pdfinfo and its QR code decodes (zbarimg) to the directive ID.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

import gwtest
from gwtest import check, wait_for, record_file


def ctl_directive(gw, *args):
    cmd = [gwtest.GATEWAYCTL, "-c", gw.config, "directive"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr))
    return r.stdout


def admin_group_directives(gw, dirid):
    """A member of admin_group (nobody, group nogroup), who cannot open the
    store, manages directives through the daemon's control socket."""
    def as_nobody(*args):
        return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               gwtest.GATEWAYCTL, "-s", gw.sock, "directive"] + list(args),
                              capture_output=True, text=True, timeout=30)

    r = as_nobody("create", "--title", "Scans of the night shift", "--rcpt",
                  "email:night@example.com", "--param", "note=two words", "--rcpt", "folder:")
    check(r.returncode == 0, "create as an admin_group member: %d %r" % (r.returncode, r.stderr))
    nid = r.stdout.strip()
    check(len(nid) == 8 and nid.isalnum(), "new directive id %r" % nid)
    js = json.loads(as_nobody("--json", "show", nid).stdout)
    check(js["title"] == "Scans of the night shift" and js["owner"] == "nobody" and
          js["recipients"][0]["params"] == {"note": "two words"} and
          js["recipients"][1]["address"] == "", "arguments with spaces, owner from the socket: %r" % js)
    r = as_nobody("update", nid, "--keyword", "night", "--title", "")
    check(r.returncode == 0, "update: %r" % r.stderr)
    show = ctl_directive(gw, "show", nid)     # root reads the store itself
    check("keyword:   night" in show and "title:     \n" in show, "root sees the update: %r" % show)
    lst = as_nobody("list").stdout
    check(nid in lst and dirid in lst, "list through the daemon: %r" % lst)
    r = as_nobody("show", "NOSUCH99")
    check(r.returncode == 65 and "no such directive" in r.stderr,
          "unknown ID: exit %d %r" % (r.returncode, r.stderr))
    r = as_nobody("create", "--title", "x", "--bogus", "y")
    check(r.returncode == 64 and "--bogus" in r.stderr, "bad option: %d %r" % (r.returncode, r.stderr))
    out = tempfile.mkdtemp(prefix="gw-sheet-")
    os.chmod(out, 0o777)
    try:
        pdf = os.path.join(out, "night.pdf")
        r = as_nobody("sheet", dirid, "-o", pdf)
        check(r.returncode == 0, "sheet through the daemon: %r" % r.stderr)
        txt = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True,
                             timeout=30).stdout
        check("ED:%s" % dirid in txt and "Invoices to AP" in txt, "pdftotext: %s" % txt)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    check(as_nobody("delete", nid).returncode == 0, "delete through the daemon")
    check(nid not in ctl_directive(gw, "list"), "deleted for root too")


def records(path):
    """{(addr, what)} from the testconn record file, and param lines.

    testconn appends a delivery's lines in one write, the param lines of
    a recipient before its result line; a line without its newline (a
    write still in progress) is left for the next read."""
    out, params = set(), {}
    if not os.path.exists(path):
        return out, params
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break
            # addresses and values may hold spaces: "qid addr param k=v"
            _qid, _, rest = line.rstrip("\n").partition(" ")
            if " param " in rest:
                addr, _, kv = rest.partition(" param ")
                k, _, v = kv.partition("=")
                params.setdefault(addr, {})[k] = v
            else:
                addr, _, what = rest.rpartition(" ")
                out.add((addr, what))
    return out, params


def scanned(subject, to="scan@gw.test"):
    return ("From: mfp@client.test\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
            "Content-Type: text/plain\r\n\r\nScanned document.\r\n--XX\r\n"
            "Content-Type: application/pdf; name=scan.pdf\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n"
            % (to, subject)).encode()


def test():
    conndir = tempfile.mkdtemp(prefix="gw-route-conn-")
    os.chmod(conndir, 0o755)
    for src in (os.path.join(gwtest.TEST_CONNECTORS, "testconn.so"),
                os.path.join(gwtest.CONNECTORS, "folder.so")):
        shutil.copy(src, conndir)
        os.chmod(os.path.join(conndir, os.path.basename(src)), 0o755)
    gw = gwtest.Gateway("route", connectors=[{"name": "relay", "type": "testconn"}],
                        rules=[{"name": "all", "connector": "relay"}])
    ok = False
    try:
        rec = record_file(gw)
        did = os.path.join(gw.dir, "did.csv")
        with open(did, "w") as f:
            f.write("# extension,addresses\n1234,alice@example.com\n1234,bob@example.com\n"
                    "5678,carol@example.com\n")
        connectors = [
            {"name": "relay", "type": "testconn",
             "settings": {"record": rec, "record_params": "true"}},
            {"name": "fax", "type": "testconn",
             "settings": {"record": rec, "record_params": "true"}},
            {"name": "archive", "type": "folder", "settings": {"path": gw.mail}},
        ]
        rules = [
            {"name": "did-in", "type": "did", "lookup": "did"},
            {"name": "scan", "recipient": "scan@gw.test", "directive": "true"},
            {"name": "faxes", "type": "fax", "connector": "fax"},
            {"name": "mail", "recipient": "*@example.com", "connector": "relay"},
        ]
        extra = ("lookups:\n  - { name: did, path: %s, digits: 4, "
                 "default: operator@example.com }\n"
                 "directives: { channels: { email: relay, folder: archive } }\n"
                 "admin_group: nogroup\n" % did)
        gw.write_config(connectors, rules, ["127.0.0.0/8", "::1"], ["gw.test"], extra)
        with open(gw.config) as f:
            text = f.read()
        with open(gw.config, "w") as f:
            f.write(text.replace("connector_dir: %s" % gwtest.TEST_CONNECTORS,
                                 "connector_dir: %s" % conndir))
        r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", gw.config], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "gatewayd -n: %s%s" % (r.stdout, r.stderr))
        gw.start()

        # directives: one live (e-mail + folder), one expired
        dirid = ctl_directive(gw, "create", "--title", "Invoices to AP", "--owner", "jane",
                              "--rcpt", "email:ap@example.com",
                              "--rcpt", "folder:").strip()
        check(len(dirid) == 8 and dirid.isalnum(), "directive id %r" % dirid)
        oldid = ctl_directive(gw, "create", "--title", "Old", "--id", "OLD12345",
                              "--expires", "2000-01-01", "--rcpt", "email:x@example.com").strip()
        check(oldid == "OLD12345", "explicit id kept")
        js = ctl_directive(gw, "--json", "show", dirid)
        check('"channel":"folder"' in js and '"title":"Invoices to AP"' in js, "show --json: %s" % js)
        lst = ctl_directive(gw, "list")
        check(dirid in lst and "OLD12345" in lst, "list shows both: %s" % lst)

        s = gw.smtp()
        msg = ("From: a@client.test\r\nTo: \"Jane Doe\" <Jane_Doe/Acme_Inc/FAX=16038901957@gw.test>\r\n"
               "Subject: fax\r\n\r\nhello\r\n").encode()
        s.sendmail("a@client.test", ["Jane_Doe/Acme_Inc/FAX=16038901957@gw.test"], msg)
        msg = ("From: a@client.test\r\nTo: \"Bob Roe\" <\"FAX=+1 (603) 890-1958\"@gw.test>\r\n"
               "Subject: fax2\r\n\r\nhello\r\n").encode()
        s.sendmail("a@client.test", ['"FAX=+1 (603) 890-1958"@gw.test',
                                     "16038901959^COMPANY=Initech^NOCOVER@gw.test"], msg)
        s.sendmail("faxserver@client.test", ["DID=6035551234@gw.test", "DTMF=9999@gw.test"],
                   b"From: fax@client.test\r\nSubject: inbound fax\r\n\r\npage\r\n")
        s.sendmail("mfp@client.test", ["scan@gw.test"], scanned("Invoice [ED:%s]" % dirid))
        # the expired directive is refused at RCPT (smtp.rcpt_check), not bounced
        s.mail("mfp@client.test")
        code, resp = s.rcpt("ed-OLD12345@gw.test")
        check(code == 550 and b"expired on 2000-01-01" in resp,
              "expired directive refused at RCPT: %d %r" % (code, resp))
        s.rset()
        s.quit()

        def got_all():
            out, _ = records(rec)
            need = {("Jane_Doe/Acme_Inc/FAX=16038901957@gw.test", "ok"),
                    ('"FAX=+1 (603) 890-1958"@gw.test', "ok"),
                    ("16038901959^COMPANY=Initech^NOCOVER@gw.test", "ok"),
                    ("alice@example.com", "ok"), ("bob@example.com", "ok"),
                    ("operator@example.com", "ok"), ("ap@example.com", "ok")}
            return need <= out
        wait_for(got_all, 30, "every delivery in the record file")
        out, params = records(rec)
        p = params["Jane_Doe/Acme_Inc/FAX=16038901957@gw.test"]
        check(p.get("fax") == "16038901957" and p.get("name") == "Jane Doe"
              and p.get("company") == "Acme Inc" and p.get("type") == "fax", "fax params %r" % p)
        p = params['"FAX=+1 (603) 890-1958"@gw.test']
        check(p.get("fax") == "+16038901958" and p.get("name") == "Bob Roe",
              "quoted fax params (display name from To:) %r" % p)
        p = params["16038901959^COMPANY=Initech^NOCOVER@gw.test"]
        check(p.get("company") == "Initech" and p.get("flags") == "NOCOVER", "flags %r" % p)
        check(params["alice@example.com"].get("original") == "DID=6035551234@gw.test",
              "DID result keeps the original address")
        check(("carol@example.com", "ok") not in out, "only the extension's users")
        check(params["ap@example.com"].get("directive") == dirid, "directive param")
        wait_for(lambda: len(gw.delivered()) >= 1, 30, "the directive's folder copy")
        files = gw.delivered()
        check(any(b"Invoice [ED:%s]" % dirid.encode() in d for d in files.values()),
              "the scanned message is in the folder")
        check("550 5.1.1 directive ED:OLD12345 expired on 2000-01-01" in gw.read_log()
              and "to=<ed-OLD12345@gw.test>" in gw.read_log(), "refusal reason logged")
        show = ctl_directive(gw, "show", dirid)
        check("last used: -" not in show, "last used recorded: %s" % show)

        # routing sheet
        pdf = os.path.join(gw.dir, "sheet.pdf")
        ctl_directive(gw, "sheet", dirid, "-o", pdf)
        info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, timeout=30)
        check(info.returncode == 0 and re.search(r"^Pages:\s+1$", info.stdout, re.M),
              "pdfinfo: %s" % info.stdout)
        txt = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True, timeout=30).stdout
        check("ED:%s" % dirid in txt and "Invoices to AP" in txt and "ap@example.com" in txt,
              "pdftotext: %s" % txt)
        png = os.path.join(gw.dir, "sheet")
        subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", pdf, png],
                       check=True, timeout=60)
        z = subprocess.run(["zbarimg", "-q", "--raw", png + ".png"], capture_output=True,
                           text=True, timeout=60)
        check(z.stdout.strip() == dirid, "QR code decodes to %r" % z.stdout)

        ctl_directive(gw, "delete", "OLD12345")
        check("OLD12345" not in ctl_directive(gw, "list"), "deleted")
        if os.geteuid() == 0:
            admin_group_directives(gw, dirid)
        ok = True
    finally:
        gw.cleanup(ok)
        shutil.rmtree(conndir, ignore_errors=True)


if __name__ == "__main__":
    gwtest.main(test)
