#!/usr/bin/env python3
"""Receiver hardening with raw sockets: data before the greeting, improper
pipelining (every group-ender of RFC 2920 3.1), bare LF/CR in DATA and BDAT
(reject and normalize), SMTP smuggling endings,
the classic open-relay address forms, header and message limits, a huge
line and a huge DATA stream with bounded memory, connections per client,
the session time limit and the plain read path (idle timeouts, input
behind the final dot, a client that reads no replies, one gone during the
commit).  Each case checks the reply class and that
nothing unwanted reached the spool."""
import random
import socket
import threading
import time

from gwtest import Gateway, check, main, strip_received, wait_for
from rawsmtp import Raw, spool_messages


def rss_kb(gw, name="gatewayd-receiver"):
    for pid, argv in gw.pids().items():
        if argv and argv[0].endswith(name):
            with open("/proc/%d/status" % pid) as f:
                for l in f:
                    if l.startswith("VmRSS:"):
                        return int(l.split()[1])
    return 0


def transaction_head(c, rcpt="scan@gw.test"):
    check(c.cmd("EHLO c.test")[0] == 250, "EHLO")
    check(c.cmd("MAIL FROM:<mfp@client.test>")[0] == 250, "MAIL")
    check(c.cmd("RCPT TO:<%s>" % rcpt)[0] == 250, "RCPT")


def transaction(c, rcpt="scan@gw.test"):
    transaction_head(c, rcpt)
    check(c.cmd("DATA")[0] == 354, "DATA")


def stream(sock, chunk, total, deadline=30):
    """Send total bytes of chunk; stop early if the server closes."""
    sent, end = 0, time.monotonic() + deadline
    while sent < total and time.monotonic() < end:
        try:
            sock.sendall(chunk)
        except OSError:
            break
        sent += len(chunk)
    return sent


def sessions_closed(gw):
    """Has the receiver ended every session it began (one "disconnect from"
    line per "connect from" line)?"""
    log = gw.read_log()
    return log.count("]: connect from [") == log.count("]: disconnect from [")


