#!/usr/bin/env python3
"""Crash: while clients send, kill -9 the whole process tree right after a
batch of 250 replies; restart; every acknowledged message is delivered
(counted by Message-ID: none lost, duplicates allowed only as 'at least
once'), and unacknowledged tmp/ files are gone."""
import re
import threading
import time

from gwtest import Gateway, check, main, make_message, wait_for

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

        gw.start()
        check(not gw.spool_files("tmp"), "tmp/ cleaned at start-up")

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
        wait_for(lambda: not gw.spool_files("incoming") and not gw.spool_files("queue")
                 and not gw.spool_files("active"), 60, "the queue to drain")
        print("acknowledged %d, delivered %d files" % (len(acknowledged), len(gw.delivered())))
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
