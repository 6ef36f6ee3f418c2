#!/usr/bin/env python3
"""Relay control: a client outside the allow-list gets 5.7.1 for a foreign
domain but may send to a local domain; a client inside it may relay."""
import smtplib

from gwtest import Gateway, check, main, wait_for


def test():
    # 127.0.0.1 is NOT in the allow-list here; only a documentation network.
    gw = Gateway("relayctl", relay_allow=["192.0.2.0/24"], local_domains=["gw.test"])
    ok = False
    try:
        gw.start()
        s = gw.smtp()
        s.ehlo("outsider.test")
        code, _ = s.mail("a@outsider.test")
        check(code == 250, "MAIL accepted")
        code, resp = s.rcpt("victim@foreign.example")
        check(code == 550 and resp.startswith(b"5.7.1"), "foreign domain refused with 550 5.7.1: %r" % resp)
        for hidden in ("user%ext.example@gw.test", '"user@ext.example"@gw.test', "ext.example!user@gw.test"):
            code, resp = s.rcpt(hidden)
            check(code >= 500 and b"5." in resp[:6], "hidden relay form %s refused: %d %r" % (hidden, code, resp))
        code, resp = s.rcpt("scans@gw.test")
        check(code == 250, "local domain accepted from anyone: %d %r" % (code, resp))
        code, resp = s.rcpt("SCANS2@GW.TEST")
        check(code == 250, "local domain is case-insensitive")
        code, resp = s.data(b"Subject: local\r\n\r\nhello\r\n")
        check(code == 250, "DATA accepted for local recipients")
        s.quit()
        wait_for(lambda: len(gw.delivered()) == 1, 30, "the local message delivered")

        # Now the client is inside the allow-list: relaying is fine.
        gw.stop()
        gw2 = Gateway("relayctl2", relay_allow=["127.0.0.0/8"])
        try:
            gw2.start()
            s = gw2.smtp()
            s.ehlo("mfp.test")
            s.mail("scanner@mfp.test")
            code, resp = s.rcpt("someone@foreign.example")
            check(code == 250, "allow-listed client may relay: %d %r" % (code, resp))
            s.rset()
            s.quit()
        finally:
            gw2.cleanup(True)
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
