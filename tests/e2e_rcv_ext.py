#!/usr/bin/env python3
"""ESMTP extensions of the receiver: DSN parameters (NOTIFY, ORCPT, RET,
ENVID) kept in the envelope, SMTPUTF8 addresses, CHUNKING/BDAT (chunks, LAST, refused chunks
skipped in sync, DATA after BDAT refused), and each extension switched off
per listener."""
import glob
import os

from gwtest import Gateway, check, main, wait_for, strip_received
from rawsmtp import Raw


def test():
    conn = [{"name": "tc", "type": "testconn"}]
    gw = Gateway("rcvext", connectors=conn, relay_allow=["127.0.0.0/8"])
    ok = False
    try:
        gw.start()
        c = Raw(gw.port)
        code, text = c.cmd("EHLO c.test")
        for ext in (b"DSN", b"SMTPUTF8", b"CHUNKING"):
            check(ext in text, "%s advertised: %r" % (ext, text))
        # DSN: a recipient that fails temporarily keeps the data file around
        check(c.cmd("MAIL FROM:<mfp@client.test> RET=HDRS ENVID=scan+2B42")[0] == 250, "MAIL with RET/ENVID")
        code, text = c.cmd("RCPT TO:<temp1@gw.test> NOTIFY=failure,delay ORCPT=rfc822;Temp1+40gw.test")
        check(code == 250, "RCPT with NOTIFY/ORCPT: %d %r" % (code, text))
        code, text = c.cmd("RCPT TO:<temp2@gw.test> NOTIFY=NEVER,SUCCESS")
        check(code == 501, "NEVER with others refused: %d %r" % (code, text))
        code, text = c.cmd("RCPT TO:<temp2@gw.test> ORCPT=rfc822;bad+zz")
        check(code == 501, "bad xtext refused: %d %r" % (code, text))
        c.cmd("DATA")
        code, text = c.cmd(b"Subject: dsn\r\n\r\nbody\r\n.")
        check(code == 250, "DSN message: %d %r" % (code, text))
        qid = text.split()[-1].decode()

        def envelope():
            for f in glob.glob(os.path.join(gw.spool, "**", qid + "*"), recursive=True):
                try:
                    with open(f, "rb") as fh:
                        head = fh.read(4096).split(b"\nend\n")[0]
                except FileNotFoundError:
                    continue  # moved on (incoming/ -> queue/) since the glob
                if b"\nret " in head:
                    return head
            return None
        env = wait_for(envelope, 20, "the envelope of %s" % qid)
        for want in (b"\nret HDRS", b"\nenvid scan+42", b"param notify FAILURE,DELAY",
                     b"param orcpt rfc822;Temp1@gw.test"):
            check(want in env.replace(b"\\x2b", b"+").replace(b"\\x2B", b"+"), "%r in %r" % (want, env))

        # SMTPUTF8
        code, text = c.cmd("MAIL FROM:<j\u00fcrgen@client.test>")
        check(code == 553 and b"5.6.7" in text, "8-bit sender without SMTPUTF8: %d %r" % (code, text))
        check(c.cmd("MAIL FROM:<j\u00fcrgen@client.test> SMTPUTF8")[0] == 250, "SMTPUTF8 sender")
        check(c.cmd("RCPT TO:<ok-\u00e9@gw.test>")[0] == 250, "UTF-8 recipient")
        c.cmd("DATA")
        check(c.cmd(b"Subject: utf8\r\n\r\nbody\r\n.")[0] == 250, "SMTPUTF8 message")

        # BDAT in three chunks, one with a line starting with a dot
        body = b"Subject: bdat\r\n\r\n.dot line kept\r\nsecond\r\n"
        check(c.cmd("MAIL FROM:<mfp@client.test>")[0] == 250, "MAIL for BDAT")
        check(c.cmd("RCPT TO:<ok-bdat@gw.test>")[0] == 250, "RCPT for BDAT")
        c.send(b"BDAT 10\r\n" + body[:10] + b"BDAT %d\r\n" % (len(body) - 10) + body[10:])
        check(c.reply()[0] == 250 and c.reply()[0] == 250, "two chunks")
        code, text = c.cmd("DATA")
        check(code == 503, "DATA after BDAT refused: %d" % code)
        code, text = c.cmd("BDAT 0 LAST")
        check(code == 250 and b"queued as" in text, "BDAT LAST: %d %r" % (code, text))
        c.send(b"BDAT 5\r\nhello")
        code, text = c.reply()
        check(code == 503, "BDAT without MAIL: %d %r" % (code, text))
        check(c.cmd("NOOP")[0] == 250, "in sync after the refused chunk")
        c.close()
        gw.stop()

        # every extension switched off
        gw2 = Gateway("rcvext2", relay_allow=["127.0.0.0/8"],
                      listener={"dsn": "no", "smtputf8": "no", "chunking": "no"})
        try:
            gw2.start()
            c = Raw(gw2.port)
            code, text = c.cmd("EHLO c.test")
            for ext in (b"DSN", b"SMTPUTF8", b"CHUNKING"):
                check(ext not in text, "%s not advertised: %r" % (ext, text))
            check(c.cmd("MAIL FROM:<a@client.test> RET=FULL")[0] == 555, "RET refused")
            check(c.cmd("MAIL FROM:<a@client.test> SMTPUTF8")[0] == 555, "SMTPUTF8 refused")
            check(c.cmd("BDAT 0 LAST")[0] == 502, "BDAT refused")
            c.close()
        finally:
            gw2.cleanup(True)
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
