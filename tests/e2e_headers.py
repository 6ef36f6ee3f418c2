#!/usr/bin/env python3
"""e2e_headers - headers and domains as people write them.

Subject and header rule conditions see RFC 2047-decoded UTF-8 (a
base64 UTF-8 and a Q ISO-8859-1 subject match "^Rechnung f\u00fcr", an
encoded X-Dept matches its header rule, a plain subject does not); an
[ED:id] inside an encoded subject reaches its directive; the encoded
display name of a fax one-off reaches the connector decoded; the local
domain b\u00fccher.example, configured as a U-label, is local both as its
A-label xn--bcher-kva.example and as the U-label in an SMTPUTF8 session
(fax one-offs parsed at both), from a client outside relay.allow, while
another domain is refused.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gwtest  # noqa: E402
from gwtest import check, main, record_file, wait_for  # noqa: E402
from e2e_route import ctl_directive, records, scanned  # noqa: E402


def message(to, subject, extra=""):
    return ("From: a@client.test\r\nTo: %s\r\nSubject: %s\r\n%s\r\nbody\r\n"
            % (to, subject, extra)).encode()


def test():
    conndir = tempfile.mkdtemp(prefix="gw-hdr-conn-")
    os.chmod(conndir, 0o755)
    shutil.copy(os.path.join(gwtest.TEST_CONNECTORS, "testconn.so"), conndir)
    os.chmod(os.path.join(conndir, "testconn.so"), 0o755)
    gw = gwtest.Gateway("hdr", connectors=[{"name": "relay", "type": "testconn"}])
    ok = False
    try:
        rec = record_file(gw)
        inv = rec + "-inv"
        open(inv, "w").close()
        os.chmod(inv, 0o666)
        connectors = [
            {"name": "relay", "type": "testconn", "settings": {"record": rec, "record_params": "true"}},
            {"name": "inv", "type": "testconn", "settings": {"record": inv, "record_params": "true"}},
        ]
        rules = [
            {"name": "scan", "recipient": "scan@gw.test", "directive": "true"},
            {"name": "faxes", "type": "fax", "connector": "relay"},
            {"name": "subj", "subject": "^Rechnung f\\u00fcr", "connector": "inv"},
            {"name": "hdr", "header": "X-Dept: ^B\\u00fcro$", "connector": "inv"},
            {"name": "all", "connector": "relay"},
        ]
        extra = "directives: { channels: { email: relay } }\n"
        # 127.0.0.1 is not in relay.allow: only local domains are accepted
        gw.write_config(connectors, rules, ["192.0.2.1"],
                        ["gw.test", '"b\\u00fccher.example"'], extra)
        with open(gw.config) as f:
            text = f.read()
        with open(gw.config, "w") as f:
            f.write(text.replace("connector_dir: %s" % gwtest.TEST_CONNECTORS,
                                 "connector_dir: %s" % conndir))
        gw.start()
        dirid = ctl_directive(gw, "create", "--title", "AP", "--rcpt",
                              "email:ap@gw.test").strip()

        s = gw.smtp()
        s.sendmail("a@client.test", ["a1@gw.test"], message(
            "a1@gw.test", "=?UTF-8?B?%s?=" % __import__("base64").b64encode(
                "Rechnung f\u00fcr M\u00e4rz".encode()).decode()))
        s.sendmail("a@client.test", ["a2@gw.test"], message(
            "a2@gw.test", "=?ISO-8859-1?Q?Rechnung_f=FCr_April?="))
        s.sendmail("a@client.test", ["a3@gw.test"], message("a3@gw.test", "Rechnung fur Mai"))
        s.sendmail("a@client.test", ["a4@gw.test"], message(
            "a4@gw.test", "hello", "X-Dept: =?UTF-8?Q?B=C3=BCro?=\r\n"))
        s.sendmail("mfp@client.test", ["scan@gw.test"],
                   scanned("=?UTF-8?Q?Scan_f=C3=BCr_[ED:%s]?=" % dirid))
        fax = "FAX=16035550100@xn--bcher-kva.example"
        s.sendmail("a@client.test", [fax], message(
            "=?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <%s>" % fax, "fax"))
        code, reply = s.docmd("MAIL FROM:<a@client.test>")
        check(code == 250, "MAIL")
        code, reply = s.docmd("RCPT TO:<x@other.example>")
        check(code == 550, "another domain refused from outside relay.allow: %d %s" % (code, reply))
        s.docmd("RSET")
        s.quit()

        s = gw.smtp()
        s.ehlo("client.test")
        check(s.has_extn("smtputf8"), "SMTPUTF8 offered")
        ufax = "FAX=16035550101@b\u00fccher.example"
        s.sendmail("a@client.test", [ufax], message("fax <x@gw.test>", "u-label"),
                   mail_options=["SMTPUTF8"])
        s.quit()

        def done():
            out, _ = records(rec)
            iout, _ = records(inv)
            return ({("a1@gw.test", "ok"), ("a2@gw.test", "ok"), ("a4@gw.test", "ok")} <= iout
                    and {("a3@gw.test", "ok"), ("ap@gw.test", "ok"), (fax, "ok"),
                         (ufax, "ok")} <= out)
        wait_for(done, 30, "every delivery in the record files")
        out, params = records(rec)
        iout, _ = records(inv)
        check(("a3@gw.test", "ok") not in iout, "a plain subject without \u00fc is not matched")
        check(params["ap@gw.test"].get("directive") == dirid, "ED in an encoded subject")
        p = params[fax]
        check(p.get("type") == "fax" and p.get("fax") == "16035550100"
              and p.get("name") == "J\u00fcrgen M\u00fcller",
              "A-label fax one-off with a decoded display name: %r" % p)
        p = params[ufax]
        check(p.get("type") == "fax" and p.get("fax") == "16035550101",
              "U-label fax one-off: %r" % p)
        ok = True
    finally:
        gw.cleanup(ok)
        shutil.rmtree(conndir, ignore_errors=True)


if __name__ == "__main__":
    main(test)
