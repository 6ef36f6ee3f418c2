#!/usr/bin/env python3
"""Anonymous only from the exception list (issue 14, point 1): a listener
with require_auth answers 530 5.7.0 at MAIL to an anonymous client unless
its address, network or forward-confirmed host name is in
anonymous_allow; host names in relay.allow are matched the same way.  The
names resolve through a real unbound on loopback (dns.nameservers),
started and stopped here: a PTR that does not confirm is refused, an
answer is cached for its TTL (unbound stopped, still accepted), a dead
server means "not listed" within dns.timeout, logged, and an
authenticated client needs no list."""
import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time

from gwtest import Gateway, TestFailure, check, free_port, main, wait_for
from rawsmtp import Raw, make_sasldb

PASSWORD = "Acc-p4ss"
DNS_TIMEOUT = 2

ZONE = """\
  local-zone: "test." static
  local-zone: "127.in-addr.arpa." static
  local-data: "mfp1.test. 300 IN A 127.0.0.1"
  local-data: "1.0.0.127.in-addr.arpa. 300 IN PTR mfp1.test."
  local-data: "fake.test. 300 IN A 127.0.0.9"
  local-data: "2.0.0.127.in-addr.arpa. 300 IN PTR fake.test."
  local-data: "relay5.test. 300 IN A 127.0.0.5"
  local-data: "5.0.0.127.in-addr.arpa. 300 IN PTR relay5.test."
  local-data: "mfp7.test. 300 IN A 127.0.0.7"
  local-data: "7.0.0.127.in-addr.arpa. 300 IN PTR mfp7.test."
"""


class Unbound:
    """A private unbound on 127.0.0.1:port with static local zones."""

    def __init__(self, directory):
        self.dir = directory
        self.port = free_port()
        self.conf = os.path.join(directory, "unbound.conf")
        self.log = os.path.join(directory, "unbound.log")
        with open(self.conf, "w") as f:
            f.write("server:\n  interface: 127.0.0.1@%d\n  port: %d\n"
                    "  do-not-query-localhost: no\n  chroot: \"\"\n  username: \"\"\n"
                    "  directory: \"%s\"\n  pidfile: \"%s/unbound.pid\"\n"
                    "  use-syslog: no\n  logfile: \"%s\"\n  log-queries: yes\n"
                    "  verbosity: 1\n  do-ip6: no\n  access-control: 127.0.0.0/8 allow\n"
                    "%sremote-control:\n  control-enable: no\n"
                    % (self.port, self.port, directory, directory, self.log, ZONE))
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["unbound", "-d", "-c", self.conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.answers, 20, "unbound answering")

    def answers(self):
        if self.proc.poll() is not None:
            raise TestFailure("unbound exited: %s" % open(self.log).read()[-2000:])
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x04mfp1\x04test\x00\x00\x01\x00\x01")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            return s.recv(512)[:2] == b"\x12\x34"
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


def session(gw, src, auth=False):
    """(code, text) of MAIL from source address src (a loopback address)."""
    s = socket.create_connection(("127.0.0.1", gw.port), timeout=20,
                                 source_address=(src, 0))
    c = Raw.__new__(Raw)
    c.sock, c.buf = s, b""
    code, text = c.reply()
    check(code == 220, "greeting for %s: %r" % (src, text))
    c.cmd("EHLO mfp.test")
    if auth:
        code, text = c.cmd("AUTH PLAIN " + base64.b64encode(
            b"\0scanner@gw.test\0" + PASSWORD.encode()).decode())
        check(code == 235, "AUTH from %s: %r" % (src, text))
    t0 = time.monotonic()
    code, text = c.cmd("MAIL FROM:<scan@mfp.test>")
    elapsed = time.monotonic() - t0
    rcpt = c.cmd("RCPT TO:<someone@foreign.example>") if code == 250 else None
    c.cmd("QUIT")
    c.close()
    return code, text, elapsed, rcpt


