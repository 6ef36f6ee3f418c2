#!/usr/bin/env python3
"""PROXY protocol v1 and v2 from a trusted proxy: the address in the
header is the one relay policy, logs and Received: see; a malformed
header, a missing one (timeout) and any header from an untrusted peer
close the connection without a greeting."""
import socket
import struct
import time

from gwtest import Gateway, check, main, wait_for
from rawsmtp import Raw

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_tcp6(src, dst, sport, dport):
    addrs = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    addrs += struct.pack("!HH", sport, dport)
    return SIG + bytes([0x21, 0x21]) + struct.pack("!H", len(addrs)) + addrs


def no_greeting(port, prefix, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if prefix:
        s.sendall(prefix)
    t0 = time.monotonic()
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    s.close()
    return data, time.monotonic() - t0


def test():
    gw = Gateway("rcvproxy", relay_allow=["198.51.100.0/24"],
                 listener={"proxy_protocol": "yes", "proxy_trusted": '["127.0.0.1"]',
                           "proxy_timeout": 2})
    ok = False
    try:
        gw.start()
        # v1 from the trusted proxy: the client may relay (198.51.100.0/24)
        c = Raw(gw.port, prefix=b"PROXY TCP4 198.51.100.7 192.0.2.25 40000 25\r\n")
        c.cmd("EHLO mfp.test")
        c.cmd("MAIL FROM:<mfp@client.test>")
        code, text = c.cmd("RCPT TO:<someone@foreign.example>")
        check(code == 250, "relay allowed for the proxied address: %d %r" % (code, text))
        check(c.cmd("DATA")[0] == 354, "DATA")
        code, text = c.cmd(b"Subject: v1\r\n\r\nvia proxy v1\r\n.")
        check(code == 250, "message via PROXY v1: %d %r" % (code, text))
        c.close()
        # v2 (binary, IPv6): not in relay.allow
        c = Raw(gw.port, prefix=v2_tcp6("2001:db8::5", "2001:db8::25", 40001, 25))
        c.cmd("EHLO mfp6.test")
        c.cmd("MAIL FROM:<mfp@client.test>")
        code, text = c.cmd("RCPT TO:<someone@foreign.example>")
        check(code == 550 and b"5.7.1" in text, "relay refused for 2001:db8::5: %d %r" % (code, text))
        check(c.cmd("RCPT TO:<scan@gw.test>")[0] == 250, "local recipient")
        c.cmd("DATA")
        check(c.cmd(b"Subject: v2\r\n\r\nvia proxy v2\r\n.")[0] == 250, "message via PROXY v2")
        c.close()
        wait_for(lambda: len(gw.delivered()) == 2, 30, "both proxied messages")
        heads = b"".join(m.split(b"\r\n\r\n")[0] for m in gw.delivered().values())
        check(b"[198.51.100.7]" in heads and b"[2001:db8::5]" in heads,
              "Received: shows the proxied clients: %r" % heads)
        log = gw.read_log()
        check("connect from [198.51.100.7] via proxy 127.0.0.1" in log, "log names client and proxy")

        # malformed header, no header at all (timeout), plain SMTP instead
        for prefix in (b"PROXY TCP4 198.51.100.7 x 1 2\r\n", b"EHLO c.test\r\n",
                       SIG + b"\x21\x11\x00\x04abcd"):
            data, _ = no_greeting(gw.port, prefix)
            check(data == b"", "closed without a greeting for %r: %r" % (prefix, data))
        data, took = no_greeting(gw.port, b"", timeout=10)
        check(data == b"" and 1.5 < took < 6, "header timeout after %.1fs" % took)
        gw.stop()

        # a proxy that is not trusted: closed at once, header or not
        gw2 = Gateway("rcvproxy2", relay_allow=["198.51.100.0/24"],
                      listener={"proxy_protocol": "yes", "proxy_trusted": '["192.0.2.1"]'})
        try:
            gw2.start(wait_ready=False)
            wait_for(lambda: "ready:" in gw2.read_log(), 20, "the receiver")
            data, took = no_greeting(gw2.port, b"PROXY TCP4 198.51.100.7 192.0.2.25 40000 25\r\n")
            check(data == b"" and took < 2, "untrusted proxy closed: %r" % data)
            check("not a trusted proxy" in gw2.read_log(), "untrusted proxy logged")
        finally:
            gw2.cleanup(True)
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
