#!/usr/bin/env python3
"""e2e_notify - notices to the person who scanned (rules[].notify).

A rule fans scans out to two connectors (an SMTP upstream and a folder),
so a message's recipients end in two jobs of two workers; notices go
through a third connector to a real SMTP sink (aiosmtpd), which also
receives any DSN the gateway sends to the senders' domain.  Checked:
a success notice from the null sender with the template's subject and
the queue ID, document name and both destinations, only once every job
has ended; a failure notice with the upstream's reason and no DSN bounce
beside it (one mail for one failure); nothing for mail from the null
sender; a notice the sink refuses is not bounced and not notified (no
loop: the queue and notice/ empty, the sink gets nothing more); the
per-sender bound (max_per_hour) holds and is logged.
"""
import email
import email.policy
import os
import re
import shutil
import smtplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwtest import Gateway, check, free_port, main, wait_for  # noqa: E402
from e2e_smtp_relay import Servers, files  # noqa: E402

SUCCESS_TPL = ("Subject: Scan delivered: {subject}\n\n"
               "Hello {sender},\n\nyour scan {queue_id} ({documents}) arrived.\n\n"
               "{destinations}\n-- the scan gateway\n")
FAILURE_TPL = ("Subject: Scan NOT delivered: {subject}\n\n"
               "Queue ID {queue_id}: {result}.\nReason: {reason}\n\n{destinations}\n")



def delivery_line(log, qid, rcpt, connector, status):
    """Offset of the delivery log line (gatewayd(8), LOGGING) of rcpt through
    connector with status, for queue ID qid (any when None); -1 if none."""
    pat = re.compile(r"(%s): to=<%s>, relay=%s\[[a-z0-9_]+\], .*?status=%s \(" %
                     (re.escape(qid) if qid else "[0-9a-f]+", re.escape(rcpt),
                      re.escape(connector), re.escape(status)))
    m = pat.search(log)
    return m.start() if m else -1

def smtp_conn(name, port):
    s = {"hosts": "[127.0.0.1:%d]" % port, "helo": "gw.test", "host_skip": "1s",
         "timeouts": "{connect: 3s, greeting: 5s, command: 5s, data: 10s}"}
    return {"name": name, "type": "smtp", "settings": s, "concurrency": 1,
            "retry": {"min_backoff": "1s", "max_backoff": "1s", "lifetime": "1h"}}


def scan(frm, to, subject="Scan 42", name="scan.pdf"):
    body = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
            "scanned\r\n--b\r\nContent-Type: application/pdf\r\n"
            "Content-Disposition: attachment; filename=\"%s\"\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n" % (frm or "mfp@client.test", to, subject, name))
    return body.encode()


def send(gw, frm, to, msg):
    with smtplib.SMTP("127.0.0.1", gw.port, timeout=30) as s:
        s.sendmail(frm, [to], msg)


def mails(d):
    """[(envelope json, parsed message)] of a sink directory."""
    import json
    out = []
    for f in files(d, "*.eml"):
        meta = json.load(open(f[:-4] + ".json"))
        out.append((meta, email.message_from_bytes(open(f, "rb").read(), policy=email.policy.default)))
    return out


