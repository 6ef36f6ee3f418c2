#!/usr/bin/env python3
"""e2e_escape - attacker text cannot reach the operator's terminal raw.

A client sends a message whose HELO, envelope sender (SMTPUTF8), subject
and a failed AUTH user name carry ESC [ 2 J, a raw 0x9b (CSI as a byte),
U+009B (CSI in UTF-8), BEL and DEL; the relay target, a raw SMTP server
on loopback, defers the recipient with a 451 reply holding the same and
a carriage return.  The raw bytes of gatewayctl queue list, queue show
(with --body), status, and of the same read from the spool with the
daemon down, must hold no C0 control but the line feed, no DEL, no C1 and
nothing that is not UTF-8, and must show the escapes; the --json forms
must parse as strict UTF-8 JSON and give the original characters back
(a byte that is not UTF-8 as U+FFFD); the daemon's log must be as clean.
A member of admin_group cannot name a directive's owner (--owner), and a
directive title with control characters is escaped in list and show.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import base64

import gwtest
from gwtest import Gateway, check, free_port, main, wait_for
from rawsmtp import Raw, make_cert, make_sasldb

# ESC [ 2 J (clear screen), CSI as a raw byte, CSI in UTF-8, BEL, DEL
NASTY = b"\x1b[2J\x9b\xc2\x9b\x07\x7f"
REPLY = b"451 4.7.1 up" + NASTY + b"\r here"


def hostile_upstream(port):
    """A raw SMTP server that defers every RCPT with REPLY; returns stop()."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)

    def session(c):
        c.settimeout(30)
        f = c.makefile("rb")
        try:
            c.sendall(b"220 up.test ESMTP\r\n")
            for _ in range(100):
                line = f.readline(4096)
                if not line:
                    return
                cmd = line[:4].upper()
                if cmd in (b"EHLO", b"HELO"):
                    c.sendall(b"250-up.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif cmd == b"RCPT":
                    c.sendall(REPLY + b"\r\n")
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


CONTROL_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def check_terminal_safe(what, data):
    """No C0 but LF, no DEL, no C1 (UTF-8), valid UTF-8 (no raw 0x9b)."""
    try:
        text = data.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        raise gwtest.TestFailure("%s is not UTF-8 (%s): %r" % (what, e, data))
    for line in data.split(b"\n"):
        m = CONTROL_RE.search(line)
        check(m is None, "%s: raw control byte %r in %r" % (what, m and m.group(), line))
    check(not re.search("[\x80-\x9f]", text), "%s: a C1 control in %r" % (what, text))
    return text


def ctl(gw, *args, user=None, ok=True):
    """gatewayctl's raw bytes (stdout, stderr) and exit code."""
    cmd = [gwtest.GATEWAYCTL, "-s", gw.sock, "-c", gw.config] + list(args)
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user, "--clear-groups"] + cmd
    r = subprocess.run(cmd, capture_output=True, timeout=30)
    if ok:
        check(r.returncode == 0, "%s: exit %d %r" % (" ".join(args), r.returncode, r.stderr))
    check_terminal_safe("stderr of %s" % " ".join(args), r.stderr)
    return r.stdout, r.stderr, r.returncode


def send_nasty(gw, auth=True):
    c = Raw(gw.port)
    code, _ = c.cmd(b"EHLO h" + NASTY + b"x")
    check(code == 250, "EHLO with control characters: %d" % code)
    if auth:
        c.cmd(b"STARTTLS")
        c.starttls()
        c.cmd(b"EHLO client.test")
        user = b"u" + NASTY + b"@gw.test"
        code, _ = c.cmd(b"AUTH PLAIN " + base64.b64encode(b"\0" + user + b"\0wrong"))
        check(code == 535, "AUTH with a hostile user name fails: %d" % code)
    code, text = c.cmd(b"MAIL FROM:<a\xc2\x9b@client.test> SMTPUTF8")
    check(code == 250, "an SMTPUTF8 sender holding U+009B: %d %r" % (code, text))
    code, _ = c.cmd(b"RCPT TO:<b@example.org>")
    check(code == 250, "RCPT %d" % code)
    c.cmd(b"DATA")
    # the last body line has the form of the control protocol's failure
    # line ("E<code> <text>"): shown as text, not as gatewayctl's error
    code, text = c.cmd(b"Subject: s" + NASTY + b"x\r\n\r\nbody\r\nE65 forged failure\r\n.")
    check(code == 250, "message accepted: %d %r" % (code, text))
    qid = text.split()[-1].decode()
    c.cmd(b"QUIT")
    c.close()
    return qid


