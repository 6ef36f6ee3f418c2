#!/usr/bin/env python3
"""e2e_smtp_dsn - DSN handling, 8-bit conversion and cached sessions of the
smtp connector, against raw loopback servers and Postfix's smtp-sink.

Cases: DSN parameters (RET, ENVID, NOTIFY, ORCPT, xtext) passed to an
upstream that offers DSN, and no notice of our own for it; a "relayed"
notice (RFC 3461 4.1) when the upstream does not offer DSN; one "delayed"
notice (and only one) after delay_warning; a null-sender failure copied
to the postmaster, and dropped without a loop when the postmaster itself
fails; 8-bit text converted to quoted-printable for an upstream without
8BITMIME (decoded back with the email module), a non-text 8-bit part
refused with a permanent error; a cached session the upstream closed
while idle (with a 421 or without a word) is re-opened without failing
the job; a reused session's RSET goes in one write with MAIL, RCPT and
DATA to an upstream that offers PIPELINING (alone to one that does not),
and when that RSET fails the job goes to a new session, once, not failed.
"""
import email
import email.policy
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gwtest import Gateway, check, free_port, main, wait_for  # noqa: E402
from e2e_smtp_relay import files, run_cases  # noqa: E402


def smtp_conn(name, port, retry=None, **settings):
    s = {"hosts": "[127.0.0.1:%d]" % port, "helo": "gw.test", "host_skip": "1s",
         "timeouts": "{connect: 3s, greeting: 5s, command: 5s, data: 10s}"}
    s.update(settings)
    return {"name": name, "type": "smtp", "settings": s, "concurrency": 1,
            "retry": retry or {"min_backoff": "1s", "max_backoff": "1s"}}


def back_rule():
    """Mail to the senders' domain (the gateway's own notices) goes to 'back'."""
    return {"name": "senders", "recipient": "*@client.test", "connector": "back"}


def metas(d):
    return [json.load(open(f[:-4] + ".json")) for f in files(d, "*.raw")]


def raws(d):
    return [open(f, "rb").read() for f in files(d, "*.raw")]


def case_dsn_params(srv):
    dsn_port, plain_port, back_port = free_port(), free_port(), free_port()
    dsn_out = srv.python("dsn", dsn_port)
    plain_out = srv.python("raw", plain_port)
    back_out = srv.python("raw", back_port)
    conns = [smtp_conn("relay", dsn_port), smtp_conn("plain", plain_port),
             smtp_conn("back", back_port)]
    rules = [back_rule(), {"name": "d", "recipient": "*@dsn.test", "connector": "relay"},
             {"name": "p", "connector": "plain"}]
    gw = Gateway("smtp-dsn", connectors=conns, rules=rules).start()
    ok = False
    try:
        msg = b"From: sender@client.test\r\nSubject: dsn\r\n\r\nscan\r\n"
        with gw.smtp() as s:
            s.ehlo()
            check(s.has_extn("dsn"), "the receiver offers DSN")
            s.sendmail("sender@client.test", ["a@dsn.test"], msg,
                       mail_options=["RET=HDRS", "ENVID=env+2B1"],
                       rcpt_options=["NOTIFY=SUCCESS,FAILURE",
                                     "ORCPT=rfc822;orig+2Ba@client.test"])
            check(s.mail("sender@client.test", ["RET=HDRS", "ENVID=env2"])[0] == 250, "MAIL")
            check(s.rcpt("b@nodsn.test", ["NOTIFY=SUCCESS",
                                          "ORCPT=rfc822;orig-b@client.test"])[0] == 250, "RCPT")
            check(s.rcpt("c@nodsn.test")[0] == 250, "RCPT")
            check(s.data(msg)[0] == 250, "DATA")
        wait_for(lambda: files(dsn_out, "*.raw"), 20, "the message at the DSN upstream")
        cmds = metas(dsn_out)[0]["cmds"]
        check(cmds[0] == "MAIL FROM:<sender@client.test> RET=HDRS ENVID=env+2B1",
              "RET and ENVID (xtext) passed on: %r" % cmds)
        check(cmds[1] == "RCPT TO:<a@dsn.test> NOTIFY=SUCCESS,FAILURE "
              "ORCPT=rfc822;orig+2Ba@client.test", "NOTIFY and ORCPT passed on: %r" % cmds)
        wait_for(lambda: files(plain_out, "*.raw"), 20, "the message at the plain upstream")
        cmds = metas(plain_out)[0]["cmds"]
        check(cmds[0] == "MAIL FROM:<sender@client.test>" and
              all(c.startswith("RCPT TO:<") and c.endswith(">") for c in cmds[1:]),
              "no DSN parameters to an upstream without DSN: %r" % cmds)
        got = wait_for(lambda: raws(back_out), 20, "the relayed notice")
        time.sleep(2)  # a notice for the DSN upstream's recipient would come now
        check(len(raws(back_out)) == 1, "exactly one notice (none for a@dsn.test)")
        dsn = got[0].decode("ascii", "replace")
        check(metas(back_out)[0]["cmds"][:2] == ["MAIL FROM:<>", "RCPT TO:<sender@client.test>"],
              "the notice goes from <> to the sender: %r" % metas(back_out)[0])
        check("Action: relayed" in dsn and "Final-Recipient: rfc822; b@nodsn.test" in dsn,
              "Action: relayed for b@nodsn.test:\n" + dsn)
        check("Original-Recipient: rfc822;orig-b@client.test" in dsn, "ORCPT reported")
        check("Original-Envelope-Id: env2" in dsn, "ENVID reported")
        check("c@nodsn.test" not in dsn.split("message/delivery-status")[1],
              "no notice for a recipient without NOTIFY=SUCCESS")
        check("Status: 2." in dsn and "text/rfc822-headers" in dsn, "status and headers")
        check("a@dsn.test" not in dsn, "nothing about the DSN upstream's recipient")
        ok = True
    finally:
        gw.cleanup(ok)


