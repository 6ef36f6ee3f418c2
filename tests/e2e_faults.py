#!/usr/bin/env python3
"""Faults: kill -9 of each single child under load (receiver, router,
worker, a delivery child), every acknowledged message delivered (by unique
Message-ID); a connector that segfaults on one message (the others flow,
it is retried, then failed with a DSN to the sender after the lifetime);
corrupt and truncated queue files quarantined in corrupt/ without a restart
loop; a full spool filesystem during DATA (452 4.3.1, no partial spool
entry, accepting again once there is room: root only, a small tmpfs); a
spool filling up while a job is delivered (the job goes back to deferred/,
not left in active/, and is delivered once there is room: root only);
queue delete ALL on a full spool file system deletes every job (the
rename into trash/ falls back to an unlink: root only, a small ext4);
a router that cannot write a message's jobs routes it again within 10 s;
queue ID instances (-i) distinct among the live children while a
reload drains the old receiver and after a child is killed."""
import errno
import shutil
import os
import re
import signal
import smtplib
import subprocess
import threading
import time

from gwtest import (Gateway, TestFailure, check, is_template, main, make_message, ppid_of, wait_for,
                    record_file)

CLIENTS = 4



def role_pid(gw, role):
    """pid of a receiver, router, worker or delivery child, or None."""
    master = gw.proc.pid
    for pid, argv in gw.pids().items():
        if not argv:
            continue
        exe = os.path.basename(argv[0])
        ppid = ppid_of(pid)
        if role in ("receiver", "router", "worker") and exe == "gatewayd-" + role \
                and ppid == master:
            return pid
        if role == "delivery" and exe == "gatewayd-worker" and ppid != master \
                and not is_template(pid):
            return pid
    return None


class Load:
    """CLIENTS threads sending until stopped; reconnect after any error."""

    def __init__(self, gw, tag):
        self.gw, self.tag = gw, tag
        self.acked = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.client, args=(n,)) for n in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def client(self, n):
        i = n
        s = None
        while not self.stop.is_set() and i < 100000:
            try:
                if s is None:
                    s = self.gw.smtp(timeout=10)
                s.sendmail("sender@client.test", ["rcpt@gw.test"],
                           make_message(i, self.tag, size=1500))
                with self.lock:
                    self.acked.add(i)
                i += CLIENTS
            except (OSError, smtplib.SMTPException):
                s = None        # a killed receiver cuts the session: retry it
                time.sleep(0.05)
        if s is not None:
            try:
                s.quit()
            except (OSError, smtplib.SMTPException):
                pass

    def count(self):
        with self.lock:
            return len(self.acked)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        with self.lock:
            return set(self.acked)


def delivered_ids(gw, tag):
    ids = set()
    pat = re.compile(rb"Message-ID: <%s\.(\d+)@client\.test>" % tag.encode())
    for data in gw.delivered().values():
        m = pat.search(data)
        if m:
            ids.add(int(m.group(1)))
    return ids


def kill_each_child(gw):
    """kill -9 one child at a time while clients send."""
    load = Load(gw, "kill")
    try:
        for role in ("receiver", "router", "worker", "delivery"):
            n = load.count()
            wait_for(lambda: load.count() >= n + 30, 60, "30 more messages before killing the %s" % role)
            pid = wait_for(lambda: role_pid(gw, role), 20, "a %s process" % role)
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: role_pid(gw, role) not in (None, pid), 30,
                     "a new %s after kill -9 of %d" % (role, pid))
            n = load.count()
            wait_for(lambda: load.count() >= n + 20, 60, "messages accepted again after the %s died" % role)
    finally:
        acked = load.finish()
    check(len(acked) >= 200, "at least 200 acknowledged (%d)" % len(acked))
    wait_for(lambda: acked <= delivered_ids(gw, "kill"), 120, "every acknowledged message delivered")
    log = gw.read_log()
    for role in ("receiver", "router", "worker"):
        check(re.search(r"%s[^\n]*\(pid \d+\) killed by signal 9" % role, log),
              "the master logged why the %s died" % role)
    print("kill -9 of each child: %d acknowledged, all delivered" % len(acked))


