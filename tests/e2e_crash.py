#!/usr/bin/env python3
"""Crash: while clients send, kill -9 the whole process tree right after a
batch of 250 replies; restart; every acknowledged message is delivered
(counted by Message-ID: none lost, duplicates allowed only as 'at least
once'), and unacknowledged tmp/ files are gone.

A machine crash cannot be played here, so what one leaves is planted while
the tree is down: the commit renames a batch into incoming/ and then makes
it durable with one syncfs, so a crash before that sync returned can leave
a file in incoming/ whose data did not all reach the disk (never
acknowledged).  Its sealed size (the envelope's "size" field) is larger
than what follows the envelope, or still the placeholder: the router must
quarantine it in corrupt/ and deliver nothing of it, while a whole sealed
file next to it is delivered.

The router writes a new job into the inode of an ended one (a spare in
tmp/) and renames it into queue/ before its sync, so a crash there can
leave, under a message still in incoming/, a job file holding an earlier
job (another queue ID, another recipient) or parts of two.  Both are
planted: the message must be delivered, by a job written again, and the
file found in its place moved to corrupt/."""
import os
import re
import threading
import time

from gwtest import RUN_USER, Gateway, check, main, make_message, recv_user, wait_for


def plant_incoming(gw, n, body, sealed):
    """A message file in incoming/ as the receiver leaves it: owned by the
    receiver's user, of the queue's group, 0660; its size field says
    sealed (None: the placeholder of a file never sealed)."""
    qid = "%014x%02x%04x" % (int(time.time() * 1e6), 0, 0x7f00 + n)
    env = ("gatewayd-envelope 1\nid %s\nkind message\narrival %.6f\n"
           "listener smtp\nclient 127.0.0.1\nclient-name localhost\n"
           "helo crash.test\nauth -\nproto ESMTP\nbody 8BITMIME\n"
           "size %012d\nfrom sender@client.test\nrcpt pending rcpt@gw.test\n"
           "end\n" % (qid, time.time(), 0 if sealed is None else sealed))
    path = os.path.join(gw.spool, "incoming", qid)
    with open(path, "wb") as f:
        f.write(env.encode() + body)
    os.chmod(path, 0o660)
    if recv_user() is not None:
        import pwd
        os.chown(path, pwd.getpwnam(recv_user()).pw_uid,
                 os.stat(os.path.join(gw.spool, "receive")).st_gid)
    return qid

def crc32c(data):
    """CRC-32C (Castagnoli), as a job envelope's end line carries it."""
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff


def job_text(qid, rcpt):
    """A sound version 2 job envelope for the archive connector."""
    text = ("gatewayd-envelope 2\nid %s\nkind job\narrival %.6f\n"
            "listener smtp\nclient 127.0.0.1\nclient-name localhost\n"
            "helo crash.test\nauth -\nproto ESMTP\nbody 8BITMIME\n"
            "size 2000\nfrom sender@client.test\nconnector archive\n"
            "attempts 0\nnext-attempt 0\nlast-error -\nrcpt pending %s\n"
            % (qid, time.time(), rcpt)).encode()
    return text + b"end %08x\n" % crc32c(text)


def plant_job(gw, qid, content):
    """A message routed before a crash: its data link, and content as its
    archive job in queue/, owned by the queue's user (the router's file)."""
    os.link(os.path.join(gw.spool, "incoming", qid),
            os.path.join(gw.spool, "data", qid + ".archive"))
    path = os.path.join(gw.spool, "queue", "archive", qid)
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, 0o600)
    if recv_user() is not None:
        import pwd
        os.chown(path, pwd.getpwnam(RUN_USER).pw_uid, -1)


CLIENTS = 10
PER_CLIENT = 400          # upper bound: the loop ends by itself