def case_delay_warning(srv):
    sink_port, back_port = free_port(), free_port()
    srv.sink(sink_port, "-r", "RCPT")
    back_out = srv.python("raw", back_port)
    conns = [smtp_conn("relay", sink_port, retry={"min_backoff": "1s", "max_backoff": "1s",
                                                   "delay_warning": "2s"}),
             smtp_conn("back", back_port)]
    gw = Gateway("smtp-delay", connectors=conns,
                 rules=[back_rule(), {"name": "all", "connector": "relay"}]).start()
    ok = False
    try:
        with gw.smtp() as s:
            s.sendmail("sender@client.test", ["late@example.org"],
                       b"Subject: slow\r\n\r\nbody\r\n")
        got = wait_for(lambda: raws(back_out), 20, "the delay notice")
        dsn = got[0].decode("ascii", "replace")
        check("Action: delayed" in dsn and "Final-Recipient: rfc822; late@example.org" in dsn,
              "a delayed notice:\n" + dsn)
        check("Will-Retry-Until:" in dsn and "Status: 4." in dsn, "retry date and 4.x status")
        check("Delayed Mail" in dsn, "the subject says delayed")
        # several more attempts, still deferred, and no second notice
        wait_for(lambda: len(re.findall(r"to=<late@example\.org>.*status=deferred",
                                        gw.read_log())) >= 5, 20, "more attempts")
        time.sleep(1)
        check(len(raws(back_out)) == 1, "only one delay notice")
        def recorded():
            for f in gw.spool_files("deferred/relay"):
                try:
                    return b"param dsn-sent delayed" in open(f, "rb").read()
                except OSError:
                    pass  # being retried right now
            return False
        wait_for(recorded, 10, "the notice recorded in the deferred job")
        ok = True
    finally:
        gw.cleanup(ok)