def corrupt_queue_files(gw):
    """Garbage in incoming/, a truncated job in queue/: quarantined, no loop."""
    gw.stop()
    junk = os.path.join(gw.spool, "incoming", "00000000000000010000")
    with open(junk, "wb") as f:
        f.write(b"\x00\x01 not an envelope\n")
    qdir = os.path.join(gw.spool, "queue", "archive")
    os.makedirs(qdir, exist_ok=True)
    trunc = os.path.join(qdir, "00000000000000020000")
    with open(trunc, "w") as f:
        f.write("gatewayd-envelope 1\nid 00000000000000020000\nkind job\narrival 1.0")
    for p in (junk, trunc):
        os.chmod(p, 0o600)
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("_gatewayd")
            os.chown(p, pw.pw_uid, pw.pw_gid)
    mark = len(gw.read_log())
    gw.start()
    corrupt = os.path.join(gw.spool, "corrupt")
    wait_for(lambda: os.path.isdir(corrupt) and len(os.listdir(corrupt)) >= 2, 20,
             "both bad files quarantined in corrupt/")
    check(not os.path.exists(junk) and not os.path.exists(trunc), "bad files left their queues")
    s = gw.smtp()
    s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(1, "aftercorrupt"))
    s.quit()
    wait_for(lambda: delivered_ids(gw, "aftercorrupt") == {1}, 30, "delivery after the quarantine")
    time.sleep(2)
    log = gw.read_log()[mark:]
    starts = len(re.findall(r"started (router|worker|receiver)", log))
    check(starts <= 3, "no restart loop: %d child starts after one start-up\n%s" % (starts, log[-3000:]))
    print("corrupt files quarantined: %s" % sorted(os.listdir(corrupt)))


def route_retry(gw):
    """The router cannot write a message's jobs (queue/archive not writable
    for it): the message stays in incoming/, and once the directory is
    writable again it is routed within the router's 10 s retry, not at the
    next 60 s safety scan."""
    qdir = os.path.join(gw.spool, "queue", "archive")
    mark = len(gw.read_log())
    os.chmod(qdir, 0o500)
    try:
        s = gw.smtp()
        s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(1, "routeretry"))
        s.quit()
        wait_for(lambda: "cannot write jobs (routing again in 10 s)" in gw.read_log()[mark:],
                 20, "the router's failure logged")
        check(len(os.listdir(os.path.join(gw.spool, "incoming"))) == 1,
              "the message waits in incoming/")
    finally:
        os.chmod(qdir, 0o700)
    failed = time.monotonic()
    wait_for(lambda: delivered_ids(gw, "routeretry") == {1}, 30, "delivery after the retry")
    took = time.monotonic() - failed
    check(took < 15, "routed again within the 10 s retry (%.1f s)" % took)
    print("router retry after a failed job write: delivered %.1f s later" % took)


def full_disk():
    """A 1 MiB tmpfs spool: 452 4.3.1 for a 3 MB message, then room again."""
    if os.geteuid() != 0:
        print("full disk: skipped (needs root to mount a tmpfs)")
        return
    gw = Gateway("full")
    ok = False
    os.makedirs(gw.spool)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "gwtest", gw.spool], check=True)
    try:
        gw.start()
        s = gw.smtp()
        try:
            s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(1, "big", size=3000000))
            raise TestFailure("a 3 MB message was accepted on a 1 MiB spool")
        except smtplib.SMTPDataError as e:
            check(e.smtp_code == 452 and b"4.3.1" in e.smtp_error, "452 4.3.1: %r" % (e.args,))
        except smtplib.SMTPServerDisconnected:
            raise TestFailure("the session was dropped instead of 452 4.3.1")
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            pass
        check(not gw.spool_files("tmp") and not gw.spool_files("incoming")
              and not gw.spool_files("queue"), "no partial spool entry")
        subprocess.run(["mount", "-o", "remount,size=16m", gw.spool], check=True)
        s = gw.smtp()
        s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(2, "big", size=3000000))
        s.quit()
        wait_for(lambda: delivered_ids(gw, "big") == {2}, 30, "the big message delivered once there is room")
        print("full disk: 452 4.3.1, then accepted after the remount")
        ok = True
    finally:
        gw.cleanup(ok) if ok else gw.stop()
        subprocess.run(["umount", "-l", gw.spool])
        if not ok:
            print("kept %s for inspection" % gw.dir)


