"""smtp_server - receiving SMTP servers for the smtp connector's tests.

Run as a script: python3 smtp_server.py MODE PORT OUTDIR [options]
  aiosmtpd   an aiosmtpd server (STARTTLS with --cert/--key, AUTH with
             --auth user:password, CRAM-MD5 as well with --cram 1, --reject
             ADDR to answer 550 5.1.1 to that RCPT); each message is
             written to OUTDIR as <n>.eml with the envelope in <n>.json
             (with "mech", the AUTH mechanism used); every STARTTLS and
             AUTH command received is logged to OUTDIR/transcript.log
             ("AUTH <mechanism> tls=0|1", no credentials)
  hostile    a raw server whose reply to RCPT carries control characters
             (451, so the job is deferred); "hostile-ehlo" answers EHLO
             with more continuation lines than any client should accept
  raw        a raw, minimal server that stores the exact bytes of DATA in
             <n>.raw and in <n>.json the session number and the MAIL and
             RCPT command lines; "raw7" does not offer 8BITMIME, "dsn"
             offers DSN as well, "nopipe" no PIPELINING.  --idle N: a session idle for N seconds
             is closed with "421 4.4.2 idle timeout"; --idle-silent N:
             closed without a word; --rset-421 N: the Nth RSET (counted
             over all sessions) is answered 421 and its session closed.
             The .json says of the RSET before the transaction, if any,
             whether the next command had come with it ("pipelined") or
             only after its reply ("alone")
Prints "ready" on stdout once it listens; stops on SIGTERM.  Every file
appears complete: written under a ".tmp" name, then renamed, the .json
before the message file a test waits for.
"""
import json
import os
import select
import signal
import socket
import sys
import threading
import time


def write_json(path, obj):
    """path, written whole under a temporary name and renamed."""
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.rename(path + ".tmp", path)


def serve_aiosmtpd(port, outdir, opts):
    import ssl
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

    import hashlib
    import hmac
    from aiosmtpd.smtp import MISSING

    count = [0]
    reject = set(opts.get("reject", []))

    class Handler:
        async def auth_CRAM__MD5(self, server, args):
            """RFC 2195: HMAC-MD5 of a challenge keyed with the password."""
            user, _, pw = opts["auth"].partition(":")
            challenge = ("<%d.%d@upstream.test>" % (os.getpid(), time.time_ns())).encode()
            resp = await server.challenge_auth(challenge)
            if resp is MISSING:
                return AuthResult(success=False, handled=False)
            name, _, digest = resp.decode("ascii", "replace").rpartition(" ")
            want = hmac.new(pw.encode(), challenge, hashlib.md5).hexdigest()
            ok = name == user and hmac.compare_digest(digest, want)
            server.session.auth_mech = "CRAM-MD5"
            return AuthResult(success=ok, handled=False, auth_data=name)

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in reject:
                return "550 5.1.1 <%s>: no such user here" % address
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope):
            count[0] += 1
            base = os.path.join(outdir, "%03d" % count[0])
            with open(base + ".eml.tmp", "wb") as f:
                f.write(envelope.original_content)
            write_json(base + ".json",
                       {"from": envelope.mail_from, "to": envelope.rcpt_tos,
                        "tls": session.ssl is not None,
                        "auth": (session.authenticated and
                                 opts.get("auth", "").split(":")[0]) or "",
                        "mech": getattr(session, "auth_mech", "")})
            os.rename(base + ".eml.tmp", base + ".eml")
            return "250 2.0.0 queued as %d" % count[0]

    def authenticator(server, session, envelope, mechanism, auth_data):
        user, _, pw = opts["auth"].partition(":")
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login.decode() == user and auth_data.password.decode() == pw)
        session.auth_mech = mechanism
        return AuthResult(success=ok, handled=False)

    kw = {}
    if "cert" in opts:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(opts["cert"], opts["key"])
        kw["tls_context"] = ctx
        kw["require_starttls"] = False
    if "auth" in opts:
        kw["authenticator"] = authenticator
        kw["auth_require_tls"] = "cert" in opts
        if opts.get("cram") != "1":
            kw["auth_exclude_mechanism"] = ["CRAM-MD5"]
    transcript = os.path.join(outdir, "transcript.log")

    class RecordingSMTP(SMTP):
        """Writes each STARTTLS and AUTH command (the mechanism only, and
        whether TLS was on) to OUTDIR/transcript.log before handling it."""

        def record(self, line):
            with open(transcript, "a") as f:
                f.write(line + "\n")

        async def smtp_STARTTLS(self, arg):
            self.record("STARTTLS")
            return await super().smtp_STARTTLS(arg)

        async def smtp_AUTH(self, arg):
            self.record("AUTH %s tls=%d" % ((arg or "").split(" ")[0],
                                            self.session.ssl is not None))
            return await super().smtp_AUTH(arg)

    class RecordingController(Controller):
        def factory(self):
            return RecordingSMTP(self.handler, **self.SMTP_kwargs)

    ctl = RecordingController(Handler(), hostname="127.0.0.1", port=port,
                              server_hostname="upstream.test", decode_data=False, **kw)
    ctl.start()
    return ctl.stop


