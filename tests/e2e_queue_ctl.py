#!/usr/bin/env python3
"""gatewayctl queue commands and operations against the real daemon, with
mail deferred by the test connector (temp* recipients): list/show in both
formats, hold/release, delete by ID and from stdin, retry, requeue after a
rule change and reload, expire producing a bounce, pause/resume of
receiving (421 4.3.2) and of delivery, stats that move (text, JSON,
Prometheus), monitor --count, queue check --repair, offline list/show."""
import json
import os
import re
import socket
import shutil
import smtplib
import subprocess
import time

import gwtest
from gwtest import (CONNECTORS, GATEWAYCTL, TEST_CONNECTORS, Gateway, check,
                    main, record_file, settle, wait_for)


def connector_abi():
    """The connector ABI version of the built header (configure.ac defines it)."""
    with open(os.path.join(gwtest.TOP_BUILDDIR, "include", "gatewayd", "connector.h")) as f:
        return int(re.search(r"#define GW_CONNECTOR_ABI_VERSION (\d+)u", f.read()).group(1))


def ctl(gw, *args, stdin=None, json_out=False):
    cmd = [GATEWAYCTL, "-c", gw.config, "-s", gw.sock] + (["--json"] if json_out else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, input=stdin)


def jlist(gw, *filters):
    r = ctl(gw, "queue", "list", *filters, json_out=True)
    check(r.returncode == 0, "queue list --json: %d %s" % (r.returncode, r.stderr))
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def send(gw, rcpts, subject="x"):
    s = gw.smtp()
    s.sendmail("sender@client.test", rcpts, ("Subject: %s\r\n\r\nbody %s\r\n" % (subject, subject)).encode())
    s.quit()


def clone_jobs(gw, qid, n):
    """n copies of queued job qid in queue/relay (only the id line changed,
    the data hard-linked, owners kept); the number of jobs there after"""
    qdir = os.path.join(gw.spool, "queue", "relay")
    src = os.path.join(qdir, qid)
    for st in ("deferred", "hold"):
        if not os.path.exists(src):
            src = os.path.join(gw.spool, st, "relay", qid)
    job = open(src, "rb").read()
    sj = os.stat(src)
    data = os.path.join(gw.spool, "data", qid + ".relay")
    base = int(time.time() * 1e6) - n - 1000
    for i in range(n):
        q = "%014xff%04x" % (base + i, i & 0xffff)
        os.link(data, os.path.join(gw.spool, "data", q + ".relay"))
        fd = os.open(os.path.join(qdir, q), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, job.replace(qid.encode(), q.encode()))
        os.fchown(fd, sj.st_uid, sj.st_gid)
        os.close(fd)
    return len(os.listdir(qdir))


def stats(gw):
    r = ctl(gw, "stats", json_out=True)
    check(r.returncode == 0, "stats --json: %s" % r.stderr)
    return json.loads(r.stdout)


def pause_receive(gw, pause):
    """pause|resume receive, then wait until every receiver applied it: the
    master answers once it has passed the word on, not once it took effect."""
    mark = len(gw.read_log())
    r = ctl(gw, "pause" if pause else "resume", "receive")
    check(r.returncode == 0, r.stderr)
    st = json.loads(ctl(gw, "status", json_out=True).stdout)
    n = sum(1 for p in st["processes"] if p["role"] == "receiver")
    check(n >= 1, "receivers in status: %s" % st)
    line = "receiving %s by the operator" % ("paused" if pause else "resumed")
    wait_for(lambda: gw.read_log()[mark:].count(line) >= n, 20,
             "%d receivers to log '%s'" % (n, line))


def connector_dir(gw):
    """testconn and folder side by side, as the master wants every .so."""
    d = os.path.join(gw.dir, "connectors")
    os.makedirs(d)
    for src in (os.path.join(TEST_CONNECTORS, "testconn.so"), os.path.join(CONNECTORS, "folder.so")):
        dst = os.path.join(d, os.path.basename(src))
        shutil.copy(src, dst)
        os.chmod(dst, 0o755)
    os.chmod(d, 0o755)
    return d