def fill(path):
    """Write zeros into path until the filesystem is full; bytes written."""
    n = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        for _ in range(100000):
            try:
                n += f.write(chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    return n


def stop_unmount(gw, fs, ok):
    """Stop the gateway, detach the file system mounted on fs, then clean
    up (after the umount: that removes the mount point too)."""
    try:
        gw.stop()
    finally:
        subprocess.run(["umount", "-l", fs])
    gw.cleanup(ok)


def full_disk_delivery():
    """A folder job on a tmpfs that fills up while the job is held: once
    released, the folder write and then the job's update fail with ENOSPC;
    the job is back in deferred/ (not stranded in active/) and delivered
    once there is room.  (A hold rule, not a pause: resuming frees the
    pause file's page, enough for the folder to deliver.)"""
    if os.geteuid() != 0:
        print("full disk during delivery: skipped (needs root to mount a tmpfs)")
        return
    gw = Gateway("fulldlv")
    fs = os.path.join(gw.dir, "fs")
    os.makedirs(fs)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "gwtest", fs], check=True)
    ok = False
    try:
        gw.spool = os.path.join(fs, "spool")
        gw.mail = os.path.join(fs, "mail")
        os.makedirs(gw.mail)
        import pwd
        pw = pwd.getpwnam("_gatewayd")
        os.chown(gw.mail, pw.pw_uid, pw.pw_gid)
        gw.write_config([{"name": "archive", "type": "folder", "settings": {"path": gw.mail},
                          "retry": {"min_backoff": 1, "max_backoff": 1}}],
                        [{"name": "all", "hold": "archive"}], ["127.0.0.0/8", "::1"], ["gw.test"])
        gw.start()
        s = gw.smtp()
        s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(1, "enospc"))
        s.quit()
        held = os.path.join(gw.spool, "hold", "archive")
        wait_for(lambda: os.path.isdir(held) and os.listdir(held), 20, "the job in hold/archive")
        qid = os.listdir(held)[0]
        filler = os.path.join(fs, "filler")
        check(fill(filler) > 0, "the tmpfs filled up")
        mark = len(gw.read_log())
        gw.ctl("queue", "release", qid)
        wait_for(lambda: "%s: job returned to deferred/ after a spool error" % qid
                 in gw.read_log()[mark:], 20, "the worker giving the job back after ENOSPC")
        deferred = os.path.join(gw.spool, "deferred", "archive", qid)
        check(os.path.exists(deferred), "the job is in deferred/archive")
        check(not gw.spool_files("active"), "nothing left in active/: %s" % gw.spool_files("active"))
        log = gw.read_log()[mark:]
        check(re.search(r"%s: cannot move the job to deferred: .*No space left" % qid, log),
              "the ENOSPC of the update is logged with the queue ID")
        check(not delivered_ids(gw, "enospc"), "not delivered while the disk is full")
        os.unlink(filler)
        wait_for(lambda: delivered_ids(gw, "enospc") == {1}, 30, "delivery once there is room")
        wait_for(lambda: not gw.spool_files("deferred") and not gw.spool_files("active")
                 and not gw.spool_files("queue"), 10, "the job gone from the spool")
        check(len([n for n in gw.delivered() if not n.endswith(".json")]) >= 1, "one message filed")
        print("full disk during delivery: job back in deferred/, delivered after the space came back")
        ok = True
    finally:
        stop_unmount(gw, fs, ok)


