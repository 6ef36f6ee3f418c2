#!/usr/bin/env python3
"""e2e_rcpt_check - recipients decided during the SMTP session.

The receiver asks the router at RCPT (smtp.rcpt_check): an unknown
directive, a recipient no rule routes and a reject rule are answered 550
with the reason; a rule that needs the message is decided after DATA;
quoted one-off fax forms are accepted from an anonymous client outside
relay.allow and routed; a directive restricted to a sender refuses
another sender and takes the allowed one; an anonymous client outside
relay.allow may not fan out to outside addresses through a directive
(directives.default_access: relay-equivalent) while a relay client may;
a lookup table that cannot be read gives 451 at RCPT, and with the check
off the message waits in incoming/ instead of being bounced.
"""
import os
import signal
import smtplib
import subprocess
import time

import gwtest
from gwtest import check, record_file, settle, wait_for

ANON = "127.0.0.1"      # outside relay.allow
RELAY = "127.0.0.2"     # inside relay.allow


def ctl_directive(gw, *args):
    cmd = [gwtest.GATEWAYCTL, "-c", gw.config, "directive"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr))
    return r.stdout


def session(gw, source, sender):
    s = smtplib.SMTP("127.0.0.1", gw.port, timeout=30, source_address=(source, 0))
    s.ehlo("mfp.test")
    code, resp = s.mail(sender)
    check(code == 250, "MAIL from %s: %d %r" % (source, code, resp))
    return s


def records(path):
    """{address: {param: value}} and the set of (address, result) lines."""
    out, params = set(), {}
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break
            _qid, _, rest = line.rstrip("\n").partition(" ")
            if " param " in rest:
                addr, _, kv = rest.partition(" param ")
                k, _, v = kv.partition("=")
                params.setdefault(addr, {})[k] = v
            else:
                addr, _, what = rest.rpartition(" ")
                out.add((addr, what))
    return out, params


def expect(s, rcpt, code, text, what):
    c, resp = s.rcpt(rcpt)
    check(c == code and text.encode() in resp, "%s: RCPT %s: %d %r" % (what, rcpt, c, resp))


def setup(gw, rec, did, rcpt_check="yes"):
    connectors = [
        {"name": "relay", "type": "testconn", "settings": {"record": rec, "record_params": "true"}},
        {"name": "fax", "type": "testconn", "settings": {"record": rec, "record_params": "true"}},
    ]
    rules = [
        {"name": "blocked", "recipient": "blocked@gw.test",
         "reject": "550 5.7.1 scans to this address are not accepted"},
        {"name": "invoices", "recipient": "content@gw.test", "subject": "^Invoice",
         "connector": "relay"},
        {"name": "not-invoices", "recipient": "content@gw.test", "reject": "only invoices here"},
        {"name": "scan", "recipient": "scan@gw.test", "directive": "true"},
        {"name": "did-in", "type": "did", "lookup": "did"},
        {"name": "faxes", "type": "fax", "connector": "fax"},
        {"name": "mail", "recipient": "*@example.com", "connector": "relay"},
        {"name": "local", "recipient": "*@gw.test", "type": "email", "connector": "relay"},
    ]
    extra = ("lookups:\n  - { name: did, path: %s, digits: 4 }\n"
             "directives: { channels: { email: relay, fax: fax } }\n" % did)
    gw.write_config(connectors, rules, [RELAY], ["gw.test"], extra,
                    {"rcpt_check": rcpt_check, "rcpt_check_timeout": "5s"})


