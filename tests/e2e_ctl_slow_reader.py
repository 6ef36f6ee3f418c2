#!/usr/bin/env python3
"""e2e_ctl_slow_reader - a long gatewayctl answer to a client that reads slowly.

`gatewayctl --json queue list` of a queue whose JSON is far larger than
the socket buffers, with gatewayctl's own output read only after a pause:
the child answering must block, not lose or repeat buffered output (the
control connection is non-blocking in the master).  Every line must be
valid JSON, every job listed once with all its recipients.
"""
import json
import subprocess
import time

from gwtest import GATEWAYCTL, Gateway, check, main, make_message, wait_for

MESSAGES, RCPTS = 8, 1000


def test():
    gw = Gateway("ctl-slow-reader", smtp={"max_recipients": RCPTS}).start()
    ok = False
    try:
        gw.ctl("pause", "delivery")
        rcpts = ["r%04d@example.org" % i for i in range(RCPTS)]
        with gw.smtp() as s:
            for i in range(MESSAGES):
                s.sendmail("sender@client.test", rcpts, make_message(i, "slow"))
        wait_for(lambda: len(gw.spool_files("queue")) == MESSAGES, 30, "jobs queued")
        p = subprocess.Popen([GATEWAYCTL, "-s", gw.sock, "--json", "queue", "list"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(1.5)          # let the pipe and the socket fill up
        out, err = p.communicate(timeout=60)
        check(p.returncode == 0, "queue list exit %d: %r" % (p.returncode, err[:300]))
        check(len(out) > 4 * 1024 * 1024 // 8, "a long answer (%d bytes)" % len(out))
        ids = []
        for line in out.decode().splitlines():
            try:
                job = json.loads(line)
            except ValueError:
                check(False, "not a JSON line: %r" % line[:200])
            ids.append(job["queue_id"])
            check(sorted(r["address"] for r in job["recipients"]) == rcpts,
                  "job %s lists its %d recipients" % (job["queue_id"], RCPTS))
        check(len(ids) == MESSAGES and len(set(ids)) == MESSAGES,
              "every job listed once: %d lines, %d distinct" % (len(ids), len(set(ids))))
        ok = True
    finally:
        gw.cleanup(ok)


if __name__ == "__main__":
    main(test)