def full_disk_delete():
    """queue delete ALL on a spool whose file system is full: a deleted job
    is renamed into trash/, which needs new directory blocks as it grows;
    where there is none the files are unlinked instead, so every job is
    deleted and the space comes back (a small ext4 on a loop device)."""
    if os.geteuid() != 0 or shutil.which("mkfs.ext4") is None:
        print("full disk delete: skipped (needs root and mkfs.ext4)")
        return
    gw = Gateway("fulldel")
    fs = os.path.join(gw.dir, "fs")
    img = os.path.join(gw.dir, "fs.img")
    os.makedirs(fs)
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", img], check=True)
    if subprocess.run(["mount", "-o", "loop", img, fs]).returncode != 0:
        print("full disk delete: skipped (no loop device)")
        shutil.rmtree(gw.dir, ignore_errors=True)
        return
    ok = False
    try:
        os.chmod(fs, 0o755)
        gw.spool = os.path.join(fs, "spool")
        gw.write_config([{"name": "archive", "type": "folder", "settings": {"path": gw.mail}}],
                        [{"name": "all", "hold": "archive"}], ["127.0.0.0/8", "::1"], ["gw.test"])
        gw.start()
        n = 300
        s = gw.smtp()
        for i in range(n):
            s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(i, "fulldel"))
        s.quit()
        held = os.path.join(gw.spool, "hold", "archive")
        wait_for(lambda: os.path.isdir(held) and len(os.listdir(held)) == n, 60,
                 "%d jobs in hold/archive" % n)
        check(fill(os.path.join(fs, "filler")) > 0, "the file system filled up")
        out = gw.ctl("queue", "delete", "ALL")
        check(out.count(": deleted (archive)") == n and "E" not in
              "".join(l[:1] for l in out.splitlines()), "every job deleted: %r" % out[-300:])
        check(not os.listdir(held) and not os.listdir(os.path.join(gw.spool, "data")),
              "hold/archive and data/ empty")
        wait_for(lambda: gw.spool_files("trash") == [], 20, "trash/ swept")
        print("full disk delete: %d jobs deleted on a full file system" % n)
        ok = True
    finally:
        stop_unmount(gw, fs, ok)


def child_instances(gw):
    """{pid: (program, -i value)} of the master's children."""
    out = {}
    for pid, argv in gw.children().items():
        if not argv:
            continue        # exiting
        inst = argv[argv.index("-i") + 1] if "-i" in argv else None
        out[pid] = (os.path.basename(argv[0]), inst)
    return out


def check_instances(gw, what):
    inst = child_instances(gw)
    vals = [i for _prog, i in inst.values()]
    check(None not in vals, "%s: every child has -i: %s" % (what, inst))
    check(len(set(vals)) == len(vals), "%s: -i distinct among live children: %s" % (what, inst))
    return inst


def reload_instances():
    """Two receivers alive during a reload (the old one drains an open
    session), then a killed router: the live children never share a queue
    ID instance, and the messages of both receivers get distinct IDs."""
    gw = Gateway("instances")
    ok = False
    try:
        gw.start()
        old = check_instances(gw, "start")
        s = gw.smtp()
        s.ehlo()
        s.mail("a@client.test")
        s.rcpt("old@gw.test")
        gw.ctl("reload")

        def all_up():
            progs = sorted(p for p, _i in child_instances(gw).values())
            return progs == ["gatewayd-receiver", "gatewayd-receiver",
                             "gatewayd-router", "gatewayd-worker"]
        wait_for(all_up, 20, "a new generation beside the draining receiver")
        check_instances(gw, "during the reload")
        n = gw.smtp()
        n.sendmail("a@client.test", ["new@gw.test"], make_message(2, "inst"))
        n.quit()
        code, _ = s.data(make_message(1, "inst"))
        check(code == 250, "the draining receiver accepts its message: %d" % code)
        s.quit()
        wait_for(lambda: delivered_ids(gw, "inst") == {1, 2}, 30, "both messages delivered")
        router = next(p for p, (prog, _i) in child_instances(gw).items() if prog == "gatewayd-router")
        os.kill(router, signal.SIGKILL)
        wait_for(lambda: any(prog == "gatewayd-router" and p != router
                             for p, (prog, _i) in child_instances(gw).items()), 30, "a new router")
        check_instances(gw, "after kill -9 of the router")
        ids = re.findall(r"gatewayd-receiver\[\d+\]: ([0-9a-f]{20}): from=", gw.read_log())
        check(len(ids) == 2 and ids[0][14:16] != ids[1][14:16],
              "the two receivers' IDs carry their own instance: %s (start: %s)" % (ids, old))
        print("queue ID instances distinct: %s" % sorted(i for _p, i in child_instances(gw).values()))
        ok = True
    finally:
        gw.cleanup(ok)