def set_rules(gw, cdir, rules_text):
    with open(gw.config) as f:
        text = f.read()
    head = text.split("rules:\n")[0]
    import re
    head = re.sub(r"connector_dir: .*", "connector_dir: %s" % cdir, head)
    with open(gw.config, "w") as f:
        f.write(head + "rules:\n" + rules_text)


def test():
    record = None
    gw = Gateway("qctl", connectors=[
        {"name": "relay", "type": "testconn", "retry": {"min_backoff": 600, "max_backoff": 600}},
        {"name": "archive", "type": "folder", "settings": {"path": "/tmp/placeholder"}},
    ], rules=[{"name": "all", "connector": "relay"}])
    ok = False
    try:
        cdir = connector_dir(gw)
        record = record_file(gw)
        with open(gw.config) as f:
            text = f.read()
        text = text.replace("connector_dir: %s" % TEST_CONNECTORS, "connector_dir: %s" % cdir)
        text = text.replace("path: /tmp/placeholder", "path: %s" % gw.mail)
        text = text.replace("    type: testconn\n", "    type: testconn\n    settings:\n      record: %s\n" % record)
        with open(gw.config, "w") as f:
            f.write(text)
        gw.start()

        # Four deferred messages.
        for i in range(4):
            send(gw, ["temp%d@gw.test" % i], "m%d" % i)
        wait_for(lambda: len(jlist(gw, "--state", "deferred")) == 4, 20, "4 deferred jobs")
        wait_for(lambda: stats(gw)["counters"]["received"] == 4, 20, "4 messages counted")
        items = jlist(gw)
        q = {it["recipients"][0]["address"]: it["queue_id"] for it in items}
        for it in items:
            for k in ("queue_name", "queue_id", "arrival_time", "message_size", "sender", "recipients"):
                check(k in it, "JSON has %s: %s" % (k, it))
            check(it["forced_expire"] is False and isinstance(it["arrival_time"], int), "types: %s" % it)
            r0 = it["recipients"][0]
            # min_backoff 600: the next attempt is about ten minutes after the first
            check(r0["delay_reason"].startswith("451 4.2.0 ") and "temporary failure" in r0["delay_reason"]
                  and it["arrival_time"] + 590 <= r0["next_attempt"] <= time.time() + 610
                  and it["next_attempt"] == r0["next_attempt"] and r0["state"] == "deferred",
                  "delay reason and next attempt: %s" % it)
            check(it["message_size"] > 0, "size known: %s" % it)
        out = ctl(gw, "queue", "list").stdout
        check(out.startswith("QUEUE-ID") and q["temp0@gw.test"] in out and "deferred" in out, out)
        # filters
        check([i["queue_id"] for i in jlist(gw, "--recipient", "TEMP1@*")] == [q["temp1@gw.test"]], "recipient filter")
        check(jlist(gw, "--sender", "nobody@*") == [], "sender filter")
        check(len(jlist(gw, "--older-than", "3600")) == 0, "older-than filter")
        check(len(jlist(gw, "--connector", "archive")) == 0, "connector filter")
        r = ctl(gw, "queue", "list", "--state", "bogus")
        check(r.returncode == 64 and "bogus" in r.stderr, "bad --state: %d %r" % (r.returncode, r.stderr))
        # show, with and without body, JSON
        r = ctl(gw, "queue", "show", q["temp0@gw.test"], "--body")
        check(r.returncode == 0 and "rcpt deferred temp0@gw.test" in r.stdout and "body m0" in r.stdout, r.stdout)
        r = ctl(gw, "queue", "show", q["temp0@gw.test"], json_out=True)
        check(json.loads(r.stdout)["queue_id"] == q["temp0@gw.test"], "show --json")
        r = ctl(gw, "queue", "show", "00000000000000000000")
        check(r.returncode == 66 and "00000000000000000000: no such message" in r.stderr, "unknown ID: %r" % r.stderr)
        r = ctl(gw, "queue", "hold", "not-an-id")
        check(r.returncode == 65 and "not-an-id" in r.stderr, "malformed ID: %d %r" % (r.returncode, r.stderr))

        # hold then release (release makes it due now: attempts grows)
        r = ctl(gw, "queue", "hold", q["temp0@gw.test"])
        check(r.returncode == 0 and "held" in r.stdout, r.stderr)
        held = jlist(gw, "--recipient", "temp0@*")
        check([i["queue_name"] for i in held] == ["hold"] and held[0]["next_attempt"] == 0 and
              held[0]["recipients"][0]["next_attempt"] == 0 and
              "temporary failure" in held[0]["recipients"][0]["delay_reason"], "held: %s" % held)
        r = ctl(gw, "queue", "release", q["temp0@gw.test"])
        check(r.returncode == 0, r.stderr)
        wait_for(lambda: [i["attempts"] for i in jlist(gw, "--recipient", "temp0@*")] == [2], 20,
                 "released job tried again")

        # delete by ID, and by - from standard input
        r = ctl(gw, "queue", "delete", q["temp1@gw.test"])
        check(r.returncode == 0 and "deleted" in r.stdout, r.stderr)
        r = ctl(gw, "queue", "delete", "-", stdin=q["temp2@gw.test"] + "\n")
        check(r.returncode == 0 and "deleted" in r.stdout, r.stderr)
        left = [i["queue_id"] for i in jlist(gw)]
        check(sorted(left) == sorted([q["temp0@gw.test"], q["temp3@gw.test"]]), "two left: %s" % left)
        check(not any(q["temp1@gw.test"] in n for n in os.listdir(os.path.join(gw.spool, "data"))),
              "data link of the deleted job removed")
        # deleted files wait in trash/ until the control child, its answer
        # given, unlinks them
        wait_for(lambda: gw.spool_files("trash") == [], 10, "trash/ swept after the deletes")

        # retry: the upstream comes back (rule to the folder connector is a
        # reroute; here retry just makes the job due now)
        before = [i["attempts"] for i in jlist(gw, "--recipient", "temp3@*")][0]
        r = ctl(gw, "queue", "retry", "--connector", "relay")
        check(r.returncode == 0, r.stderr)
        wait_for(lambda: [i["attempts"] for i in jlist(gw, "--recipient", "temp3@*")] == [before + 1],
                 20, "retry attempted the job again")

        # requeue after a rule change and reload: temp3 now goes to the folder
        set_rules(gw, cdir, '  - name: all\n    connector: "archive"\n')
        r = ctl(gw, "reload")
        check(r.returncode == 0 and "reloaded" in r.stdout, "reload: %r" % r.stderr)
        gw.wait_ready()
        r = ctl(gw, "queue", "requeue", q["temp3@gw.test"])
        check(r.returncode == 0 and "requeued" in r.stdout, r.stderr)
        wait_for(lambda: any(b"body m3" in v for v in gw.delivered().values()), 20,
                 "requeued message delivered by the new rule")
        # the folder's file appears before the worker removes the job
        left = settle(lambda: [i["queue_id"] for i in jlist(gw)],
                      lambda ids: ids == [q["temp0@gw.test"]], 20)
        check(left == [q["temp0@gw.test"]], "only temp0 left: %s" % left)

        # expire: the job fails now and a DSN goes to the sender
        set_rules(gw, cdir, '  - name: all\n    connector: "relay"\n')
        check(ctl(gw, "reload").returncode == 0, "reload back")
        gw.wait_ready()
        st0 = stats(gw)
        r = ctl(gw, "queue", "expire", q["temp0@gw.test"])
        check(r.returncode == 0 and "expired" in r.stdout, r.stderr)

        def dsn_sent():
            try:
                with open(record) as f:
                    return [l for l in f if "sender@client.test" in l]
            except OSError:
                return []
        wait_for(dsn_sent, 20, "the DSN of the expired message delivered to the sender")
        check(q["temp0@gw.test"] not in [i["queue_id"] for i in jlist(gw)], "expired job gone")
        # the counters reach the master by their own message
        st1 = settle(lambda: stats(gw), lambda st: st["counters"].get("bounced", 0) >
                     st0["counters"].get("bounced", 0), 20)
        check(st1["counters"]["bounced"] > st0["counters"].get("bounced", 0), "bounced counted")

        # pause receiving: 421 4.3.2; resume
        pause_receive(gw, True)
        code = None
        try:
            smtplib.SMTP("127.0.0.1", gw.port, timeout=10)
        except smtplib.SMTPConnectError as e:
            code = (e.smtp_code, e.smtp_error)
        check(code and code[0] == 421 and b"4.3.2" in code[1], "paused: %r" % (code,))
        check("paused" in ctl(gw, "status").stdout, "status shows the pause")
        pause_receive(gw, False)
        send(gw, ["ok1@gw.test"], "after resume")

        # pause delivery of relay: the message waits in queue/; resume delivers it
        check(ctl(gw, "pause", "delivery", "relay").returncode == 0, "pause delivery")
        send(gw, ["ok2@gw.test"], "while paused")
        wait_for(lambda: [i["queue_name"] for i in jlist(gw, "--recipient", "ok2@*")] == ["queue"], 20,
                 "job waits while delivery is paused")
        time.sleep(1)
        check([i["queue_name"] for i in jlist(gw, "--recipient", "ok2@*")] == ["queue"], "still waiting")
        check(ctl(gw, "resume", "delivery", "relay").returncode == 0, "resume delivery")
        wait_for(lambda: jlist(gw, "--recipient", "ok2@*") == [], 20, "delivered after resume")


        # stats moved, in all three forms (the receivers send theirs each second)
        def moved(c):
            return (c["received"] >= 6 and c["delivered"] >= 3 and c["deferred"] >= 5 and
                    c["connections"] >= 6 and c.get("reject.421.4.3.2", 0) >= 1 and
                    c.get("connections_refused", 0) >= 1)
        st2 = settle(lambda: stats(gw), lambda st: moved(st["counters"]), 20)
        c = st2["counters"]
        check(c["received"] >= 6 and c["delivered"] >= 3 and c["deferred"] >= 5 and c["connections"] >= 6,
              "counters moved: %s" % c)
        check(c.get("reject.421.4.3.2", 0) >= 1 and c["connections_refused"] >= 1, "421 counted: %s" % c)
        check(set(st2["queue"]) == {"incoming", "queue", "active", "deferred", "hold", "failed"}, "every state")
        prom = ctl(gw, "--prometheus", "stats").stdout
        check("# TYPE gatewayd_messages_received_total counter" in prom and
              'gatewayd_smtp_rejections_total{code="421",enhanced="4.3.2"}' in prom and
              'gatewayd_queue_size{state="hold"} 0' in prom and
              'gatewayd_delivery_suspended{connector="relay"} 0' in prom and
              '# TYPE gatewayd_delivery_paused gauge' in prom, prom)
        st = json.loads(ctl(gw, "status", json_out=True).stdout)
        check({x["instance"] for x in st["connectors"]} == {"relay", "archive"} and
              all(x["version"] and x["abi"] == connector_abi() for x in st["connectors"]),
              "connectors in status: %s" % st)
        r = ctl(gw, "monitor", "--count", "2")
        check(r.returncode == 0 and len(r.stdout.splitlines()) == 3, "monitor: %r" % r.stdout)

        # connectors list
        r = ctl(gw, "connectors")
        check(r.returncode == 0 and "testconn" in r.stdout and "relay" in r.stdout and "folder" in r.stdout, r.stdout)

        # queue check: an orphaned data link and a corrupt job, repaired
        with open(os.path.join(gw.spool, "hold", "relay", "0000000000000001ff00"), "w") as f:
            f.write("garbage\n")
        with open(os.path.join(gw.spool, "data", "0000000000000002ff00.relay"), "w") as f:
            f.write("gatewayd-envelope 1\n")
        r = ctl(gw, "queue", "check")
        check(r.returncode == 65 and "hold/relay/0000000000000001ff00" in r.stdout and
              "data/0000000000000002ff00.relay: data link without a job" in r.stdout, "check: %r %r" % (r.stdout, r.stderr))
        r = ctl(gw, "queue", "check", "--repair")
        check(r.returncode == 0 and "moved to corrupt" in r.stdout, "repair: %r" % r.stdout)
        check(ctl(gw, "queue", "check").returncode == 0, "consistent after repair")
        check(len(os.listdir(os.path.join(gw.spool, "corrupt"))) >= 2, "quarantined files")

        # the pause state outlives a restart of the daemon
        check(ctl(gw, "pause", "delivery", "relay").returncode == 0, "pause delivery")
        send(gw, ["ok3@gw.test"], "across a restart")
        wait_for(lambda: [i["queue_name"] for i in jlist(gw, "--recipient", "ok3@*")] == ["queue"],
                 20, "job waits while delivery is paused")
        check(ctl(gw, "pause", "receive").returncode == 0, "pause receive")
        gw.stop()
        mark = len(gw.read_log())
        gw.start(wait_ready=False)
        wait_for(lambda: "delivery by relay stays paused" in gw.read_log()[mark:] and
                 "receiving stays paused" in gw.read_log()[mark:], 20, "the pause state restored")

        def greeting():
            try:
                with socket.create_connection(("127.0.0.1", gw.port), timeout=2) as c:
                    return c.recv(512)
            except OSError:
                return b""
        wait_for(lambda: greeting().startswith(b"421 4.3.2"), 20, "421 after the restart")
        # the workers start once the router is ready
        wait_for(lambda: "delivery paused" in ctl(gw, "status").stdout, 20,
                 "status: delivery paused after the restart")
        time.sleep(1.5)
        check([i["queue_name"] for i in jlist(gw, "--recipient", "ok3@*")] == ["queue"],
              "the job still waits after the restart")
        check(ctl(gw, "resume", "receive").returncode == 0, "resume receive")
        gw.wait_ready()
        check(ctl(gw, "resume", "delivery", "relay").returncode == 0, "resume delivery")
        wait_for(lambda: jlist(gw, "--recipient", "ok3@*") == [], 20, "delivered after resume")
        check(not os.path.exists(os.path.join(gw.spool, "paused")), "no pause state left")

        # ALL: every job, in queue ID order, the same lines as by ID
        for i in range(3):
            send(gw, ["tempall%d@gw.test" % i], "all%d" % i)
        wait_for(lambda: len(jlist(gw, "--recipient", "tempall*")) == 3 and
                 all(j["queue_name"] == "deferred" for j in jlist(gw, "--recipient", "tempall*")),
                 20, "3 more deferred jobs")
        check(ctl(gw, "pause", "delivery", "relay").returncode == 0, "pause delivery for ALL")
        mine = sorted(j["queue_id"] for j in jlist(gw, "--recipient", "tempall*"))
        for verb, done, state in (("hold", "held", "hold"), ("release", "queued for delivery", "queue"),
                                  ("delete", "deleted", None)):
            before = sorted(j["queue_id"] for j in jlist(gw) if j["queue_name"] != "active")
            r = ctl(gw, "queue", verb, "ALL")
            ids = [l.split(":")[0] for l in r.stdout.splitlines() if l.strip()]
            check(ids == sorted(ids) and set(ids) == set(before), "%s ALL: %r" % (verb, r.stdout))
            for qid in mine:
                check("%s: %s (relay)" % (qid, done) in r.stdout, "%s ALL: %s: %r" % (verb, qid, r.stdout))
            left = {j["queue_id"]: j["queue_name"] for j in jlist(gw)}
            check(all(left.get(qid) == state for qid in mine), "after %s ALL: %s" % (verb, left))
        check(not [j for j in jlist(gw) if j["queue_name"] != "active"], "delete ALL left nothing")
        wait_for(lambda: gw.spool_files("trash") == [], 10, "trash/ swept after delete ALL")
        check(ctl(gw, "resume", "delivery", "relay").returncode == 0, "resume delivery after ALL")

        # offline: list and show read the spool; the others say they need the daemon
        send(gw, ["temp9@gw.test", "ok9@gw.test"], "offline")
        wait_for(lambda: len(jlist(gw, "--state", "deferred")) == 1, 20, "one deferred")
        qid = jlist(gw)[0]["queue_id"]
        rs = {r["address"]: r for r in jlist(gw)[0]["recipients"]}
        check(rs["ok9@gw.test"]["state"] == "done" and "delay_reason" not in rs["ok9@gw.test"] and
              rs["ok9@gw.test"]["result"].startswith("250 2.0.0 ") and
              rs["ok9@gw.test"]["next_attempt"] == 0 and
              rs["temp9@gw.test"]["delay_reason"].startswith("451 4.2.0 "), "done and deferred: %s" % rs)
        gw.stop()
        r = ctl(gw, "queue", "list", json_out=True)
        check(r.returncode == 0 and qid in r.stdout and "not running" in r.stderr, "offline list: %r" % r.stderr)
        r = ctl(gw, "queue", "show", qid)
        check(r.returncode == 0 and "temp9@gw.test" in r.stdout, "offline show")
        r = ctl(gw, "queue", "hold", qid)
        check(r.returncode == 69 and "needs the running daemon" in r.stderr, "offline hold: %r" % r.stderr)
        r = ctl(gw, "check")
        check(r.returncode == 0 and "valid" in r.stdout, "check: %r" % r.stderr)

        # a delete ALL whose client stopped reading ends with the master
        gw.start()
        gw.wait_ready()
        check(ctl(gw, "pause", "delivery", "relay").returncode == 0, "pause delivery")
        n = clone_jobs(gw, qid, 40000)
        slow = subprocess.Popen([GATEWAYCTL, "-c", gw.config, "-s", gw.sock, "queue",
                                 "delete", "ALL"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            # the lines fill the pipe, the socket and the control child's buffer
            wait_for(lambda: len(os.listdir(os.path.join(gw.spool, "queue", "relay"))) < n,
                     30, "the delete to start")
            time.sleep(1)
            master = gw.pids()[gw.proc.pid]     # a control child is a fork, no exec
            check([p for p, argv in gw.children().items() if argv == master],
                  "the control child still runs, blocked on its client")
            gw.stop()
            wait_for(lambda: not gw._group_alive(), 10,
                     "no process of the stopped daemon left (the control child and its helpers)")
        finally:
            slow.kill()
            slow.wait()
        # what the stopped delete had taken out of the queue is in trash/,
        # not yet unlinked; the next start sweeps it while it serves
        trash = len(gw.spool_files("trash"))
        left = len(os.listdir(os.path.join(gw.spool, "queue", "relay")))
        check(trash > 0, "the interrupted delete's files wait in trash/")
        gw.start()
        gw.wait_ready()
        wait_for(lambda: gw.spool_files("trash") == [], 120, "trash/ swept after the restart")
        # the sweeper logs once its last unlink is done: trash/ can be
        # empty a moment before the line is written
        wait_for(lambda: "deleted file(s) from" in gw.read_log(), 10, "the sweep is logged")
        check(len(os.listdir(os.path.join(gw.spool, "queue", "relay"))) == left,
              "the sweep left the queue alone (%d jobs, %d in trash/ before)" % (left, trash))
        ok = True
    finally:
        gw.cleanup(ok)


main(test)
