#!/usr/bin/env python3
"""The privilege boundary, played by an attacker with the children's uids.

A daemon started as root; the attacker acts as the queue user (_gatewayd:
router, workers, delivery children) or the receiver's user
(_gatewayd-recv), with setpriv, and tries each path that once led to
root (doc/security.md):

1. the router's start-up chown of <spool>/directive (a symlink to a victim
   directory, then the router killed so that it starts again);
2. gatewayctl directive run by root with a dangling directive/directives.db
   symlink;
3. the master's start-up cleaning of tmp/ with tmp/ a symlink;
5. gatewayctl queue check --repair by root with corrupt/ a symlink.

And a connector's code, which runs in the deliverer (deliver.c), plays a
compromised delivery process: it must reach nothing of the spool, by path
or by a descriptor left open.

Paths 3 and 5 are also played on a spool laid out as before root owned its
root (the queue user owned everything): the symlink is planted, and root
must refuse it rather than follow it.  And the receiver's user must not be
able to touch the queue's directories.  After each attempt: nothing
outside the spool changed owner, mode, content or existence, and mail
still flows.  Skipped (exit 77) when not run as root.
"""
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

from gwtest import GATEWAYCTL, GATEWAYD, LIBEXEC, Gateway, check, main, wait_for, \
    run_user, recv_user, record_file


def as_user(user, *cmd):
    """Run cmd with user's uid, gid and groups; the CompletedProcess."""
    return subprocess.run(["setpriv", "--reuid", user, "--regid", user,
                           "--init-groups", "--"] + list(cmd),
                          capture_output=True, text=True, timeout=30)


def snapshot(top):
    """{path: (uid, gid, mode, content or None)} of a directory tree."""
    out = {}
    for root, dirs, files in os.walk(top):
        for name in [""] + dirs + files:
            p = os.path.join(root, name) if name else root
            st = os.lstat(p)
            data = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    data = f.read()
            out[p] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), data)
    return out


def make_victim():
    """A root-owned directory with a file, as /etc would be."""
    v = tempfile.mkdtemp(prefix="gw-victim-")
    os.chmod(v, 0o755)
    with open(os.path.join(v, "profile"), "w") as f:
        f.write("root's file\n")
    os.chmod(os.path.join(v, "profile"), 0o644)
    return v, snapshot(v)


def child_pid(gw, role):
    for pid, argv in gw.children().items():
        if argv and argv[0].endswith("gatewayd-" + role):
            return pid
    return None