def check_human(gw, qid):
    out = check_terminal_safe("queue list", ctl(gw, "queue", "list")[0])
    check(qid in out and "a\\u009b@client.test" in out, "sender escaped in the list: %r" % out)
    check("up\\x1b[2J\\x9b\\u009b\\x07\\x7f\\x0d here" in out,
          "the upstream reply escaped in the list: %r" % out)
    out = check_terminal_safe("queue show", ctl(gw, "queue", "show", qid, "--body")[0])
    check("from a\\u009b@client.test" in out and "\\x9b\\u009b" in out,
          "envelope escaped in queue show: %r" % out)
    check("Subject: s\\x1b[2J\\x9b\\u009b\\x07\\x7fx\n" in out,
          "the subject escaped in queue show --body: %r" % out)
    out, err, rc = ctl(gw, "queue", "show", qid, "--body")
    check(rc == 0 and b"forged" not in err and b"\n\\x4565 forged failure\n" in out,
          "a body line shaped like a failure line is shown as text, its E escaped: "
          "rc %d, %r, %r" % (rc, err, out[-80:]))
    # and a real failure with --body is still one (stderr, its exit code)
    out, err, rc = ctl(gw, "queue", "show", "0" * 20, "--body", ok=False)
    check(rc == 66 and b"no such message" in err and b"no such" not in out,
          "queue show --body of an unknown ID: rc %d, %r, %r" % (rc, err, out))
    check_terminal_safe("status", ctl(gw, "status")[0])


def check_json(gw, qid, online=True):
    raw = ctl(gw, "--json", "queue", "list")[0]
    recs = [json.loads(l) for l in raw.decode("utf-8", "strict").splitlines()]
    check(len(recs) == 1 and recs[0]["queue_id"] == qid, "one record: %r" % recs)
    j = recs[0]
    check(j["sender"] == "a\u009b@client.test", "the sender round-trips: %r" % j["sender"])
    want = "up\x1b[2J\ufffd\u009b\x07\x7f\r here"
    check(want in j["last_error"] and want in j["recipients"][0]["delay_reason"],
          "the reply round-trips (a raw 0x9b as U+FFFD): %r" % j)
    check(not re.search(rb"[\x00-\x1f\x7f]|\xc2[\x80-\x9f]", raw.rstrip(b"\n")),
          "no raw control in the JSON: %r" % raw)
    raw = ctl(gw, "--json", "queue", "show", qid)[0]
    check(json.loads(raw.decode("utf-8", "strict"))["sender"] == "a\u009b@client.test",
          "queue show --json")
    if online:
        js = json.loads(ctl(gw, "--json", "status")[0].decode("utf-8", "strict"))
        check(js["connectors"][0]["instance"] == "relay", "status --json: %r" % js)


def check_log(gw):
    with open(gw.log, "rb") as f:
        data = f.read()
    check_terminal_safe("the log", data)
    text = data.decode()
    check("from=<a\\u009b@client.test>" in text, "the sender escaped in the log")
    check("up\\x1b[2J\\x9b\\u009b\\x07\\x7f\\x0d here" in text, "the reply escaped in the log")