def test_reject(gw):
    # data before the greeting (greeting_delay 1 s)
    c = Raw(gw.port, greet=False, prefix=b"EHLO early.test\r\n")
    code, text = c.reply()
    check(code == 554, "early talker refused: %d %r" % (code, text))
    check(c.closed(), "early talker disconnected")
    c.close()

    # an MFP that tries TLS first speaks before the greeting: a TLS alert
    # (it falls back to plain SMTP on that), not the early-talker 554
    hello = b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
    s.sendall(hello)
    got, t0 = b"", time.monotonic()
    while time.monotonic() - t0 < 5:
        d = s.recv(4096)
        if not d:
            break
        got += d
    s.close()
    check(got == b"\x15\x03\x01\x00\x02\x02\x28",
          "ClientHello before the greeting: a fatal alert only: %r" % got)

    # pipelining after EHLO and after DATA is refused
    c = Raw(gw.port)
    c.send(b"EHLO c.test\r\nMAIL FROM:<a@client.test>\r\n")
    code, text = c.reply()
    check(code == 554 and b"pipelining" in text, "pipelining after EHLO: %d %r" % (code, text))
    c.close()
    c = Raw(gw.port)
    c.cmd("EHLO c.test")
    c.send(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<scan@gw.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n")
    codes = [c.reply()[0] for _ in range(3)]
    check(codes == [250, 250, 554], "MAIL/RCPT pipelined, text behind DATA refused: %r" % codes)
    c.close()

    # RFC 2920 3.1: EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP (and HELO,
    # AUTH) end a group; anything pipelined behind them is refused
    for verb in ("NOOP", "QUIT", "VRFY someone", "EXPN list", "TURN", "HELO c.test",
                 "EHLO c.test", "AUTH PLAIN"):
        c = Raw(gw.port)
        c.cmd("EHLO c.test")
        c.send(verb.encode() + b"\r\nRSET\r\n")
        code, text = c.reply()
        check(code == 554 and b"improper command pipelining after " + verb.split()[0].encode() in text,
              "pipelining after %s: %d %r" % (verb, code, text))
        check(c.closed(), "closed after pipelining behind %s" % verb)
        c.close()
    # ... and each may end one: RSET, MAIL and RCPT may be followed at once
    c = Raw(gw.port)
    c.cmd("EHLO c.test")
    c.send(b"RSET\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<scan@gw.test>\r\nNOOP\r\n")
    codes = [c.reply()[0] for _ in range(4)]
    check(codes == [250, 250, 250, 250], "RSET/MAIL/RCPT/NOOP group: %r" % codes)
    c.send(b"RSET\r\nVRFY someone\r\n")
    codes = [c.reply()[0] for _ in range(2)]
    check(codes == [250, 252], "VRFY ends a group: %r" % codes)
    c.send(b"RSET\r\nEXPN list\r\n")
    codes = [c.reply()[0] for _ in range(2)]
    check(codes == [250, 502], "EXPN ends a group: %r" % codes)
    c.send(b"RSET\r\nQUIT\r\n")
    codes = [c.reply()[0] for _ in range(2)]
    check(codes == [250, 221], "QUIT ends a group: %r" % codes)
    check(c.closed(), "closed after QUIT")
    c.close()

    # BDAT text follows smtp.bare_lf: a bare LF or a CR ending the last chunk
    for chunks in ([b"Subject: b\r\n\r\nbare\nlf\r\n"],
                   [b"Subject: b\r\n\r\nbody\r\n", b"tail\r"],
                   [b"Subject: b\r\n\r\nbare\r", b"cr\r\n"]):
        c = Raw(gw.port)
        c.cmd("EHLO c.test")
        c.cmd("MAIL FROM:<mfp@client.test>")
        c.cmd("RCPT TO:<scan@gw.test>")
        for i, chunk in enumerate(chunks):
            last = b" LAST" if i == len(chunks) - 1 else b""
            c.send(b"BDAT %d%s\r\n" % (len(chunk), last) + chunk)
            code, text = c.reply()
            if code != 250:
                break
        check(code == 521 and b"bare <" in text, "bare CR/LF in BDAT %r: %d %r" % (chunks, code, text))
        check(c.closed(), "closed after a bare CR/LF in BDAT")
        c.close()

    # relay forms from a client outside relay.allow
    c = Raw(gw.port)
    c.cmd("EHLO c.test")
    c.cmd("MAIL FROM:<a@client.test>")
    for form, want in (("user%ext.example@gw.test", 550), ('"user@ext.example"@gw.test', 550),
                       ("ext.example!user@gw.test", 550), ('"user%ext"@gw.test', 550),
                       ("user@ext.example@gw.test", 501), ("@gw.test:user@ext.example", 553),
                       ("someone@ext.example", 550)):
        code, text = c.cmd("RCPT TO:<%s>" % form)
        check(code == want and text[4:9] in (b"5.7.1", b"5.1.3"), "%s: %d %r" % (form, code, text))
    c.close()

    # bare LF in DATA: 521 and nothing stored
    c = Raw(gw.port)
    transaction(c)
    c.send(b"Subject: bare\r\n\r\nline with bare lf\n.\r\n")
    code, text = c.reply()
    check(code == 521 and b"bare <LF>" in text, "bare LF refused: %d %r" % (code, text))
    c.close()
    c = Raw(gw.port)
    transaction(c)
    c.send(b"Subject: bare\r\n\r\nline with bare cr\rmore\r\n.\r\n")
    code, text = c.reply()
    check(code == 521 and b"bare <CR>" in text, "bare CR refused: %d %r" % (code, text))
    c.close()
    c = Raw(gw.port)
    c.send(b"EHLO c.test\n")
    check(c.reply()[0] == 521, "bare LF ending a command refused")
    c.close()

    # header over max_header_size: 552, message over max_message_size: 552
    c = Raw(gw.port)
    transaction(c)
    c.send(b"X-Big: " + b"h" * 900 + b"\r\n" + (b"X-More: " + b"m" * 500 + b"\r\n") * 4 + b"\r\nbody\r\n.\r\n")
    code, text = c.reply()
    check(code == 552, "header too big: %d %r" % (code, text))
    c.close()

    # a 200 MiB DATA stream and a 200 MiB line: the receiver's memory stays flat
    base = rss_kb(gw)
    c = Raw(gw.port)
    transaction(c)
    sent = stream(c.sock, (b"x" * 998 + b"\r\n") * 1024, 200 << 20)
    c.send(b"\r\n.\r\n")
    code, text = c.reply()
    check(code == 552 and sent >= 200 << 20, "huge message refused after %d bytes: %d %r" % (sent, code, text))
    c.close()
    c = Raw(gw.port)
    sent = stream(c.sock, b"N" * (1 << 20), 200 << 20)
    c.send(b"\r\nNOOP\r\n")
    code, text = c.reply()
    check(code == 500 and b"too long" in text, "huge line refused: %d %r" % (code, text))
    check(c.reply()[0] == 250, "session usable after the huge line")
    grown = rss_kb(gw) - base
    check(grown < 20 * 1024, "receiver memory grew by %d KiB" % grown)
    c.close()
    # the limit counts the sessions the receiver still has: the closed ones
    # must be gone there too
    wait_for(lambda: sessions_closed(gw), 20, "the receiver to end the closed sessions")

    # connections per client (2)
    a, b = Raw(gw.port), Raw(gw.port)
    c = Raw(gw.port, greet=False)
    code, text = c.reply()
    check(code == 421, "third connection from one client refused: %d %r" % (code, text))
    a.close()
    b.close()
    c.close()
    time.sleep(1)
    check(spool_messages(gw) == [] and gw.delivered() == {}, "nothing reached the spool: %r" % spool_messages(gw))


def normalized(b):
    """b with each bare CR and bare LF made CRLF (smtp.bare_lf: normalize)."""
    out, i = bytearray(), 0
    while i < len(b):
        if b[i] == 13:
            out += b"\r\n"
            i += 2 if b[i + 1:i + 2] == b"\n" else 1
        elif b[i] == 10:
            out += b"\r\n"
            i += 1
        else:
            out.append(b[i])
            i += 1
    return bytes(out)


def mixed_data(rng, nlines):
    """(content, wire): lines with CRLF or bare LF ends, bare CRs inside,
    leading dots; on the wire a dot is doubled where the receiver removes
    one, at the start of a line after a CRLF."""
    content, wire, prev = bytearray(b"Subject: mix\r\n\r\n"), bytearray(b"Subject: mix\r\n\r\n"), b"\r\n"
    for i in range(nlines):
        text = rng.choice([b"", b"plain text line", b".dot", b"..dots", b".", b"mid\rcr",
                           b"x" * rng.randrange(1, 2500), b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"])
        end = b"\r\n" if i == nlines - 1 or rng.random() < 0.8 else b"\n"
        content += text + end
        wire += (b"." if text.startswith(b".") and prev == b"\r\n" else b"") + text + end
        prev = end
    return bytes(content), bytes(wire) + b".\r\n"


def test_mixed_pieces(gw):
    """DATA of every kind of line, sent in pieces of random sizes: what is
    stored is the content, unstuffed and normalised, wherever the pieces
    cut it (runs of plain lines are stored at once, the rest line by line)."""
    rng = random.Random(5)
    want = []
    for n in range(3):
        content, wire = mixed_data(rng, 1500)
        want.append(normalized(content))
        c = Raw(gw.port)
        transaction(c)
        i = 0
        while i < len(wire):
            k = rng.choice([1, 2, 3, 7, 100, 1460, 4096, 20000])
            c.send(wire[i:i + k])
            i += k
            if rng.random() < 0.05:
                time.sleep(0.002)
        code, text = c.reply()
        check(code == 250, "mixed message %d accepted: %d %r" % (n, code, text))
        c.cmd("QUIT")
    wait_for(lambda: len([v for v in gw.delivered().values() if b"Subject: mix" in v]) == 3,
             30, "the three mixed messages")
    got = sorted(strip_received(v) for v in gw.delivered().values() if b"Subject: mix" in v)
    check(got == sorted(want), "each stored message is its content, unstuffed and normalised")


def test_normalize():
    gw = Gateway("rcvnorm", relay_allow=["192.0.2.0/24"], smtp={"bare_lf": "normalize"})
    try:
        gw.start()
        # smuggling: none of these endings ends DATA or starts a second message
        c = Raw(gw.port)
        transaction(c)
        smuggled = b"MAIL FROM:<evil@client.test>\r\nRCPT TO:<victim@gw.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n"
        c.send(b"Subject: carrier\r\n\r\nbody\n.\n" + smuggled + b"\n.\r\n" + smuggled +
               b"\r\n.\n" + smuggled + b"\r.\r" + smuggled + b"\r\n.\0\r\n" + smuggled + b".\r\n")
        code, text = c.reply()
        check(code == 250, "one message accepted: %d %r" % (code, text))
        code, text = c.cmd("QUIT")
        check(code == 221, "QUIT after the single message: %d %r" % (code, text))
        wait_for(lambda: len(gw.delivered()) == 1, 30, "the carrier message")
        time.sleep(1)
        msgs = list(gw.delivered().values())
        check(len(msgs) == 1 and msgs[0].count(b"MAIL FROM:<evil") == 5,
              "exactly one message, smuggled text inside it")
        check(b"body\r\n.\r\nMAIL" in msgs[0], "bare LF normalised to CRLF")
        check(b"\n" not in msgs[0].replace(b"\r\n", b""), "no bare LF stored")

        # BDAT: bare LF and a CR ending the text normalised, a CRLF split
        # between two chunks kept as one line end
        c = Raw(gw.port)
        transaction_head(c)
        for chunk, last in ((b"Subject: bdat\r\n\r\nsplit\r", b""), (b"\nbare\nlf\r\nend\r", b" LAST")):
            c.send(b"BDAT %d%s\r\n" % (len(chunk), last) + chunk)
            code, text = c.reply()
            check(code == 250, "BDAT chunk under normalize: %d %r" % (code, text))
        c.cmd("QUIT")
        wait_for(lambda: len(gw.delivered()) == 2, 30, "the BDAT message")
        m = [v for v in gw.delivered().values() if b"Subject: bdat" in v][0]
        check(m.endswith(b"\r\n\r\nsplit\r\nbare\r\nlf\r\nend\r\n"), "BDAT text normalised: %r" % m[-60:])
        test_mixed_pieces(gw)
    finally:
        gw.cleanup(True)


def test_session_time():
    gw = Gateway("rcvtime", smtp={"max_session_time": 2})
    try:
        gw.start()
        c = Raw(gw.port)
        t0 = time.monotonic()
        c.sock.settimeout(15)
        c.cmd("EHLO c.test")
        code, text = c.reply()
        check(code == 421 and b"time limit" in text and time.monotonic() - t0 < 10,
              "session time limit: %d %r" % (code, text))
        check(c.closed(), "closed after the time limit")
    finally:
        gw.cleanup(True)


def test_read_path():
    """The plain sessions' own read path: the idle timeout in the command
    phase and inside DATA, input behind the final dot handled after the
    commit, a client that reads no replies (reading pauses, nothing is
    lost), a client gone during the commit."""
    gw = Gateway("rcvread", smtp={"idle_timeout": 2, "max_commands": 100000})
    try:
        gw.start()
        for where in ("command phase", "DATA"):
            c = Raw(gw.port)
            c.sock.settimeout(20)
            if where == "DATA":
                transaction(c)
                c.send(b"Subject: never ended\r\n\r\nhalf a li")
            else:
                check(c.cmd("EHLO c.test")[0] == 250, "EHLO")
            t0 = time.monotonic()
            code, text = c.reply()
            took = time.monotonic() - t0
            check(code == 421 and b"timeout" in text and 1 <= took < 10,
                  "idle %s: %d %r after %.1f s" % (where, code, text, took))
            check(c.closed(), "closed after the idle timeout")
            c.close()
        wait_for(lambda: gw.read_log().count("timeout from [127.0.0.1] in ") == 2, 10,
                 "both timeouts logged")

        # the final dot and QUIT in one segment: QUIT waits for the commit
        c = Raw(gw.port)
        transaction(c)
        c.send(b"Subject: dot and quit\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        r1, r2 = c.reply(), c.reply()
        check(r1[0] == 250 and r2[0] == 221, "dot+QUIT pipelined: %r %r" % (r1, r2))
        check(c.closed(), "closed after QUIT")
        c.close()

        # 30,000 RSETs sent without reading a reply (420 KB of replies: far
        # more than the receiver queues before it stops reading), then read
        n = 30000
        c = Raw(gw.port)
        check(c.cmd("EHLO c.test")[0] == 250, "EHLO")
        c.sock.settimeout(30)
        sender = threading.Thread(target=lambda: c.sock.sendall(b"RSET\r\n" * n))
        sender.start()
        time.sleep(1)
        got = 0
        while got < n:
            code, _ = c.reply()
            check(code == 250, "RSET %d answered %d" % (got, code))
            got += 1
        sender.join(30)
        check(not sender.is_alive(), "every RSET was taken")
        check(c.cmd("QUIT")[0] == 221, "QUIT after the backlog")
        c.close()

        # a client gone after the final dot: its message is still queued
        c = Raw(gw.port)
        transaction(c)
        c.send(b"Subject: gone before the reply\r\n\r\nbody\r\n.\r\n")
        c.close()
        wait_for(lambda: sum(b"Subject: gone before the reply" in m
                             for m in gw.delivered().values()) == 1, 30,
                 "the message of a client gone during the commit")
        check(sum(b"Subject: dot and quit" in m for m in gw.delivered().values()) == 1,
              "the dot+QUIT message delivered once")
        check(not any(b"never ended" in m for m in gw.delivered().values()),
              "the message cut by the timeout was not queued")
        wait_for(lambda: sessions_closed(gw), 10, "every session ended")
    finally:
        gw.cleanup(True)


def test():
    gw = Gateway("rcvhard", relay_allow=["192.0.2.0/24"],
                 smtp={"greeting_delay": 1, "max_header_size": "1K", "max_message_size": "1M",
                       "max_connections_per_client": 2,
                       "max_errors": 50})
    ok = False
    try:
        gw.start()
        test_reject(gw)
        test_normalize()
        test_session_time()
        test_read_path()
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