def case_postmaster(srv):
    sink_port, back_port = free_port(), free_port()
    srv.sink(sink_port, "-f", "RCPT")
    back_out = srv.python("raw", back_port)
    conns = [smtp_conn("relay", sink_port), smtp_conn("back", back_port)]
    rules = [back_rule(), {"name": "all", "connector": "relay"}]
    gw = Gateway("smtp-postmaster", connectors=conns, rules=rules,
                 extra="postmaster: postmaster@client.test").start()
    ok = False
    try:
        with gw.smtp() as s:
            s.sendmail("", ["b@example.org"], b"Subject: a bounce\r\n\r\nsecret body\r\n")
        got = wait_for(lambda: raws(back_out), 20, "the postmaster copy")
        time.sleep(2)
        check(len(raws(back_out)) == 1, "one notice")
        check(metas(back_out)[0]["cmds"][:2] == ["MAIL FROM:<>", "RCPT TO:<postmaster@client.test>"],
              "to the postmaster from <>: %r" % metas(back_out)[0])
        dsn = got[0].decode("ascii", "replace")
        check("Action: failed" in dsn and "Final-Recipient: rfc822; b@example.org" in dsn,
              "the failure reported:\n" + dsn)
        check("text/rfc822-headers" in dsn and "Subject: a bounce" in dsn and
              "secret body" not in dsn, "the header only")
        log = gw.read_log()
        check(log.count("status=failed") == 1, "one failure")
        ok = True
    finally:
        gw.cleanup(ok)
    # the postmaster itself fails: dropped, no loop
    conns = [smtp_conn("relay", sink_port)]
    gw = Gateway("smtp-postmaster-loop", connectors=conns,
                 extra="postmaster: postmaster@example.org").start()
    ok = False
    try:
        with gw.smtp() as s:
            s.sendmail("", ["b@example.org"], b"Subject: a bounce\r\n\r\nbody\r\n")
        wait_for(lambda: re.search(r"to=<postmaster@example\.org>, relay=relay\[smtp\], "
                                   r".*status=failed", gw.read_log()), 20,
                 "the postmaster notice failed")
        time.sleep(2)
        log = gw.read_log()
        check(log.count("status=failed") == 2, "the failure and the failed notice:\n" + log)
        check(log.count("sender delivery status notification") == 1, "one notice made")
        check(not gw.spool_files("incoming") and not gw.spool_files("queue/relay") and
              not gw.spool_files("deferred/relay") and not gw.spool_files("failed/relay"),
              "nothing left in the spool")
        ok = True
    finally:
        gw.cleanup(ok)


TEXT_BODY = ("Scan from the 3rd floor: caf\u00e9, na\u00efve, \u20ac 12 = ok  \r\n"
             "tab at the end\t\r\n" + "\u00e9" * 120 + "\r\n.dot\r\n--not-a-boundary\r\n"
             ).encode("utf-8")


# converted, several times the connector's write buffer: pieces of the
# converter's output join what waits in the buffer in one write
BIG_BODY = TEXT_BODY * 300


