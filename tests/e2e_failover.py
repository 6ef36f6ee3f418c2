#!/usr/bin/env python3
"""e2e_failover - a rule's failover connector after a permanent failure.

Rule "connector: a, failover: b", where a (testconn) answers perm* with
550 and b is a folder: the message ends in b's folder and the sender gets
no delivery status notification.  The same address without failover
bounces to its sender.  A failover happens once: when the failover
connector (c, testconn) fails too, the sender gets the bounce.
"""
import os
import re
import shutil
import tempfile

import gwtest
from gwtest import check, wait_for, record_file
from e2e_route import records


def queue_empty(gw):
    return not any(gw.spool_files(s) for s in ("incoming", "queue", "active",
                                               "deferred", "failed", "hold"))


def test():
    conndir = tempfile.mkdtemp(prefix="gw-fo-conn-")
    os.chmod(conndir, 0o755)
    for src in (os.path.join(gwtest.TEST_CONNECTORS, "testconn.so"),
                os.path.join(gwtest.CONNECTORS, "folder.so")):
        shutil.copy(src, conndir)
        os.chmod(os.path.join(conndir, os.path.basename(src)), 0o755)
    gw = gwtest.Gateway("failover", connectors=[{"name": "relay", "type": "testconn"}])
    ok = False
    try:
        rec = record_file(gw)
        tc = {"record": rec}
        connectors = [
            {"name": "a", "type": "testconn", "settings": tc},
            {"name": "b", "type": "folder", "settings": {"path": gw.mail}},
            {"name": "c", "type": "testconn", "settings": tc},
            {"name": "relay", "type": "testconn", "settings": tc},
        ]
        rules = [
            {"name": "twice", "recipient": "permtwice@gw.test", "connector": "a",
             "failover": "c"},
            {"name": "fo", "sender": "fo@client.test", "recipient": "perm*@gw.test",
             "connector": "a", "failover": "b"},
            {"name": "plain", "recipient": "perm*@gw.test", "connector": "a"},
            {"name": "senders", "recipient": "*@client.test", "connector": "relay"},
        ]
        gw.write_config(connectors, rules, ["127.0.0.0/8", "::1"], ["gw.test"])
        with open(gw.config) as f:
            text = f.read()
        with open(gw.config, "w") as f:
            f.write(text.replace("connector_dir: %s" % gwtest.TEST_CONNECTORS,
                                 "connector_dir: %s" % conndir))
        gw.start()

        s = gw.smtp()
        s.sendmail("fo@client.test", ["perm1@gw.test"],
                   b"From: fo@client.test\r\nSubject: failover-one\r\n\r\nbody\r\n")
        s.sendmail("nofo@client.test", ["perm1@gw.test"],
                   b"From: nofo@client.test\r\nSubject: plain-one\r\n\r\nbody\r\n")
        s.sendmail("tw@client.test", ["permtwice@gw.test"],
                   b"From: tw@client.test\r\nSubject: twice-one\r\n\r\nbody\r\n")
        s.quit()

        wait_for(lambda: any(b"Subject: failover-one" in d for d in gw.delivered().values()),
                 30, "the failed-over message in b's folder")
        wait_for(lambda: ("nofo@client.test", "ok") in records(rec)[0], 30,
                 "the bounce of the address without failover")
        wait_for(lambda: ("tw@client.test", "ok") in records(rec)[0], 30,
                 "the bounce after the failover connector failed too")
        wait_for(lambda: queue_empty(gw), 30, "an empty queue")
        log = gw.read_log()
        check("to=<perm1@gw.test>, connector=a, status=failover to b (550 5.1.1 "
              "testconn: no such user perm1@gw.test)" in log, "failover logged:\n" + log)
        check(re.search(r"to=<perm1@gw\.test>, relay=b\[\w+\], .*status=sent", log),
              "b delivered it")
        check(log.count("status=failover to") == 2, "two hand-offs, no more")
        check("to=<permtwice@gw.test>, connector=a, status=failover to c (550" in log,
              "second rule fails over to c")
        check(re.search(r"to=<permtwice@gw\.test>, relay=c\[\w+\], .*"
                        r"status=failed \(550 5\.1\.1", log),
              "c's failure is final: no second failover")
        out, _ = records(rec)
        check(("fo@client.test", "ok") not in out, "no DSN to the sender of the failed-over "
              "message: %r" % sorted(out))
        check(("perm1@gw.test", "perm") in out and ("permtwice@gw.test", "perm") in out,
              "a (and c) refused the addresses")
        files = gw.delivered()
        check(len(files) == 1, "only the failed-over message is in b: %r" % list(files))
        data = list(files.values())[0]
        check(b"body" in data and b"plain-one" not in data, "b has the message itself")
        check("failed" not in gw.ctl("queue", "list"), "nothing left in the queue")
        ok = True
    finally:
        gw.cleanup(ok)
        shutil.rmtree(conndir, ignore_errors=True)


if __name__ == "__main__":
    gwtest.main(test)
