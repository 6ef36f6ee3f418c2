#!/usr/bin/env python3
"""LDAP lookups against a real slapd on loopback (gatewayd.yaml(5), lookups).

A throw-away slapd (mdb backend, dc=example,dc=test, a few people with
mail and telephoneNumber) listens on 127.0.0.1 with StartTLS (a CA and a
certificate made now with openssl) and requires TLS for every operation;
its ACL lets only the gateway's bind DN read the people (anyone may read
the base entry), so an anonymous search finds nobody.  The gateway runs with the sandbox on.  Checked: a DID extension
is looked up and routed to the address found; recipient validation
delivers a user found and fails one not found (550 "no such user") without
delivering; the anonymous lookup finds nothing; the bind password (read
from a file) never appears in the log; with slapd stopped the message is
deferred (451, kept in incoming/, no bounce) and delivered once slapd is
back.
"""
import os
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time

import gwtest
from gwtest import check, record_file, wait_for

SUFFIX = "dc=example,dc=test"
BIND_DN = "cn=gateway,dc=example,dc=test"
PASSWORD = "Sesame-7f3c91e2"

LDIF = """dn: dc=example,dc=test
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,dc=example,dc=test
objectClass: organizationalUnit
ou: people

dn: cn=gateway,dc=example,dc=test
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: gateway
userPassword: %s

dn: uid=alice,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
mail: alice@example.test
telephoneNumber: +1 603 555 1234

dn: uid=bob,ou=people,dc=example,dc=test
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
mail: bob@example.test
telephoneNumber: +1 603 555 5678
""" % PASSWORD

