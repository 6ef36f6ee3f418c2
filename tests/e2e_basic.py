#!/usr/bin/env python3
"""End to end: 20 concurrent smtplib clients send 500 messages through the
real daemon; every message is found in the folder connector's directory,
byte-identical after the Received: header gatewayd adds; the process tree
is master + receiver + router + worker, each its own process."""
import re
import threading

from gwtest import Gateway, check, main, make_message, strip_received, wait_for

CLIENTS = 20
MESSAGES = 500


def test():
    gw = Gateway("basic")
    ok = False
    try:
        gw.start()
        # Process tree: the master and one child of each role, distinct pids
        # (the worker's own delivery processes are its children, not the master's).
        tree = gw.children()
        tree[gw.proc.pid] = ["gatewayd"]
        roles = {}
        for pid, argv in tree.items():
            exe = argv[0].rsplit("/", 1)[-1]
            roles.setdefault(exe, []).append(pid)
        for exe in ("gatewayd", "gatewayd-receiver", "gatewayd-router", "gatewayd-worker"):
            check(len(roles.get(exe, [])) == 1, "exactly one %s process (tree: %s)" % (exe, roles))
        check(len(set(tree)) >= 4, "four distinct pids")
        # libpq (and Kerberos, LDAP, GnuTLS behind it) only with a
        # PostgreSQL directive store (e2e_multinode checks that one)
        check(not gw.mapping("libpq.so"), "no process maps libpq: %r" % gw.mapping("libpq.so"))
        # libldap (and GnuTLS, p11-kit, SASL behind it) only with an ldap
        # lookup table (e2e_ldap checks that one)
        check(not gw.mapping("libldap"), "no process maps libldap: %r" % gw.mapping("libldap"))

        sent = {}
        errors = []
        lock = threading.Lock()

        def client(n):
            try:
                s = gw.smtp()
                for i in range(n, MESSAGES, CLIENTS):
                    msg = make_message(i, "basic", size=200 + 37 * i)
                    if i % 7 == 0:
                        # a line that needs dot-stuffing on the wire
                        msg += b".leading dot line\r\n..two dots\r\n"
                    refused = s.sendmail("sender@client.test", ["rcpt%d@gw.test" % i], msg)
                    check(not refused, "all recipients accepted")
                    code, resp = s.noop()
                    with lock:
                        sent[i] = msg
                s.quit()
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        check(not errors, "client errors: %s" % errors[:3])
        check(len(sent) == MESSAGES, "all %d messages accepted (got %d)" % (MESSAGES, len(sent)))

        wait_for(lambda: len(gw.delivered()) >= MESSAGES, 120, "%d delivered files" % MESSAGES)
        files = gw.delivered()
        check(len(files) == MESSAGES, "exactly %d files, got %d" % (MESSAGES, len(files)))
        found = {}
        for name, data in files.items():
            check(re.match(r"^[0-9a-f]{20}(-\d+)?\.eml$", name), "file name %s is <qid>.eml" % name)
            body = strip_received(data)
            m = re.search(rb"Message-ID: <basic\.(\d+)@client\.test>", body)
            check(m, "Message-ID in %s" % name)
            found[int(m.group(1))] = body
        for i, msg in sent.items():
            check(found.get(i) == msg, "message %d byte-identical after Received:" % i)
        # Received: header names the queue ID that is the file name.
        name, data = next(iter(files.items()))
        check(re.search(rb"with ESMTP id " + name[:20].encode(), data.split(b"\r\n\r\n")[0]),
              "Received: header carries the queue ID")
        # Nothing left behind in the spool.
        wait_for(lambda: not gw.spool_files("incoming") and not gw.spool_files("queue")
                 and not gw.spool_files("active") and not gw.spool_files("data"),
                 30, "an empty spool")
        check(not gw.spool_files("tmp"), "tmp/ empty")
        check(gw.stop() == 0, "SIGTERM: exit status 0")
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
