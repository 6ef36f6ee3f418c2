#!/usr/bin/env python3
"""Log lines an admin's tools parse, and the operator's tools (issue 17,
points 5 and 6): delivery lines read with a regular expression like
pflogsumm's (to=, relay=, delay=, delays=a/b/c/d, dsn=, status=) carry the
rule and the message-id, the delays add up to the delay; warnings start
with "warning:"; gatewayctl's options go through getopt_long (queue list
-s is --state; an unknown option exits 64); route test shows the rules one
by one; config dump prints every setting or the changed ones; operator
actions are logged with the uid and the queue IDs."""
import json
import os
import re
import signal
import subprocess

from gwtest import GATEWAYCTL, Gateway, check, main, record_file, wait_for

# pflogsumm's delivery line, and the fields gatewayd adds after status
DELIVERY = re.compile(
    r"gatewayd-worker/\S+\[\d+\]: (?P<qid>[0-9a-f]{20}): to=<(?P<to>[^>]*)>, "
    r"(?:orig_to=<[^>]*>, )?relay=(?P<relay>[^,]+), (?:conn_use=[^,]+, )?"
    r"delay=(?P<delay>[^,]+), (?:delays=(?P<delays>[^,]+), )?(?:dsn=(?P<dsn>[^,]+), )?"
    r"status=(?P<status>\S+) \((?P<text>.*)\), rule=(?P<rule>[^,]+), "
    r"message-id=(?P<mid>[^,]+), attempts=(?P<attempts>\d+)$", re.M)
NUM = r"(?:0|\d+\.\d\d)"


def ctl(gw, *args):
    return subprocess.run([GATEWAYCTL, "-s", gw.sock] + list(args),
                          capture_output=True, text=True, timeout=30)