def test():
    gw = Gateway("crash")
    ok = False
    try:
        gw.start()
        acked = set()
        lock = threading.Lock()
        stop = threading.Event()

        def client(n):
            i = n
            try:
                s = gw.smtp(timeout=10)
                while not stop.is_set() and i < CLIENTS * PER_CLIENT:
                    s.sendmail("sender@client.test", ["rcpt@gw.test"],
                               make_message(i, "crash", size=2000))
                    with lock:
                        acked.add(i)
                    i += CLIENTS
            except Exception:  # noqa: BLE001 - the kill cuts sessions
                pass

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        wait_for(lambda: len(acked) >= 200, 60, "200 acknowledged messages")
        gw.kill_tree()
        stop.set()
        for t in threads:
            t.join(30)
        with lock:
            acknowledged = set(acked)
        check(len(acknowledged) >= 200, "at least 200 acknowledged before the kill")

        whole = make_message(9001, "crash", size=2000)
        torn = make_message(9002, "crash", size=2000)
        planted = {
            "whole": plant_incoming(gw, 1, whole, len(whole)),
            "short": plant_incoming(gw, 2, torn[:1000], len(torn)),
            "unsealed": plant_incoming(gw, 3, torn, None),
        }
        stale = make_message(9003, "crash", size=2000)
        mixed = make_message(9004, "crash", size=2000)
        planted["stale"] = plant_incoming(gw, 4, stale, len(stale))
        planted["mixed"] = plant_incoming(gw, 5, mixed, len(mixed))
        other = "%014x%02x%04x" % (int(time.time() * 1e6) - 5000000, 0, 0x7f99)
        plant_job(gw, planted["stale"], job_text(other, "stale@gw.test"))
        mine = job_text(planted["mixed"], "rcpt@gw.test")
        plant_job(gw, planted["mixed"],
                  mine[:200] + job_text(other, "stale@gw.test")[200:])

        gw.start()
        check(not gw.spool_files("tmp"), "tmp/ cleaned at start-up")
        for what in ("short", "unsealed"):
            qid = planted[what]
            wait_for(lambda: os.path.exists(os.path.join(gw.spool, "corrupt",
                                                         "incoming-" + qid)),
                     30, "the %s file quarantined in corrupt/" % what)
        log = gw.read_log()
        check(re.search(r"%s: unreadable message quarantined in corrupt/: "
                        r"incoming/%s: incomplete, 1\d\d\d bytes after the "
                        r"envelope where its seal says 2\d\d\d" %
                        (planted["short"], planted["short"]), log),
              "the short file's quarantine logged with its sizes")
        check(re.search(r"%s: unreadable message quarantined.*where its seal "
                        r"says 0\b" % planted["unsealed"], log),
              "the unsealed file's quarantine logged")

        def delivered_ids():
            ids = set()
            for data in gw.delivered().values():
                m = re.search(rb"Message-ID: <crash\.(\d+)@client\.test>", data)
                if m:
                    ids.add(int(m.group(1)))
            return ids
        wait_for(lambda: acknowledged <= delivered_ids(), 120,
                 "every acknowledged message delivered after the restart")
        missing = acknowledged - delivered_ids()
        check(not missing, "lost messages: %s" % sorted(missing)[:10])
        wait_for(lambda: 9001 in delivered_ids(), 60,
                 "the whole sealed file planted in incoming/ delivered")
        check(9002 not in delivered_ids(), "nothing of the torn files delivered")
        for what, n in (("stale", 9003), ("mixed", 9004)):
            wait_for(lambda: n in delivered_ids(), 60,
                     "the message under a %s job delivered" % what)
            check(os.path.exists(os.path.join(
                gw.spool, "corrupt", "queue-archive-" + planted[what])) or
                  os.path.exists(os.path.join(
                      gw.spool, "corrupt", "active-archive-" + planted[what])),
                  "the %s job file moved to corrupt/" % what)
        wait_for(lambda: not gw.spool_files("incoming") and not gw.spool_files("queue")
                 and not gw.spool_files("active"), 60, "the queue to drain")
        print("acknowledged %d, delivered %d files" % (len(acknowledged), len(gw.delivered())))
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