def crashing_connector():
    """testconn: 'crash*' segfaults the delivery child; the rest flows."""
    gw = Gateway("segv", connectors=[
        {"name": "relay", "type": "testconn",
         "retry": {"min_backoff": 1, "max_backoff": 1, "lifetime": 6}}])
    ok = False
    try:
        record = record_file(gw)
        text = open(gw.config).read().replace(
            "    type: testconn\n", "    type: testconn\n    settings:\n      record: %s\n" % record)
        with open(gw.config, "w") as f:
            f.write(text)
        gw.start()
        s = gw.smtp()
        s.sendmail("sender@gw.test", ["crash1@gw.test"], make_message(0, "segv"))
        for i in range(1, 21):
            s.sendmail("sender@gw.test", ["ok%d@gw.test" % i], make_message(i, "segv"))
        s.quit()

        def lines():
            with open(record) as f:
                return [l.split() for l in f if l.strip()]
        wait_for(lambda: sum(1 for l in lines() if l[2] == "ok" and l[1].startswith("ok")) >= 20,
                 30, "the 20 other messages delivered")
        wait_for(lambda: sum(1 for l in lines() if l[2] == "crash") >= 2, 30, "the crashing message retried")
        # after the lifetime: failed, and a DSN to the sender
        wait_for(lambda: any(l[1] == "sender@gw.test" and l[2] == "ok" for l in lines()), 60,
                 "a DSN to sender@gw.test after the lifetime")
        crashes = sum(1 for l in lines() if l[2] == "crash")
        time.sleep(3)
        check(sum(1 for l in lines() if l[2] == "crash") == crashes, "no retry after the failure")
        check(re.search(r"signal 11", gw.read_log()), "the crash is logged with its signal")
        print("crashing connector: %d attempts, then a DSN" % crashes)
        ok = True
    finally:
        gw.cleanup(ok)


def lying_connector():
    """testconn: 'liar*' writes a forged answer (a wrong recipient count) to
    its deliverer's socket; the delivery child refuses the answer, kills
    the deliverer and defers the job, and the next job gets a new one."""
    gw = Gateway("liar", connectors=[
        {"name": "relay", "type": "testconn", "concurrency": 1,
         "retry": {"min_backoff": 60, "max_backoff": 60}}])
    ok = False
    try:
        record = record_file(gw)
        text = open(gw.config).read().replace(
            "    type: testconn\n", "    type: testconn\n    settings:\n      record: %s\n" % record)
        with open(gw.config, "w") as f:
            f.write(text)
        gw.start()
        with gw.smtp() as s:
            s.sendmail("sender@gw.test", ["liar1@gw.test"], make_message(0, "liar"))

        def lines():
            with open(record) as f:
                return [l.split() for l in f if l.strip()]
        wait_for(lambda: "malformed results" in gw.read_log(), 30, "the forged answer refused")
        with gw.smtp() as s:
            s.sendmail("sender@gw.test", ["ok1@gw.test"], make_message(1, "liar"))
        wait_for(lambda: any(l[1] == "ok1@gw.test" and l[2] == "ok" for l in lines()), 30,
                 "the next job delivered by a new deliverer")
        log = gw.read_log()
        check(any(l[1] == "liar1@gw.test" and l[2] == "liar" for l in lines()), "the lie was told")
        check(re.search(r"liar1@gw\.test.*status=deferred", log) and
              not re.search(r"liar1@gw\.test.*status=sent", log),
              "the job of the forged answer deferred, not delivered:\n" + log)
        check(len(gw.spool_files("deferred/relay")) == 1, "it waits in deferred/")
        ok = True
    finally:
        gw.cleanup(ok)


def test():
    gw = Gateway("faults")
    # a job whose delivery child was killed is retried within a second
    gw.write_config([{"name": "archive", "type": "folder", "settings": {"path": gw.mail},
                      "retry": {"min_backoff": 1, "max_backoff": 1}}],
                    [{"name": "all", "connector": "archive"}], ["127.0.0.0/8", "::1"], ["gw.test"])
    ok = False
    try:
        gw.start()
        kill_each_child(gw)
        corrupt_queue_files(gw)
        route_retry(gw)
        ok = True
    finally:
        gw.cleanup(ok)
    crashing_connector()
    lying_connector()
    full_disk()
    full_disk_delivery()
    full_disk_delete()
    reload_instances()


main(test)