def test():
    gw = Gateway("opslog", connectors=[{"name": "t1", "type": "testconn",
                                        "retry": {"min_backoff": "1h"},
                                        "settings": {"record": "/dev/null"}}],
                 rules=[{"name": "temps", "recipient": "temp*", "connector": "t1"},
                        {"name": "rest", "connector": "t1"}])
    ok = False
    try:
        rec = record_file(gw)
        gw.write_config([{"name": "t1", "type": "testconn", "retry": {"min_backoff": "1h"},
                          "settings": {"record": rec}}],
                        [{"name": "temps", "recipient": "temp*", "connector": "t1"},
                         {"name": "rest", "connector": "t1"}], ["127.0.0.0/8"], ["gw.test"])
        gw.start()
        msgs = {"ok1@gw.test": "<m1.ops@client.test>", "perm1@gw.test": "<m2.ops@client.test>",
                "temp1@gw.test": "<m3.ops@client.test>"}
        with gw.smtp() as s:
            for to, mid in msgs.items():
                s.sendmail("s@client.test", [to], ("From: s@client.test\r\nTo: %s\r\n"
                           "Message-ID: %s\r\nSubject: x\r\n\r\nbody\r\n" % (to, mid)).encode())
        wait_for(lambda: set(msgs) <= {m.group("to") for m in DELIVERY.finditer(gw.read_log())},
                 30, "a delivery line for each recipient")
        lines = {m.group("to"): m for m in DELIVERY.finditer(gw.read_log())}
        want = {"ok1@gw.test": ("sent", "2.", "rest"), "perm1@gw.test": ("failed", "5.", "rest"),
                "temp1@gw.test": ("deferred", "4.", "temps")}
        for to, (status, dsn, rule) in want.items():
            m = lines.get(to)
            check(m is not None, "a delivery line for %s:\n%s" % (to, gw.read_log()))
            check(m.group("status") == status, "%s: status=%s" % (to, m.group("status")))
            check(m.group("dsn").startswith(dsn), "%s: dsn=%s" % (to, m.group("dsn")))
            check(m.group("rule") == rule, "%s: rule=%s" % (to, m.group("rule")))
            check(m.group("mid") == msgs[to], "%s: message-id=%s" % (to, m.group("mid")))
            check(m.group("relay") == "t1[testconn]", "relay=%s" % m.group("relay"))
            check(re.fullmatch(NUM, m.group("delay")), "delay=%s" % m.group("delay"))
            parts = m.group("delays").split("/")
            check(len(parts) == 4 and all(re.fullmatch(NUM, p) for p in parts),
                  "delays=a/b/c/d: %s" % m.group("delays"))
            total = sum(float(p) for p in parts)
            check(abs(total - float(m.group("delay"))) <= 0.05,
                  "%s: delays %s add up to delay %s" % (to, m.group("delays"), m.group("delay")))
        # getopt_long: -s after the verb is the state, not the socket
        r = ctl(gw, "--json", "queue", "list", "-s", "deferred")
        check(r.returncode == 0, "queue list -s deferred: %s" % r.stderr)
        items = [json.loads(l) for l in r.stdout.splitlines() if l.strip().startswith("{")]
        if not items and r.stdout.strip().startswith("["):
            items = json.loads(r.stdout)
        rcpts = [x["recipients"][0]["address"] for x in items]
        check(rcpts == ["temp1@gw.test"], "only the deferred job listed: %r" % r.stdout)
        qid = lines["temp1@gw.test"].group("qid")
        r = ctl(gw, "queue", "list", "--state=deferred", "--bogus")
        check(r.returncode == 64 and "unknown option '--bogus'" in r.stderr,
              "unknown verb option: 64: %d %s" % (r.returncode, r.stderr))
        r = subprocess.run([GATEWAYCTL, "--bogus", "-s", gw.sock, "status"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 64, "unknown global option: 64, got %d" % r.returncode)
        r = subprocess.run([GATEWAYCTL, "--help"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "usage:" in r.stdout, "--help exits 0")
        # route test: rule by rule, with the router's code, from the file
        r = subprocess.run([GATEWAYCTL, "-c", gw.config, "route", "test", "temp9@gw.test",
                            "--sender", "s@client.test", "--client", "127.0.0.1"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "rule 1 temps: matches" in r.stdout and
              re.search(r"^job: connector t1, <temp9@gw\.test> .*rule=temps", r.stdout, re.M),
              "route test temp9: %d %s %s" % (r.returncode, r.stdout, r.stderr))
        r = subprocess.run([GATEWAYCTL, "-c", gw.config, "route", "test", "--auth=u",
                            "ok9@gw.test"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "rule 1 temps: does not match: recipient" in r.stdout and
              "rule 2 rest: matches" in r.stdout and "RCPT answer: 250" in r.stdout,
              "route test ok9: %s" % r.stdout)
        # config dump: every setting; --changed: those that differ from the defaults
        r = subprocess.run([GATEWAYCTL, "-c", gw.config, "config", "dump"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "spool = %s\n" % gw.spool in r.stdout and
              "connectors[0].name = t1\n" in r.stdout and "log_verbose = no\n" in r.stdout and
              "rules[1].name = rest\n" in r.stdout, "config dump:\n" + r.stdout + r.stderr)
        r = subprocess.run([GATEWAYCTL, "-c", gw.config, "config", "dump", "--changed"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0 and "spool = %s\n" % gw.spool in r.stdout and
              "smtp.hostname = gw.test\n" in r.stdout and "log_verbose" not in r.stdout,
              "config dump --changed:\n" + r.stdout + r.stderr)
        # operator actions logged with the uid and the IDs
        r = ctl(gw, "queue", "hold", qid)
        check(r.returncode == 0, "hold: %s" % r.stderr)
        r = ctl(gw, "pause", "delivery", "t1")
        check(r.returncode == 0, "pause: %s" % r.stderr)
        log = gw.read_log()
        check(re.search(r"operator uid=%d: queue hold %s$" % (os.geteuid(), qid), log, re.M),
              "hold logged with uid and ID:\n" + log[-2000:])
        check(re.search(r"operator uid=%d: pause delivery t1$" % os.geteuid(), log, re.M),
              "pause logged")
        check(not re.search(r"operator uid=\d+: queue list", log), "a listing is no action")
        # a warning: a worker killed; the master's line starts with "warning:"
        pid = [p for p, a in gw.children().items() if "gatewayd-worker" in a[0]][0]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: re.search(r"\]: warning: worker t1 .*killed by signal 9",
                                   gw.read_log()), 20, "the warning line")
        ok = True
    finally:
        gw.cleanup(ok)


if __name__ == "__main__":
    main(test)