def test_chroot(dns):
    """Without AUTH the receiver is chrooted into the spool and under its
    seccomp filter: evdns read its servers before and its UDP sockets
    still work."""
    gw = Gateway("rcvaccessch", relay_allow=["192.0.2.0/24"],
                 listener={"require_auth": "yes", "anonymous_allow": '["mfp1.test"]'},
                 extra="dns:\n  nameservers: [\"127.0.0.1:%d\"]\n  timeout: %d\n"
                       % (dns.port, DNS_TIMEOUT))
    ok = False
    try:
        gw.start()
        code, text, _, _ = session(gw, "127.0.0.1")
        check(code == 250, "chrooted receiver, FCrDNS confirmed: %r" % text)
        code, text, _, _ = session(gw, "127.0.0.4")
        check(code == 530, "chrooted receiver, not listed: %r" % text)
        check("Bad system call" not in gw.read_log(), "no seccomp kill")
        ok = True
    finally:
        gw.cleanup(ok)


def test():
    tmp = tempfile.mkdtemp(prefix="gw-access-")
    os.chmod(tmp, 0o755)
    dns = Unbound(tmp)
    db = make_sasldb(tmp, {"scanner": PASSWORD})
    gw = Gateway("rcvaccess", relay_allow=["192.0.2.0/24", "relay5.test"],
                 listener={"auth": "yes", "auth_plaintext": "yes", "require_auth": "yes",
                           "anonymous_allow": '["127.0.0.3", "127.0.0.16/28", '
                           '"mfp1.test", "fake.test", "mfp7.test", "relay5.test"]'},
                 extra="sasl:\n  backend: sasldb\n  sasldb_path: %s\n"
                       "dns:\n  nameservers: [\"127.0.0.1:%d\"]\n  timeout: %d\n"
                       % (db, dns.port, DNS_TIMEOUT))
    ok = False
    try:
        dns.start()
        gw.start()
        code, text, _, _ = session(gw, "127.0.0.4")
        check(code == 530 and b"5.7.0" in text, "not listed: 530: %r" % text)
        code, text, _, _ = session(gw, "127.0.0.3")
        check(code == 250, "listed address: %r" % text)
        code, text, _, _ = session(gw, "127.0.0.17")
        check(code == 250, "listed network: %r" % text)
        code, text, _, rcpt = session(gw, "127.0.0.1")
        check(code == 250, "listed host name, FCrDNS confirmed: %r" % text)
        check(rcpt[0] == 550, "anonymous_allow is not relay.allow: %r" % (rcpt,))
        code, text, _, _ = session(gw, "127.0.0.2")
        check(code == 530, "a PTR that does not confirm: %r" % text)
        code, text, _, rcpt = session(gw, "127.0.0.5")
        check(code == 250 and rcpt[0] == 250, "relay.allow host name relays: %r %r" % (text, rcpt))
        code, text, _, _ = session(gw, "127.0.0.4", auth=True)
        check(code == 250, "authenticated client: %r" % text)
        log = gw.read_log()
        check("FCrDNS of [127.0.0.1]: mfp1.test, anonymous allowed" in log, "confirmed name logged")
        check("fake.test does not resolve to it" in log, "unconfirmed PTR logged")
        test_chroot(dns)
        # the cache: unbound stopped, the answer for 127.0.0.1 still holds
        dns.stop()
        code, text, _, _ = session(gw, "127.0.0.1")
        check(code == 250, "cached within the TTL: %r" % text)
        check("FCrDNS of [127.0.0.1]: mfp1.test (cached)" in gw.read_log(), "cache hit logged")
        # no DNS server: not listed, within the timeout, logged
        code, text, elapsed, _ = session(gw, "127.0.0.7")
        check(code == 530, "DNS down: not listed: %r" % text)
        check(elapsed < DNS_TIMEOUT + 3, "not hung beyond dns.timeout: %.1f s" % elapsed)
        wait_for(lambda: "FCrDNS of [127.0.0.7]" in gw.read_log() and
                 "not confirmed" in gw.read_log().split("FCrDNS of [127.0.0.7]", 1)[1],
                 10, "the DNS failure logged")
        ok = True
    finally:
        dns.stop()
        gw.cleanup(ok)
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(test)
