#!/usr/bin/env python3
"""The queue console's last two parts through gatewayctl (issue 18, point
5): the counters of the last hour and a message's log lines.

* gatewayctl stats --history: one row a minute, the current minute last
  and marked; three messages sent show in the minute they were sent in
  (received and delivered 3), and nowhere else; --json gives the same as
  JSON Lines;
* gatewayctl queue log ID, with log.history_file set to the foreground
  daemon's log: the message's receive, routing and delivery lines, and
  no line of the two other messages (whose IDs differ from it in the
  last digit only); --json gives them as JSON Lines; when the tests run
  as root the file is made root's own and mode 0600 first: the control
  child opens it before it drops to the queue user, so it still reads
  it; a read is not logged as an operator's action;
* a malformed ID exits 65; a reload without log.history_file makes
  queue log exit 78 ("not set"); a reload that points it at a symbolic
  link makes it exit 69 (not followed) and the master warns at the reload.
"""
import json
import os
import re
import subprocess
import time

import gwtest
from gwtest import GATEWAYCTL, Gateway, check, main, wait_for

LOG_EXTRA = "log:\n  history_file: %s"


def ctl(gw, *args):
    return subprocess.run([GATEWAYCTL, "-s", gw.sock] + list(args),
                          capture_output=True, text=True, timeout=30)


def rewrite(gw, extra):
    gw.write_config([{"name": "archive", "type": "folder",
                      "settings": {"path": gw.mail}}],
                    [{"name": "all", "connector": "archive"}],
                    ["127.0.0.0/8", "::1"], ["gw.test"], extra)


def history(gw):
    r = ctl(gw, "stats", "--history", "--json")
    check(r.returncode == 0, "stats --history --json: %s" % r.stderr)
    return [json.loads(l) for l in r.stdout.splitlines()]


def check_history(gw, minute):
    """The minute the messages were sent in has them; no other row does."""
    # the children send their counters a moment later (stats.h)
    wait_for(lambda: sum(x["received"] for x in history(gw)) >= 3, 15,
             "the receiver's counters in the history")
    rows = history(gw)
    check(rows and rows[-1]["current"] and not any(x["current"] for x in rows[:-1]),
          "the current minute is the last row, alone: %r" % rows)
    check(len(rows) <= 60, "at most an hour of rows: %d" % len(rows))
    sent = [x for x in rows if x["time"] == minute]
    check(len(sent) == 1 and sent[0]["received"] == 3 and sent[0]["delivered"] == 3,
          "the minute %d has the 3 messages: %r" % (minute, rows))
    check(sum(x["received"] for x in rows) == 3 and sum(x["bounced"] for x in rows) == 0,
          "no other minute counts them: %r" % rows)
    text = ctl(gw, "stats", "--history").stdout.splitlines()
    check(text[0].split()[:3] == ["minute", "(UTC)", "received"], "the header: %r" % text[:1])
    check(len(text) == len(rows) + 1 and re.match(r"^\S+\*\s", text[-1]),
          "the table's last row is the current minute, marked: %r" % text)
    return sent[0]


def check_log(gw, qids):
    """queue log: this message's lines, none of the others'."""
    qid, others = qids[0], qids[1:]
    r = ctl(gw, "queue", "log", qid)
    check(r.returncode == 0, "queue log: %d %s" % (r.returncode, r.stderr))
    lines = r.stdout.splitlines()
    check(all(qid in l for l in lines), "only lines with %s: %r" % (qid, lines))
    check(not any(o in r.stdout for o in others), "nothing of the others: %r" % lines)
    check(any("gatewayd-receiver" in l and qid + ": from=<s@client.test>" in l for l in lines),
          "the receive line: %r" % lines)
    check(any("gatewayd-worker/archive" in l and "status=sent" in l for l in lines),
          "the delivery line: %r" % lines)
    check(any("routed to archive" in l for l in lines), "the routing line: %r" % lines)
    j = ctl(gw, "queue", "log", qid, "--json")
    jl = [json.loads(l) for l in j.stdout.splitlines()]
    check([x["line"] for x in jl] == lines and not any(x["cut"] for x in jl),
          "--json gives the same lines: %r" % jl)
    return lines


def test():
    gw = Gateway("opshist")
    rewrite(gw, LOG_EXTRA % gw.log)
    ok = False
    try:
        gw.start()
        if gwtest.run_user():
            os.chown(gw.log, 0, 0)      # the daemon keeps writing to its stderr
            os.chmod(gw.log, 0o600)
        # the counters reach the master a moment after the messages
        # (stats.h), and a row is the minute they arrive in: start early
        # in a minute so that sending and counting both end in it
        if time.time() % 60 > 30:
            time.sleep(61 - time.time() % 60)
        before = time.time()
        with gw.smtp() as s:
            for i in range(3):
                s.sendmail("s@client.test", ["r%d@gw.test" % i], gwtest.make_message(i, "hist"))
        wait_for(lambda: len(gw.delivered()) == 3, 30, "the three messages delivered")
        wait_for(lambda: gw.read_log().count("status=sent") == 3, 30, "three delivery lines")
        wait_for(lambda: all(sum(x[k] for x in history(gw)) >= 3
                             for k in ("received", "delivered")), 15,
                 "the receiver's and the worker's counters in the history")
        after = time.time()
        if int(before // 60) == int(after // 60):
            check_history(gw, int(before // 60) * 60)
        else:
            print("the minute changed before the counters came: the history "
                  "check is skipped")
        qids = sorted(set(re.findall(r"gatewayd-receiver\[\d+\]: ([0-9a-f]{20}): from=",
                                     gw.read_log())))
        check(len(qids) == 3, "three queue IDs in the log: %r" % qids)
        for i in range(3):
            check_log(gw, qids[i:] + qids[:i])
        log = gw.read_log()
        check(not re.search(r"operator uid=\d+: (queue log|stats)", log),
              "reads are not logged as actions")
        r = ctl(gw, "queue", "log", "not-an-id")
        check(r.returncode == 65 and "not a queue ID" in r.stderr, "a bad ID: %r" % (r,))
        r = ctl(gw, "queue", "log")
        check(r.returncode == 64, "queue log without an ID: %r" % (r,))
        rewrite(gw, "")
        gw.ctl("reload")
        r = ctl(gw, "queue", "log", qids[0])
        check(r.returncode == 78 and "log.history_file is not set" in r.stderr,
              "not configured: %r" % (r,))
        link = os.path.join(gw.dir, "log-link")
        os.symlink(gw.log, link)
        rewrite(gw, LOG_EXTRA % link)
        gw.ctl("reload")
        r = ctl(gw, "queue", "log", qids[0])
        check(r.returncode == 69 and "symbolic links" in r.stderr and r.stdout == "",
              "a symbolic link is not followed: %r" % (r,))
        wait_for(lambda: "warning: log.history_file %s: " % link in gw.read_log(), 10,
                 "the master's warning at the reload")
        ok = True
    finally:
        gw.cleanup(ok)


if __name__ == "__main__":
    main(test)