def check_directives(gw):
    """admin_group (nobody): the owner is the socket's peer, never --owner."""
    nobody = 65534
    out, err, rc = ctl(gw, "directive", "create", "--title", "t", "--owner", "jane",
                       "--rcpt", "email:x@example.com", user=nobody, ok=False)
    check(rc == 77 and b"--owner" in err and out == b"", "--owner refused: %d %r" % (rc, err))
    did = ctl(gw, "directive", "create", "--title", "T\x1b[2J\u009bt", "--rcpt",
              "email:x\x07@example.com", user=nobody)[0].decode().strip()
    check(len(did) == 8, "created without --owner: %r" % did)
    out, err, rc = ctl(gw, "directive", "update", did, "--owner", "jane", user=nobody, ok=False)
    check(rc == 77, "--owner refused on update: %d %r" % (rc, err))
    js = json.loads(ctl(gw, "--json", "directive", "show", did, user=nobody)[0]
                    .decode("utf-8", "strict"))
    check(js["owner"] == "nobody" and js["title"] == "T\x1b[2J\u009bt" and
          js["recipients"][0]["address"] == "x\x07@example.com", "show --json: %r" % js)
    for args in (("list",), ("show", did)):
        out = check_terminal_safe("directive " + args[0],
                                  ctl(gw, "directive", *args, user=nobody)[0])
        check("T\\x1b[2J\\u009bt" in out, "title escaped in directive %s: %r" % (args[0], out))
    out = check_terminal_safe("directive show", ctl(gw, "directive", "show", did)[0])
    check("x\\x07@example.com" in out and "owner:     nobody" in out,
          "root's own view (the store itself): %r" % out)
    # root on the store itself may still name the owner
    ctl(gw, "directive", "update", did, "--owner", "jane")
    check(json.loads(ctl(gw, "--json", "directive", "show", did)[0])["owner"] == "jane",
          "root sets --owner")


def test():
    port = free_port()
    stop = hostile_upstream(port)
    keys = tempfile.mkdtemp(prefix="gw-escape-keys-")
    os.chmod(keys, 0o755)
    cert, key = make_cert(keys)
    db = make_sasldb(keys, {"scanner": "s3cret-Pass"})
    conns = [{"name": "relay", "type": "smtp",
              "settings": {"hosts": "[127.0.0.1:%d]" % port},
              "retry": {"min_backoff": "1h", "max_backoff": "1h"}}]
    gw = Gateway("escape", connectors=conns,
                 listener={"tls": "optional", "tls_cert": cert, "tls_key": key,
                           "auth": "yes"},
                 extra="sasl:\n  backend: sasldb\n  sasldb_path: %s\n"
                       "directives: { channels: { email: relay } }\n"
                       "admin_group: nogroup\n" % db)
    ok = False
    try:
        gw.start()
        qid = send_nasty(gw)
        wait_for(lambda: gw.spool_files("deferred/relay"), 20, "the job deferred")
        check_human(gw, qid)
        check_json(gw, qid)
        check_directives(gw)
        check_log(gw)
        gw.stop()
        # the same read from the spool by gatewayctl itself
        check_human_offline(gw, qid)
        check_json(gw, qid, online=False)
        ok = True
    finally:
        stop()
        gw.cleanup(ok)
        shutil.rmtree(keys, ignore_errors=True)


def check_human_offline(gw, qid):
    out = check_terminal_safe("queue list (offline)", ctl(gw, "queue", "list")[0])
    check("a\\u009b@client.test" in out and "\\x9b\\u009b" in out, "offline list: %r" % out)
    out = check_terminal_safe("queue show (offline)",
                              ctl(gw, "queue", "show", qid, "--body")[0])
    check("Subject: s\\x1b[2J\\x9b\\u009b\\x07\\x7fx\n" in out, "offline show: %r" % out)
    check("\n\\x4565 forged failure\n" in out, "offline show, the failure-shaped line: %r" % out)
    out, err, rc = ctl(gw, "queue", "show", "0" * 20, "--body", ok=False)
    check(rc == 66 and b"no such message" in err, "offline show --body of an unknown ID: "
          "rc %d, %r" % (rc, err))


if __name__ == "__main__":
    main(test)
