"""smtp_server - receiving SMTP servers for the smtp connector's tests.

Run as a script: python3 smtp_server.py MODE PORT OUTDIR [options]
  aiosmtpd   an aiosmtpd server (STARTTLS with --cert/--key, AUTH with
             --auth user:password, --reject ADDR to answer 550 5.1.1 to
             that RCPT); each message is written to OUTDIR as
             <n>.eml with the envelope in <n>.json
  hostile    a raw server whose reply to RCPT carries control characters
             (451, so the job is deferred); "hostile-ehlo" answers EHLO
             with more continuation lines than any client should accept
  raw        a raw, minimal server that stores the exact bytes of DATA
Prints "ready" on stdout once it listens; stops on SIGTERM.
"""
import json
import os
import signal
import socket
import sys
import threading
import time


def serve_aiosmtpd(port, outdir, opts):
    import ssl
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    count = [0]
    reject = set(opts.get("reject", []))

    class Handler:
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
            with open(base + ".json", "w") as f:
                json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                           "tls": session.ssl is not None,
                           "auth": (session.authenticated and
                                    opts.get("auth", "").split(":")[0]) or ""}, f)
            os.rename(base + ".eml.tmp", base + ".eml")
            return "250 2.0.0 queued as %d" % count[0]

    def authenticator(server, session, envelope, mechanism, auth_data):
        user, _, pw = opts["auth"].partition(":")
        ok = (isinstance(auth_data, LoginPassword) and
              auth_data.login.decode() == user and auth_data.password.decode() == pw)
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
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port,
                     server_hostname="upstream.test", decode_data=False, **kw)
    ctl.start()
    return ctl.stop


def serve_raw(mode, port, outdir):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(16)
    count = [0]

    def session(c):
        f = c.makefile("rb")
        c.sendall(b"220 raw.test ESMTP\r\n")
        try:
            while True:
                line = f.readline(4096)
                if not line:
                    return
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    if mode == "hostile-ehlo":
                        c.sendall(b"250-raw.test\r\n" + b"250-\r\n" * 500 + b"250 OK\r\n")
                    else:
                        c.sendall(b"250-raw.test\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
                elif cmd == b"MAIL":
                    c.sendall(b"250 2.1.0 ok\r\n")
                elif cmd == b"RCPT":
                    if mode == "hostile":
                        c.sendall(b"451 4.7.1 evil\x07\x1b[2J text\x7f from: <x@y>\r\n")
                    else:
                        c.sendall(b"250 2.1.5 ok\r\n")
                elif cmd == b"DATA":
                    c.sendall(b"354 go\r\n")
                    data = b""
                    while data != b".\r\n" and not data.endswith(b"\r\n.\r\n"):
                        chunk = f.read1(65536)
                        if not chunk:
                            return
                        data += chunk
                    count[0] += 1
                    path = os.path.join(outdir, "%03d.raw" % count[0])
                    with open(path + ".tmp", "wb") as o:
                        o.write(data)
                    os.rename(path + ".tmp", path)
                    c.sendall(b"250 2.0.0 stored\r\n")
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
        stop = serve_raw(mode, port, outdir)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    print("ready", flush=True)
    while not done.wait(0.2):
        pass
    stop()


if __name__ == "__main__":
    main()