def case_8bit(srv):
    port, back_port = free_port(), free_port()
    out = srv.python("raw7", port)
    back_out = srv.python("raw", back_port)
    conns = [smtp_conn("relay", port), smtp_conn("back", back_port)]
    gw = Gateway("smtp-8bit", connectors=conns,
                 rules=[back_rule(), {"name": "all", "connector": "relay"}]).start()
    ok = False
    try:
        top = (b"From: sender@client.test\r\nSubject: text\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n" + TEXT_BODY)
        multi = (b"From: sender@client.test\r\nSubject: multi\r\nMIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=\"XyZ\"\r\n\r\n"
                 b"--XyZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + BIG_BODY +
                 b"--XyZ\r\nContent-Type: application/pdf\r\n"
                 b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XyZ--\r\n")
        bad = (b"From: sender@client.test\r\nSubject: binary\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: 8bit\r\n\r\n\xff\xfe\r\n")
        with gw.smtp() as s:
            for m in (top, multi, bad):
                s.sendmail("sender@client.test", ["x@example.org"], m,
                           mail_options=["BODY=8BITMIME"])
        got = wait_for(lambda: len(raws(out)) >= 2 and raws(out), 20, "two converted messages")
        for data, meta in zip(got, metas(out)):
            check(max(data) < 0x80, "only 7-bit octets on the wire")
            check("BODY=8BITMIME" not in meta["cmds"][0], "no BODY=8BITMIME: %r" % meta)
            check(all(len(l) <= 78 for l in data.split(b"\r\n")), "short lines")
        wire = [email.message_from_bytes(d[:-3], policy=email.policy.compat32) for d in got]
        by_subject = {m["Subject"]: m for m in wire}
        t = by_subject["text"]
        check(t["Content-Transfer-Encoding"] == "quoted-printable", "top-level CTE rewritten")
        check(len(t.get_all("Content-Transfer-Encoding")) == 1, "one CTE field")
        check(t.get_payload(decode=True) == TEXT_BODY, "the text decodes to the original bytes")
        mp = by_subject["multi"].get_payload()
        # the CRLF before a boundary belongs to the boundary (RFC 2046 5.1.1)
        check(mp[0]["Content-Transfer-Encoding"] == "quoted-printable" and
              mp[0].get_payload(decode=True) == BIG_BODY[:-2],
              "the 8-bit part decodes back: %r" % mp[0].get_payload(decode=True))
        check(mp[1].get_payload(decode=True) == b"%PDF-1.4\n", "the base64 part untouched")
        dsn = wait_for(lambda: raws(back_out), 20, "the failure notice for the binary part")
        text = dsn[0].decode("ascii", "replace")
        check("Status: 5.6.3" in text and "cannot be converted" in text and
              "8BITMIME" in text, "a clear permanent error:\n" + text)
        check(len(raws(out)) == 2, "the unconvertible message was not sent")
        check("converted to quoted-printable" in gw.read_log(), "the conversion is logged")
        ok = True
    finally:
        gw.cleanup(ok)


def case_idle_session(srv):
    p421, psilent = free_port(), free_port()
    out421 = srv.python("raw", p421, "--idle", "3")
    outsil = srv.python("raw", psilent, "--idle-silent", "3")
    conns = [smtp_conn("relay", p421, idle_timeout="60s"),
             smtp_conn("other", psilent, idle_timeout="60s")]
    rules = [{"name": "o", "recipient": "*@other.test", "connector": "other"},
             {"name": "all", "connector": "relay"}]
    gw = Gateway("smtp-idle", connectors=conns, rules=rules).start()
    ok = False
    try:
        def one(to, n, subj):
            with gw.smtp() as s:
                s.sendmail("a@client.test", [to], b"Subject: %s\r\n\r\nbody\r\n" % subj)
        for to, out in (("x@example.org", out421), ("y@other.test", outsil)):
            one(to, 1, b"first")
            wait_for(lambda: len(files(out, "*.raw")) >= 1, 20, "the first message")
            one(to, 2, b"second")
            wait_for(lambda: len(files(out, "*.raw")) >= 2, 20, "the second message")
        time.sleep(4.5)  # longer than the upstreams' idle timeout
        for to, out in (("x@example.org", out421), ("y@other.test", outsil)):
            one(to, 3, b"third")
            wait_for(lambda: len(files(out, "*.raw")) >= 3, 20, "the third message")
            sess = [m["session"] for m in metas(out)]
            check(sess[0] == sess[1], "the first two share a session: %r" % sess)
            check(sess[2] != sess[1], "the third has a new session: %r" % sess)
        # a server stores the message before its reply: the worker logs after it
        wait_for(lambda: gw.read_log().count("status=sent") >= 6, 20, "six deliveries logged")
        log = gw.read_log()
        check("status=deferred" not in log, "no attempt failed:\n" + log)
        check(log.count("status=sent") == 6, "six sent")
        ok = True
    finally:
        gw.cleanup(ok)


def case_rset(srv):
    pp, pn = free_port(), free_port()
    outp = srv.python("raw", pp, "--rset-421", "2")
    outn = srv.python("nopipe", pn)
    conns = [smtp_conn("relay", pp, idle_timeout="60s"),
             smtp_conn("other", pn, idle_timeout="60s")]
    rules = [{"name": "o", "recipient": "*@other.test", "connector": "other"},
             {"name": "all", "connector": "relay"}]
    gw = Gateway("smtp-rset", connectors=conns, rules=rules).start()
    ok = False
    try:
        for to, out, n in (("x@example.org", outp, 3), ("y@other.test", outn, 2)):
            for i in range(1, n + 1):
                with gw.smtp() as s:
                    s.sendmail("a@client.test", [to], b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i))
                wait_for(lambda: len(files(out, "*.raw")) >= i, 20, "message %d to %s" % (i, to))
        wait_for(lambda: gw.read_log().count("status=sent") >= 5, 20, "five deliveries logged")
        time.sleep(1)
        m = metas(outp)
        check([x["session"] for x in m] == [1, 1, 2], "the third job, whose RSET got 421, "
              "went to a new session: %r" % m)
        check([x["rset"] for x in m] == [None, "pipelined", None],
              "RSET came in one write with MAIL on the reused session: %r" % m)
        got = raws(outp)
        check(len(got) == 3 and b"Subject: m3\r\n" in got[2] and got[2].endswith(b"\r\n.\r\n"),
              "each message stored once and whole: %r" % got)
        m = metas(outn)
        check([x["session"] for x in m] == [1, 1] and [x["rset"] for x in m] == [None, "alone"],
              "without PIPELINING, RSET waits for its reply: %r" % m)
        log = gw.read_log()
        check("status=deferred" not in log, "no attempt failed:\n" + log)
        check(log.count("status=sent") == 5, "five sent, no more")
        ok = True
    finally:
        gw.cleanup(ok)


def test():
    run_cases(case_dsn_params, case_delay_warning, case_postmaster, case_8bit,
              case_idle_session, case_rset)


if __name__ == "__main__":
    main(test)