def test():
    srv = Servers()
    gw = None
    ok = False
    try:
        up_port, back_port = free_port(), free_port()
        up = srv.python("aiosmtpd", up_port, "--reject", "fail@dest.test")
        back = srv.python("aiosmtpd", back_port, "--reject", "refuse@client.test")
        tpl = os.path.join(srv.dir, "tpl")
        os.mkdir(tpl)
        os.chmod(tpl, 0o755)
        for name, text in (("success.txt", SUCCESS_TPL), ("failure.txt", FAILURE_TPL)):
            with open(os.path.join(tpl, name), "w") as f:
                f.write(text)
        conns = [smtp_conn("relay", up_port), smtp_conn("notices", back_port),
                 {"name": "archive", "type": "folder", "settings": {"path": None}}]
        rules = [{"name": "senders", "recipient": "*@client.test", "connector": "notices"},
                 {"name": "scans", "recipient": "*@dest.test", "connectors": ["relay", "archive"],
                  "notify": {"success": "yes", "failure": "yes", "connector": "notices",
                             "template_dir": tpl, "max_per_hour": 3}}]
        gw = Gateway("notify")
        conns[2]["settings"]["path"] = gw.mail
        gw.write_config(conns, rules, ["127.0.0.0/8", "::1"], ["gw.test", "dest.test"])
        gw.start()

        # 1. Success: one notice, once both jobs (relay and archive) ended.
        send(gw, "alice@client.test", "ok@dest.test", scan("alice@client.test", "ok@dest.test"))
        wait_for(lambda: len(mails(back)) >= 1, 30, "the success notice")
        meta, m = mails(back)[0]
        qid = str(m["X-Gatewayd-Notice"]).split("queue-id=")[-1]
        check(delivery_line(gw.read_log(), qid, "ok@dest.test", "relay", "sent") >= 0,
              "the notice names the scan's queue ID %s" % qid)
        check(meta["from"] in ("", "<>") and meta["to"] == ["alice@client.test"],
              "a notice comes from the null sender to the sender: %s" % meta)
        check(str(m["Subject"]) == "Scan delivered: Scan 42", "template subject: %r" % m["Subject"])
        check(m["X-Gatewayd-Notice"] == "success; queue-id=%s" % qid, m["X-Gatewayd-Notice"])
        check(m["Auto-Submitted"] == "auto-replied", "Auto-Submitted")
        text = m.get_content()
        check("Hello alice@client.test" in text and qid in text and "(scan.pdf)" in text, text)
        check(text.count("ok@dest.test: delivered (250") == 2, "both destinations listed: %s" % text)
        log = gw.read_log()
        check(0 <= delivery_line(log, qid, "ok@dest.test", "relay", "sent") <
              log.index("success notice to <alice@client.test>") and
              0 <= delivery_line(log, qid, "ok@dest.test", "archive", "sent") <
              log.index("success notice to"),
              "the notice waits for both jobs")

        # 2. Failure: the notice replaces the DSN (the sink would get both).
        send(gw, "carol@client.test", "fail@dest.test", scan("carol@client.test", "fail@dest.test",
                                                             subject="Invoice"))
        wait_for(lambda: len(mails(back)) >= 2, 30, "the failure notice")
        time.sleep(3)		# a DSN would be routed and relayed within this
        got = mails(back)
        check(len(got) == 2, "one mail for one failure, no DSN beside the notice: %s" %
              [str(x[1]["Subject"]) for x in got])
        meta, m = got[1]
        check(meta["to"] == ["carol@client.test"] and meta["from"] in ("", "<>"), meta)
        check(str(m["Subject"]) == "Scan NOT delivered: Invoice", m["Subject"])
        text = m.get_content()
        check("Reason: 550 5.1.1" in text and "no such user here" in text, text)
        check("fail@dest.test: failed (550 5.1.1" in text and "fail@dest.test: delivered (250" in text,
              "relay failed, archive delivered: %s" % text)

        # 3. Nothing for mail from the null sender.
        n0 = len(gw.read_log())
        send(gw, "", "ok@dest.test", scan(None, "ok@dest.test", subject="from nobody"))
        wait_for(lambda: gw.read_log()[n0:].count("to=<ok@dest.test>") >= 2, 30, "null-sender scan delivered")
        time.sleep(3)
        check(len(mails(back)) == 2, "no notice to the null sender")

        # 4. A notice the sink refuses: failed, not bounced, not notified.
        n0 = len(gw.read_log())
        send(gw, "refuse@client.test", "ok@dest.test", scan("refuse@client.test", "ok@dest.test"))
        wait_for(lambda: delivery_line(gw.read_log()[n0:], None, "refuse@client.test", "notices",
                                       "failed") >= 0,
                 30, "the refused notice failed")
        time.sleep(3)
        check(len(mails(back)) == 2, "nothing more reached the sink")
        tail = gw.read_log()[n0:]
        check(tail.count("notice to <") == 2, "one notice written and routed, no notice about it: %s" % tail)
        wait_for(lambda: not any(gw.spool_files(s) for s in ("queue", "active", "deferred", "failed")),
                 20, "an empty queue")
        nd = os.path.join(gw.spool, "notice")
        check(not os.path.isdir(nd) or os.listdir(nd) == [], "no notice records left: %s" %
              (os.listdir(nd) if os.path.isdir(nd) else []))

        # 5. The bound per sender: 3 an hour (alice had one already).
        n0 = len(gw.read_log())
        for i in range(4):
            send(gw, "alice@client.test", "ok@dest.test", scan("alice@client.test", "ok@dest.test",
                                                               subject="batch %d" % i))
        wait_for(lambda: gw.read_log()[n0:].count("notices in the last hour") >= 2, 40,
                 "the bound logged for the notices past it")
        time.sleep(2)
        to_alice = [x for x in mails(back) if x[0]["to"] == ["alice@client.test"]]
        check(len(to_alice) == 3, "3 notices an hour to alice: %d" % len(to_alice))
        check("no success notice to <alice@client.test>: 3 notices in the last hour (rule scans, "
              "notify.max_per_hour)" in gw.read_log(), "the log says why")
        ok = True
    finally:
        if gw:
            gw.cleanup(ok)
        srv.stop()
        shutil.rmtree(srv.dir, ignore_errors=True)


if __name__ == "__main__":
    main(test)