def uid_of(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def send_one(gw, subject):
    s = gw.smtp()
    s.sendmail("scanner@client.test", ["doc@gw.test"],
               "Subject: %s\r\n\r\nbody\r\n" % subject)
    s.quit()
    wait_for(lambda: any(subject.encode() in v for v in gw.delivered().values()),
             30, "delivery of %r" % subject)


def check_layout(gw, quser, ruser):
    q = pwd.getpwnam(quser)
    r = pwd.getpwnam(ruser)
    st = os.lstat(gw.spool)
    check(st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o755,
          "the spool root is root's, 0755: uid %d mode %o" % (st.st_uid, st.st_mode))
    st = os.lstat(os.path.join(gw.spool, "receive"))
    check(st.st_uid == r.pw_uid and stat.S_IMODE(st.st_mode) == 0o2750,
          "receive/ is the receiver's, 2750")
    st = os.lstat(os.path.join(gw.spool, "incoming"))
    check(st.st_uid == q.pw_uid and st.st_gid == r.pw_gid and
          stat.S_IMODE(st.st_mode) == 0o1730, "incoming/ is %s:%s 1730" % (quser, ruser))
    for d in ("tmp", "queue", "data", "directive", "corrupt", "trash"):
        st = os.lstat(os.path.join(gw.spool, d))
        check(st.st_uid == q.pw_uid and stat.S_IMODE(st.st_mode) == 0o700,
              "%s/ is the queue user's, 0700" % d)
    check(uid_of(child_pid(gw, "receiver")) == r.pw_uid, "the receiver runs as %s" % ruser)
    check(uid_of(child_pid(gw, "router")) == q.pw_uid, "the router runs as %s" % quser)


def receiver_confined(gw, ruser):
    """What a compromised receiver cannot do to the queue."""
    for cmd in (["touch", os.path.join(gw.spool, "queue", "archive", "x")],
                ["touch", os.path.join(gw.spool, "data", "x")],
                ["touch", os.path.join(gw.spool, "tmp", "x")],
                ["ls", os.path.join(gw.spool, "incoming")],
                ["ls", os.path.join(gw.spool, "directive")],
                ["mv", os.path.join(gw.spool, "receive"), os.path.join(gw.spool, "r2")]):
        r = as_user(ruser, *cmd)
        check(r.returncode != 0, "the receiver's user cannot %s" % " ".join(cmd))
    # a file of the queue's in incoming/ (a DSN): sticky, not the receiver's
    dsn = os.path.join(gw.spool, "incoming", "dsn-test")
    r = as_user(run_user(), "sh", "-c", "echo x > %s" % dsn)
    check(r.returncode == 0, "the queue user writes incoming/: %s" % r.stderr)
    r = as_user(ruser, "rm", "-f", dsn)
    check(os.path.exists(dsn), "the receiver's user cannot remove the queue's file")
    r = as_user(ruser, "sh", "-c", "echo evil > %s" % dsn)
    check(open(dsn).read() == "x\n", "nor rewrite it")
    os.unlink(dsn)


def attack_directive_chown(gw, quser):
    """Path 1: directive/ swapped for a symlink, the router restarted."""
    victim, before = make_victim()
    d = os.path.join(gw.spool, "directive")
    r = as_user(quser, "mv", d, d + ".old")
    check(r.returncode != 0, "the queue user cannot move directive/ (root's spool root)")
    r = as_user(quser, "ln", "-s", victim, os.path.join(gw.spool, "directive2"))
    check(r.returncode != 0, "nor plant a symlink in the spool root")
    router = child_pid(gw, "router")
    os.kill(router, signal.SIGKILL)
    wait_for(lambda: child_pid(gw, "router") not in (None, router), 20, "router restarted")
    gw.wait_ready()
    check(snapshot(victim) == before, "the victim directory is unchanged (path 1)")
    return victim


def attack_store_symlink(gw, quser, victim):
    """Path 2: directives.db a dangling symlink, gatewayctl directive as root."""
    before = snapshot(victim)
    db = os.path.join(gw.spool, "directive", "directives.db")
    target = os.path.join(victim, "planted.db")
    r = as_user(quser, "sh", "-c", "rm -f %s %s-wal %s-shm && ln -s %s %s" %
                (db, db, db, target, db))
    check(r.returncode == 0, "the queue user owns directive/: %s" % r.stderr)
    r = subprocess.run([GATEWAYCTL, "-c", gw.config, "directive", "list"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0, "gatewayctl directive refuses the symlinked store")
    check(not os.path.lexists(target), "no file created through the symlink (path 2)")
    check(snapshot(victim) == before, "the victim directory is unchanged (path 2)")
    os.unlink(db)


def attack_legacy_tmp(gw, quser, victim):
    """Path 3 on a spool the queue user owned: tmp/ a symlink at start-up."""
    q = pwd.getpwnam(quser)
    gw.stop()
    before = snapshot(victim)
    os.chown(gw.spool, q.pw_uid, q.pw_gid)       # the layout before this one
    os.chmod(gw.spool, 0o700)
    tmp = os.path.join(gw.spool, "tmp")
    r = as_user(quser, "sh", "-c", "mv %s %s.old && ln -s %s %s" % (tmp, tmp, victim, tmp))
    check(r.returncode == 0, "planted tmp -> victim: %s" % r.stderr)
    mark = len(gw.read_log())
    env = dict(os.environ, GATEWAYD_LIBEXECDIR=LIBEXEC)
    r = subprocess.run([GATEWAYD, "-f", "-c", gw.config], capture_output=True,
                       text=True, timeout=60, env=env)
    check(r.returncode != 0, "gatewayd refuses to start on a symlinked tmp/")
    check("refusing to follow" in r.stderr, "and says why: %r" % r.stderr[-300:])
    check(snapshot(victim) == before, "the victim's files are all there (path 3)")
    st = os.lstat(gw.spool)
    check(st.st_uid == 0, "the spool root was taken back by root")
    os.unlink(tmp)
    os.rename(tmp + ".old", tmp)
    gw.start()
    del mark


def attack_repair(gw, quser, victim):
    """Path 5: queue check --repair by root with corrupt/ a symlink."""
    q = pwd.getpwnam(quser)
    gw.stop()
    before = snapshot(victim)
    corrupt = os.path.join(gw.spool, "corrupt")
    # today: the spool root is root's, corrupt/ cannot be swapped
    r = as_user(quser, "mv", corrupt, corrupt + ".old")
    check(r.returncode != 0, "the queue user cannot swap corrupt/")
    # a spool from before: the queue user owned its root
    os.chown(gw.spool, q.pw_uid, q.pw_gid)
    junk = os.path.join(gw.spool, "queue", "archive", "00000000000000010000")
    r = as_user(quser, "sh", "-c", "printf 'junk' > %s && mv %s %s.old && ln -s %s %s"
                % (junk, corrupt, corrupt, victim, corrupt))
    check(r.returncode == 0, "planted corrupt -> victim: %s" % r.stderr)
    r = subprocess.run([GATEWAYCTL, "-c", gw.config, "queue", "check", "--repair"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode != 0, "queue check --repair refuses the symlinked corrupt/")
    check(snapshot(victim) == before, "nothing moved into the victim directory (path 5)")
    check(os.path.exists(junk), "the junk job is still in the spool")
    os.unlink(corrupt)
    os.rename(corrupt + ".old", corrupt)
    os.unlink(junk)
    os.chown(gw.spool, 0, 0)


def deliverer_confined(private=False):
    """The connector's process reaches nothing of the spool.  private: the
    spool is below a directory its user cannot search (the README's quick
    start run from root's home): the rules that hide it are made while
    root, so the deliverer starts and delivers there too."""
    gw = Gateway("privsep-dl", connectors=[{"name": "relay", "type": "testconn"}])
    ok = False
    outdir = None
    try:
        if private:
            outdir = tempfile.mkdtemp(prefix="gw-privsep-out-")
            os.chmod(outdir, 0o755)
            record = os.path.join(outdir, "record")
            open(record, "w").close()
            os.chmod(record, 0o666)
        else:
            record = record_file(gw)
        with open(gw.config) as f:
            text = f.read()
        with open(gw.config, "w") as f:
            f.write(text.replace("    type: testconn\n", "    type: testconn\n    settings:\n"
                                 "      record: %s\n      probe: %s\n" % (record, gw.spool)))
        if private:
            os.chmod(gw.dir, 0o700)
            check(as_user(run_user(), "test", "-x", gw.dir).returncode != 0,
                  "the gateway's user cannot search %s" % gw.dir)
        gw.start()
        s = gw.smtp()
        s.sendmail("scanner@client.test", ["probe@gw.test", "ok@gw.test"],
                   "Subject: probe\r\n\r\nbody\r\n")
        s.quit()
        wait_for(lambda: " ok@gw.test ok" in open(record).read(), 30, "the probe's delivery")
        lines = [l for l in open(record).read().splitlines() if " probe@gw.test " in l]
        log = gw.read_log()
        if "Landlock is not available" in log:
            print("SKIP part: this kernel has no Landlock; the connector's process "
                  "is kept from the spool by closed descriptors only: %s" % lines)
            check(not any("descriptor" in l for l in lines), "no spool descriptor left open")
        else:
            check(lines and lines[0].endswith("probe denied"),
                  "the connector's process reaches nothing of the spool: %s" % lines)
        check(not os.path.exists(os.path.join(gw.spool, "tmp", "probe")),
              "it created nothing in the spool")
        check("cannot hide the spool" not in log, "every deliverer started")
        ok = True
    finally:
        if private:
            os.chmod(gw.dir, 0o755)
        if outdir:
            shutil.rmtree(outdir, ignore_errors=True)
        gw.cleanup(ok)


def test():
    if os.geteuid() != 0:
        print("SKIP: the privilege boundary needs root")
        sys.exit(77)
    quser, ruser = run_user(), recv_user()
    gw = Gateway("privsep")
    ok = False
    victims = []
    try:
        gw.start()
        check_layout(gw, quser, ruser)
        send_one(gw, "before any attack")
        receiver_confined(gw, ruser)
        victim = attack_directive_chown(gw, quser)
        victims.append(victim)
        attack_store_symlink(gw, quser, victim)
        attack_legacy_tmp(gw, quser, victim)
        check_layout(gw, quser, ruser)
        send_one(gw, "after the start-up attack")
        attack_repair(gw, quser, victim)
        gw.start()
        send_one(gw, "after the repair attack")
        r = subprocess.run([GATEWAYCTL, "-c", gw.config, "directive", "list"],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "gatewayctl directive as root works: %s" % r.stderr)
        env = {k: v for k, v in os.environ.items() if k != "SUDO_USER"}
        r = subprocess.run([GATEWAYCTL, "-c", gw.config, "--json", "directive", "create",
                            "--title", "privsep", "--rcpt", "email:doc@gw.test"],
                           capture_output=True, text=True, timeout=30, env=env)
        check(r.returncode == 0, "root creates a directive: %s" % r.stderr)
        r = subprocess.run([GATEWAYCTL, "-c", gw.config, "--json", "directive", "list"],
                           capture_output=True, text=True, timeout=30, env=env)
        check('"owner":"root"' in r.stdout.replace(" ", ""),
              "its owner is root, the caller, not the spool user: %s" % r.stdout)
        st = os.lstat(os.path.join(gw.spool, "directive", "directives.db"))
        check(st.st_uid == pwd.getpwnam(quser).pw_uid, "the store is the spool user's")
        ok = True
    finally:
        gw.cleanup(ok)
        for v in victims:
            subprocess.run(["rm", "-rf", v])
    deliverer_confined()
    deliverer_confined(private=True)


main(test)