SLAPD_CONF = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {d}/slapd.pid
TLSCACertificateFile {d}/ca.pem
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key
security tls=1
database mdb
suffix "dc=example,dc=test"
rootdn "cn=admin,dc=example,dc=test"
directory {d}/db
maxsize 10485760
access to attrs=userPassword by anonymous auth by * none
access to dn.base="dc=example,dc=test" by * read
access to * by dn.exact="cn=gateway,dc=example,dc=test" read by * none
"""


def records(path):
    """{(addr, what)} and {addr: {param: value}} from the testconn record."""
    out, params = set(), {}
    if not os.path.exists(path):
        return out, params
    with open(path) as f:
        for line in f:
            if not line.endswith("\n"):
                break
            _qid, _, rest = line.rstrip("\n").partition(" ")
            if " param " in rest:
                addr, _, kv = rest.partition(" param ")
                k, _, v = kv.partition("=")
                params.setdefault(addr, {})[k] = v
            else:
                addr, _, what = rest.rpartition(" ")
                out.add((addr, what))
    return out, params


def run(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "%s: %s%s" % (what, r.stdout, r.stderr))


def make_certs(d):
    """A test CA and a server certificate for 127.0.0.1 signed by it."""
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=gatewayd test LDAP CA", "-keyout", os.path.join(d, "ca.key"),
         "-out", os.path.join(d, "ca.pem")], "CA")
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", os.path.join(d, "server.key"), "-out", os.path.join(d, "server.csr")],
        "server key")
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(["openssl", "x509", "-req", "-in", os.path.join(d, "server.csr"), "-days", "2",
         "-CA", os.path.join(d, "ca.pem"), "-CAkey", os.path.join(d, "ca.key"),
         "-CAcreateserial", "-extfile", ext, "-out", os.path.join(d, "server.pem")],
        "server certificate")
    os.chmod(os.path.join(d, "ca.pem"), 0o644)


class Slapd:
    """A private slapd with its own config and database in d."""

    def __init__(self, d):
        self.dir = d
        self.port = gwtest.free_port()
        self.proc = None
        os.makedirs(os.path.join(d, "db"))
        self.conf = os.path.join(d, "slapd.conf")
        with open(self.conf, "w") as f:
            f.write(SLAPD_CONF.format(d=d))
        ldif = os.path.join(d, "data.ldif")
        with open(ldif, "w") as f:
            f.write(LDIF)
        run(["slapadd", "-f", self.conf, "-l", ldif], "slapadd")

    def start(self, debug=0):
        self.log = open(os.path.join(self.dir, "slapd.log"), "ab")
        # -d 0: stay in the foreground (a child of this test), log nothing;
        # -d 256: log each operation (conn=N op=M SRCH ...)
        self.proc = subprocess.Popen(
            ["slapd", "-d", str(debug), "-f", self.conf, "-h",
             "ldap://127.0.0.1:%d/" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT)

        def up():
            check(self.proc.poll() is None, "slapd exited: %s" % self.read_log())
            r = subprocess.run(["ldapsearch", "-x", "-ZZ", "-H",
                                "ldap://127.0.0.1:%d/" % self.port, "-D", BIND_DN,
                                "-w", PASSWORD, "-b", SUFFIX, "-s", "base", "dn"],
                               capture_output=True, text=True, timeout=10,
                               env=dict(os.environ,
                                        LDAPTLS_CACERT=os.path.join(self.dir, "ca.pem")))
            return r.returncode == 0
        wait_for(up, 20, "slapd to answer", interval=0.2)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def read_log(self):
        with open(os.path.join(self.dir, "slapd.log"), errors="replace") as f:
            return f.read()


def lookup(name, port, d, extra):
    """One ldap lookup entry of the configuration, as YAML flow text."""
    return ("  - { name: %s, type: ldap, uri: \"ldap://127.0.0.1:%d/\", start_tls: yes, "
            "tls_ca_file: %s, base: \"%s\", timeout: 3, %s }\n"
            % (name, port, os.path.join(d, "ca.pem"), SUFFIX, extra))


def rcpt(gw, addr):
    """The RCPT reply code for addr (the transaction is then reset)."""
    s = gw.smtp()
    try:
        s.ehlo()
        s.mail("mfp@client.test")
        code, _ = s.rcpt(addr)
        return code
    finally:
        s.quit()


def test():
    if shutil.which("slapd") is None or shutil.which("slapadd") is None:
        check(False, "slapd and slapadd are needed (Debian slapd, in .ci/run)")
    d = tempfile.mkdtemp(prefix="gw-ldap-")
    os.chmod(d, 0o755)
    make_certs(d)
    slapd = Slapd(d)
    pwfile = os.path.join(d, "bind.pw")
    with open(pwfile, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(pwfile, 0o600)
    gw = gwtest.Gateway("ldap", connectors=[{"name": "relay", "type": "testconn"}],
                        rules=[{"name": "all", "connector": "relay"}])
    ok = False
    try:
        slapd.start()
        rec = record_file(gw)
        connectors = [{"name": "relay", "type": "testconn",
                       "settings": {"record": rec, "record_params": "true"}}]
        rules = [
            {"name": "did-in", "type": "did", "lookup": "did"},
            {"name": "users", "recipient": "*@example.test", "lookup": "users",
             "connector": "relay"},
            {"name": "anon", "recipient": "*@anon.test", "lookup": "anon",
             "connector": "relay"},
        ]
        bind = "bind_dn: \"%s\", bind_password_file: %s" % (BIND_DN, pwfile)
        extra = ("sandbox: yes\nlookups:\n"
                 + lookup("users", slapd.port, d, bind + ", filter: \"(mail=%s)\", "
                          "attribute: mail")
                 + lookup("did", slapd.port, d, bind + ", key: digits, digits: 4, "
                          "filter: \"(telephoneNumber=*%s)\", attribute: mail")
                 + lookup("anon", slapd.port, d, "filter: \"(mail=%u@example.test)\""))
        gw.write_config(connectors, rules, ["127.0.0.0/8", "::1"],
                        ["gw.test", "example.test", "anon.test"], extra)
        r = subprocess.run([gwtest.GATEWAYD, "-n", "-c", gw.config], capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0, "gatewayd -n: %s%s" % (r.stdout, r.stderr))
        gw.start()
        # libldap is loaded by the router, where the table is opened, and
        # by no other process
        roles = {v[0].rsplit("/", 1)[-1] for v in gw.mapping("libldap").values()}
        check(roles == {"gatewayd-router"}, "libldap mapped by the router only: %r" % roles)

        # a DID extension to the address the directory holds; validation
        s = gw.smtp()
        s.sendmail("fax@client.test", ["DID=6035551234@gw.test"],
                   b"From: fax@client.test\r\nSubject: inbound fax\r\n\r\npage\r\n")
        s.sendmail("mfp@client.test", ["bob@example.test"],
                   b"From: mfp@client.test\r\nSubject: scan\r\n\r\nscan\r\n")
        s.quit()
        wait_for(lambda: {("alice@example.test", "ok"), ("bob@example.test", "ok")}
                 <= records(rec)[0], 30, "the DID and validated deliveries")
        params = records(rec)[1]
        check(params["alice@example.test"].get("original") == "DID=6035551234@gw.test",
              "the DID result keeps the original address: %r" % params)

        # not found: 550 at RCPT (the router's RCPT-time answer) or, where
        # the receiver does not ask, a failed recipient; never delivered
        for addr in ("nobody@example.test", "alice@anon.test"):
            code = rcpt(gw, addr)
            check(code in (250, 550), "RCPT %s: %d" % (addr, code))
            if code == 250:
                s = gw.smtp()
                s.sendmail("mfp@client.test", [addr],
                           b"From: mfp@client.test\r\nSubject: x\r\n\r\nx\r\n")
                s.quit()
                wait_for(lambda: "to=<%s>, status=failed (550 5.1.1 no such user" % addr
                         in gw.read_log(), 30, "%s failed as no such user" % addr)
        time.sleep(1)
        out = records(rec)[0]
        check(not any(a in ("nobody@example.test", "alice@anon.test") for a, _ in out),
              "nothing delivered for unknown users (anonymous sees nothing): %r" % out)

        # slapd down: deferred, nothing bounced, then delivered once it is back
        slapd.stop()
        code = rcpt(gw, "alice@example.test")
        check(code in (250, 451), "RCPT with slapd down: %d" % code)
        if code == 250:
            s = gw.smtp()
            s.sendmail("mfp@client.test", ["alice@example.test"],
                       b"From: mfp@client.test\r\nSubject: later\r\n\r\nlater\r\n")
            s.quit()
            wait_for(lambda: "to=<alice@example.test>, status=deferred (451 4.3.0"
                     in gw.read_log(), 30, "the deferral")
            check(len(gw.spool_files("incoming")) == 1,
                  "the message waits in incoming/: %r" % gw.spool_files("incoming"))
            check(not gw.spool_files("failed"), "nothing failed: %r" % gw.spool_files("failed"))
            slapd.start()
            # alice got the DID message already: a second "ok" line
            wait_for(lambda: len([l for l in open(rec)
                                  if l.endswith(" alice@example.test ok\n")]) >= 2,
                     40, "delivery once slapd is back")
            # unlinked after the sync of its jobs, which may follow the
            # delivery (ROUTER_SYNC_MS, doc/internals.md)
            wait_for(lambda: not gw.spool_files("incoming"), 10, "incoming/ is empty again")
        else:
            slapd.start()
        check("failed (451" not in gw.read_log(), "no temporary failure became a failure")
        log = gw.read_log()
        check(PASSWORD not in log, "the bind password is not in the log")
        check("sandbox: router: a seccomp allowlist" in log, "the router runs sandboxed")
        ok = True
    finally:
        slapd.stop()
        gw.cleanup(ok)
        if ok:
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("kept %s for inspection" % d)


if __name__ == "__main__":
    gwtest.main(test)
