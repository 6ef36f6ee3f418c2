#!/usr/bin/env python3
"""Power cut: every message answered 250 is on the disk as the disk is
after a power failure, not only in the page cache.

e2e_crash kills processes; the kernel's page cache survives that, so it
cannot tell a sync that was made from one that was not.  Here the spool is
on ext4 on a loop device on a FUSE file that plays a disk with a volatile
write cache: every write is kept in memory and reaches the "platters" (a
second image file) only when the loop device flushes (the kernel sends a
flush, or a FUA write emulated with one, for every journal commit, fsync,
fdatasync and syncfs).  While one session and then four sessions send
messages (one message per commit, then group commits), the cache is cut
at a random moment: from then on nothing more reaches the platters.  The
gateway is killed, the platters' image is mounted (ext4 replays its
journal) and every message answered 250 before the cut must be there,
whole (its last line present).  Then the same with a random part of the
writes that were in the cache at the cut kept (a disk may have written
any of them).

Needs root, /dev/fuse, loop devices and python3-fusepy; without them it
is skipped (77)."""
import os
import random
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

import fusedisk
from gwtest import Gateway, check, main

SIZE = 192 << 20


def serve(backing, platters, mnt, control):
    """The FUSE side (a child process): disk.img is backing (what the
    kernel sees); writes are also queued and copied to platters at each
    fsync, until control exists (the cut).  SIGUSR1 then keeps a random
    half of the queued writes."""
    state = {"pending": [], "cut": False}
    lock = threading.Lock()
    pfd = os.open(platters, os.O_RDWR)

    def keep_some(signum, frame):
        with lock:
            for off, data in state["pending"]:
                if random.random() < 0.5:
                    os.pwrite(pfd, data, off)
            os.fsync(pfd)
            state["pending"] = []

    def cut():
        if not state["cut"]:
            state["cut"] = os.path.exists(control)
        return state["cut"]

    def on_write(offset, data):
        with lock:
            if not cut():
                state["pending"].append((offset, bytes(data)))

    def on_fsync(fd):
        with lock:
            if not cut():
                for off, data in state["pending"]:
                    os.pwrite(pfd, data, off)
                os.fdatasync(pfd)
                state["pending"] = []

    signal.signal(signal.SIGUSR1, keep_some)
    fusedisk.serve(backing, mnt, on_write=on_write, on_fsync=on_fsync)


def usable():
    """None, or why this machine cannot run the test."""
    if os.geteuid() != 0:
        return "not root"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if not os.path.exists("/usr/lib/python3/dist-packages/fusepy.py") and \
            not os.path.exists("/usr/lib/python3/dist-packages/fuse.py"):
        return "no python3-fusepy"
    for tool in ("losetup", "mkfs.ext4", "fusermount"):
        if shutil.which(tool) is None:
            return "no %s" % tool
    if subprocess.run(["losetup", "--find"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        return "no free loop device"
    return None


def body(tag, i):
    tag = tag.encode()
    lines = [b"Message-ID: <%s-%d@powercut.test>" % (tag, i),
             b"Subject: power cut %s %d" % (tag, i), b""]
    lines += [b"line %04d of message %s-%d %s" % (n, tag, i, b"x" * 60)
              for n in range(120)]
    lines.append(b"last line of %s-%d" % (tag, i))
    return b"\r\n".join(lines) + b"\r\n"


def sender(gw, tag, first, acked, stop):
    """One session sending until stop; acked gets (index, time) of each 250."""
    i = first
    try:
        with smtplib.SMTP("127.0.0.1", gw.port, timeout=30) as s:
            while not stop.is_set():
                s.sendmail("scanner@client.test", ["doc@gw.test"], body(tag, i))
                acked.append(i)
                i += 1
    except (smtplib.SMTPException, OSError):
        pass    # the cut, or the kill


def platters_ids(platters, mnt):
    """{message tag-index: whole} found in the spool of the platters' image."""
    found = {}
    with fusedisk.ext4(platters, mnt):
        for root, _, files in os.walk(mnt):
            for f in files:
                try:
                    with open(os.path.join(root, f), "rb") as fp:
                        data = fp.read()
                except OSError:
                    continue
                for line in data.split(b"\r\n"):
                    if line.startswith(b"Message-ID: <") and \
                            line.endswith(b"@powercut.test>"):
                        key = line[13:-15].decode()
                        found[key] = found.get(key, False) or \
                            (b"last line of %s\r\n" % key.encode()) in data
                        break
    return found


def one_cut(work, tag, sessions, keep_some):
    backing = os.path.join(work, "backing.img")
    platters = os.path.join(work, "platters.img")
    control = os.path.join(work, "cut")
    fmnt, mnt = os.path.join(work, "fuse"), os.path.join(work, "mnt")
    for d in (fmnt, mnt):
        os.makedirs(d, exist_ok=True)
    for p in (backing, platters, control):
        if os.path.exists(p):
            os.unlink(p)
    for p in (backing, platters):
        with open(p, "wb") as f:
            f.truncate(SIZE)
    server = fusedisk.start(fmnt, lambda: serve(backing, platters, fmnt, control))
    gw = None
    try:
        with fusedisk.ext4(os.path.join(fmnt, "disk.img"), mnt,
                           mkfs=["-E", "lazy_itable_init=0,lazy_journal_init=0"]):
            try:
                tempfile.tempdir = mnt
                try:
                    gw = Gateway("powercut").start()
                finally:
                    tempfile.tempdir = None
                gw.ctl("pause", "delivery", "archive")   # every message stays in the spool
                acked = [[] for _ in range(sessions)]
                stop = threading.Event()
                threads = [threading.Thread(target=sender,
                                            args=(gw, tag, k * 100000, acked[k], stop))
                           for k in range(sessions)]
                for t in threads:
                    t.start()
                time.sleep(random.uniform(1.0, 3.0))
                before = [list(a) for a in acked]       # answered before the cut
                with open(control, "w"):
                    pass
                time.sleep(0.3)
                stop.set()
                gw.kill_tree()
                for t in threads:
                    t.join(30)
                nacked = sum(len(a) for a in before)
                check(nacked >= 5, "%s: messages answered before the cut: %d" % (tag, nacked))
            finally:
                if gw is not None:
                    gw.kill_tree()
                    gw.logf.close()     # the test's handle on the log, on the mount
    finally:
        if keep_some:
            os.kill(server, signal.SIGUSR1)
            time.sleep(0.5)
        fusedisk.stop(server, fmnt)
    found = platters_ids(platters, mnt)
    lost = ["%s-%d" % (tag, i) for a in before for i in a
            if not found.get("%s-%d" % (tag, i))]
    check(not lost, "%s: %d of %d messages answered 250 before the cut are not on the "
          "disk whole after it: %s" % (tag, len(lost), nacked, lost[:5]))
    print("ok %s: %d answered before the cut, all on the disk (%d messages there)"
          % (tag, nacked, len(found)))


def test():
    why = usable()
    if why is not None:
        print("SKIP e2e_powercut.py: %s" % why)
        sys.exit(77)
    work = tempfile.mkdtemp(prefix="gw-powercut-", dir="/var/tmp")
    try:
        one_cut(work, "one", 1, False)
        one_cut(work, "four", 4, False)
        one_cut(work, "some", 4, True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(test)