def test():
    gw = gwtest.Gateway("rcptcheck", connectors=[{"name": "relay", "type": "testconn"}],
                        rules=[{"name": "all", "connector": "relay"}])
    ok = False
    try:
        rec = record_file(gw)
        did = os.path.join(gw.dir, "did.csv")
        with open(did, "w") as f:
            f.write("1234,alice@example.com\n")
        os.chmod(did, 0o644)
        setup(gw, rec, did)
        r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", gw.config], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "gatewayd -n: %s%s" % (r.stdout, r.stderr))
        gw.start()
        restr = ctl_directive(gw, "create", "--title", "AP", "--id", "RESTR001",
                              "--rcpt", "email:ap@example.com",
                              "--allow-sender", "boss@client.test").strip()
        check(restr == "RESTR001", "restricted directive created: %r" % restr)
        show = ctl_directive(gw, "show", "RESTR001")
        check("senders:   boss@client.test" in show, "show lists the allowed sender: %r" % show)
        ctl_directive(gw, "create", "--title", "Out", "--id", "EXTERN01",
                      "--rcpt", "email:out@example.com")
        ctl_directive(gw, "create", "--title", "Fax", "--id", "FAXONLY1",
                      "--rcpt", "fax:+16035550100", "--rcpt", "email:desk@gw.test")
        show = ctl_directive(gw, "show", "EXTERN01")
        check("allowed:   (directives.default_access)" in show, "default access shown: %r" % show)

        # 550 at RCPT with the reason, from an anonymous client
        s = session(gw, ANON, "mfp@client.test")
        expect(s, "ed-NOSUCH99@gw.test", 550, "unknown directive ED:NOSUCH99", "unknown directive")
        expect(s, "nobody@elsewhere.gw.test", 550, "relaying denied", "relay control first")
        expect(s, "blocked@gw.test", 550, "5.7.1 scans to this address are not accepted",
               "reject rule")
        expect(s, "DID=6035559999@gw.test", 550, "no entry for 9999 in lookup did",
               "lookup without an entry")
        expect(s, "ed-EXTERN01@gw.test", 550, "relaying denied for this client",
               "anonymous fan-out to an outside address")
        expect(s, "ed-RESTR001@gw.test", 550, "may not be used by this sender",
               "restricted directive, other sender")
        # accepted: quoted fax forms, a directive that stays inside, content rule
        expect(s, '"FAX=+1 (603) 890-1957"@gw.test', 250, "", "quoted fax form")
        expect(s, '"Jane Doe/FAX=16038901958"@gw.test', 250, "", "quoted name/fax form")
        expect(s, "ed-FAXONLY1@gw.test", 250, "", "directive to fax and a local address")
        expect(s, "content@gw.test", 250, "", "content rule: decided after DATA")
        code, resp = s.data(b"From: mfp@client.test\r\nSubject: Invoice 42\r\n\r\nscan\r\n")
        check(code == 250, "DATA: %d %r" % (code, resp))
        s.quit()

        s = session(gw, ANON, "boss@client.test")
        expect(s, "ed-RESTR001@gw.test", 250, "", "restricted directive, allowed sender")
        check(s.data(b"Subject: ap\r\n\r\nscan\r\n")[0] == 250, "DATA from the allowed sender")
        s.quit()
        # every rule refuses it by its content: 550 after the dot, not a bounce
        s = session(gw, ANON, "mfp@client.test")
        expect(s, "content@gw.test", 250, "", "content rule at RCPT")
        code, resp = s.data(b"From: mfp@client.test\r\nSubject: holiday photos\r\n\r\nscan\r\n")
        check(code == 550 and b"5.7.1 only invoices here" in resp,
              "refused after the dot: %d %r" % (code, resp))
        check(s.mail("mfp@client.test")[0] == 250, "the session goes on")
        s.rset()
        s.quit()
        check("reject: message from [127.0.0.1] after DATA: 550 5.7.1 only invoices here"
              in gw.read_log(), "the refusal after DATA logged")
        check(gw.spool_files("receive") == [], "nothing left in receive/")

        s = session(gw, RELAY, "mfp@client.test")
        expect(s, "ed-EXTERN01@gw.test", 250, "", "relay client may fan out")
        expect(s, "nobody@gw.test", 250, "", "local e-mail rule")
        expect(s, "7@elsewhere.example", 550, "no route for recipient", "no rule routes it")
        check(s.data(b"Subject: out\r\n\r\nscan\r\n")[0] == 250, "DATA from the relay client")
        s.quit()

        def got_all():
            out, _ = records(rec)
            return {('"FAX=+1 (603) 890-1957"@gw.test', "ok"),
                    ('"Jane Doe/FAX=16038901958"@gw.test', "ok"), ("+16035550100", "ok"),
                    ("desk@gw.test", "ok"), ("content@gw.test", "ok"),
                    ("ap@example.com", "ok"), ("out@example.com", "ok"),
                    ("nobody@gw.test", "ok")} <= out
        wait_for(got_all, 30, "every accepted recipient delivered")
        _, params = records(rec)
        p = params['"FAX=+1 (603) 890-1957"@gw.test']
        check(p.get("fax") == "+16038901957" and p.get("type") == "fax", "fax params %r" % p)
        p = params['"Jane Doe/FAX=16038901958"@gw.test']
        check(p.get("fax") == "16038901958" and p.get("name") == "Jane Doe", "name/fax %r" % p)
        check("to=<ed-NOSUCH99@gw.test>" in gw.read_log(), "RCPT refusal logged")

        # a lookup table that cannot be read: 451 at RCPT, never a bounce
        os.unlink(did)
        router = [p for p, argv in gw.children().items()
                  if argv and argv[0].endswith("gatewayd-router")]
        check(len(router) == 1, "one router: %r" % gw.children())
        os.kill(router[0], signal.SIGKILL)
        wait_for(lambda: gw.read_log().count("its recipients are deferred") >= 1, 30,
                 "the restarted router without its table")

        def answer():
            s = session(gw, ANON, "mfp@client.test")
            try:
                return s.rcpt("DID=6035551234@gw.test")
            finally:
                s.quit()
        code, resp = settle(answer, lambda v: v[0] == 451, 30, interval=0.5)
        check(code == 451 and b"4.3.0" in resp, "lookup unavailable: 451 at RCPT: %d %r" % (code, resp))

        # the same with the check off: accepted, then deferred in incoming/
        setup(gw, rec, did, rcpt_check="no")
        os.kill(gw.proc.pid, signal.SIGHUP)
        wait_for(lambda: gw.read_log().count("its recipients are deferred") >= 2, 30,
                 "the reloaded router without its table")
        s = session(gw, ANON, "mfp@client.test")
        expect(s, "DID=6035551234@gw.test", 250, "", "no check: accepted")
        check(s.data(b"Subject: fax in\r\n\r\npage\r\n")[0] == 250, "DATA with the check off")
        s.quit()
        wait_for(lambda: "status=deferred (451 4.3.0 lookup table unavailable)" in gw.read_log(),
                 30, "the routing deferred")
        time.sleep(1)
        check(len(gw.spool_files("incoming")) == 1, "the message waits in incoming/: %r" %
              gw.spool_files("incoming"))
        check("status=failed" not in gw.read_log(), "nothing failed or bounced")
        out, _ = records(rec)
        check(not any(a.startswith("mfp@") for a, _ in out), "no notice to the sender: %r" % out)
        ok = True
    finally:
        gw.stop()
        gw.cleanup(ok)


if __name__ == "__main__":
    gwtest.main(test)