class Reader:
    """Lines and DATA bytes from a socket, with what is already received
    in view (pending), which a file object's buffer hides."""

    def __init__(self, c):
        self.c, self.buf = c, b""

    def readline(self, limit):
        while b"\n" not in self.buf and len(self.buf) < limit:
            chunk = self.c.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        i = self.buf.find(b"\n")
        n = i + 1 if 0 <= i < limit else min(len(self.buf), limit)
        line, self.buf = self.buf[:n], self.buf[n:]
        return line

    def read1(self, n):
        if self.buf:
            out, self.buf = self.buf, b""
            return out
        return self.c.recv(n)

    def pending(self, wait):
        """Has more arrived (within wait seconds)?"""
        return bool(self.buf) or bool(select.select([self.c], [], [], wait)[0])


def serve_raw(mode, port, outdir, opts):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    count = [0]
    sessions = [0]
    rsets = [0]
    rset_421 = int(opts.get("rset-421", 0))
    lock = threading.Lock()
    idle = float(opts.get("idle", opts.get("idle-silent", 0)))
    ehlo = {"hostile-ehlo": b"250-raw.test\r\n" + b"250-\r\n" * 500 + b"250 OK\r\n",
            "raw7": b"250-raw.test\r\n250 PIPELINING\r\n",
            "nopipe": b"250-raw.test\r\n250 8BITMIME\r\n",
            "dsn": b"250-raw.test\r\n250-8BITMIME\r\n250-DSN\r\n250 PIPELINING\r\n"
            }.get(mode, b"250-raw.test\r\n250-8BITMIME\r\n250 PIPELINING\r\n")

    def store(data, number, cmds, rset):
        with lock:
            count[0] += 1
            n = count[0]
        path = os.path.join(outdir, "%03d" % n)
        write_json(path + ".json", {"session": number, "cmds": cmds, "rset": rset})
        with open(path + ".raw.tmp", "wb") as o:
            o.write(data)
        os.rename(path + ".raw.tmp", path + ".raw")

    def readline(c, f):
        if idle:
            c.settimeout(idle)
        try:
            return f.readline(4096)
        except (socket.timeout, TimeoutError):
            if "idle" in opts:
                c.sendall(b"421 4.4.2 raw.test idle timeout\r\n")
            return b""

    def data_phase(c, f):
        c.settimeout(30)
        c.sendall(b"354 go\r\n")
        data = b""
        while data != b".\r\n" and not data.endswith(b"\r\n.\r\n"):
            chunk = f.read1(65536)
            if not chunk:
                return None
            data += chunk
        return data

    def session(c):
        with lock:
            sessions[0] += 1
            number = sessions[0]
        f = Reader(c)
        c.sendall(b"220 raw.test ESMTP\r\n")
        cmds = []
        rset = None
        try:
            while True:
                line = readline(c, f)
                if not line:
                    return
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    c.sendall(ehlo)
                elif cmd == b"MAIL":
                    cmds = [line.rstrip(b"\r\n").decode("ascii", "replace")]
                    c.sendall(b"250 2.1.0 ok\r\n")
                elif cmd == b"RCPT":
                    cmds.append(line.rstrip(b"\r\n").decode("ascii", "replace"))
                    if mode == "hostile":
                        c.sendall(b"451 4.7.1 evil\x07\x1b[2J text\x7f from: <x@y>\r\n")
                    else:
                        c.sendall(b"250 2.1.5 ok\r\n")
                elif cmd == b"DATA":
                    data = data_phase(c, f)
                    if data is None:
                        return
                    store(data, number, cmds, rset)
                    rset = None
                    c.sendall(b"250 2.0.0 stored\r\n")
                elif cmd == b"RSET":
                    with lock:
                        rsets[0] += 1
                        k = rsets[0]
                    # a client that waits for the reply sends nothing more
                    rset = "pipelined" if f.pending(0.2) else "alone"
                    if k == rset_421:
                        c.sendall(b"421 4.3.2 raw.test going away\r\n")
                        return
                    c.sendall(b"250 2.0.0 reset\r\n")
                elif cmd == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            return
        finally:
            c.close()

    def loop():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=session, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls.close


def main():
    mode, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    opts = {}
    args = sys.argv[4:]
    while args:
        k, v = args[0].lstrip("-"), args[1]
        args = args[2:]
        if k == "reject":
            opts.setdefault("reject", []).append(v)
        else:
            opts[k] = v
    if mode == "aiosmtpd":
        stop = serve_aiosmtpd(port, outdir, opts)
    else:
        stop = serve_raw(mode, port, outdir, opts)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    print("ready", flush=True)
    while not done.wait(0.2):
        pass
    stop()


if __name__ == "__main__":
    main()
