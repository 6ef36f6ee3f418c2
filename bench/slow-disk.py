#!/usr/bin/env python3
"""slow-disk.py - run a command with a file system whose syncs are slow.

    python3 bench/slow-disk.py [--delay-ms 1] [--size-mb 1024] -- COMMAND...

Issue 19 asks for one session on "a disk where a sync costs 4 ms".  This
machine's disk syncs in about 0.3 ms, and its kernel has no device mapper
(no dm-delay), so the slow disk is built from parts that are here: a FUSE
file system (python3-fusepy) that serves one file, the disk image, and
waits DELAY ms in every fsync before it passes the fsync on; a loop device
on that file; ext4 (default options, data=ordered) on the loop device.
Every journal commit of that ext4 ends with a cache flush, which the loop
device turns into an fsync of its backing file, so every fsync,
fdatasync and syncfs on it costs at least DELAY ms, for gatewayd and for
Postfix alike.  Reads and writes pass through unchanged (slower than the
bare disk, the same for both).

The command runs with BENCH_TMPDIR and SLOW_DISK set to the mount point,
so `make bench` (bench/run-bench.py) puts the spools of both targets on
it.  Before the command, it prints what a synchronous 4 KiB write costs
there (dd oflag=dsync).  Root only (losetup, mount); everything is undone
at the end.  Debian packages: python3-fusepy, fuse (fusermount).  The disk
itself is tests/fusedisk.py, shared with tests/e2e_powercut.py.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import fusedisk  # noqa: E402  (tests/fusedisk.py: the FUSE disk, loop device and ext4)


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("--delay-ms", type=float, default=1.0)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    if not cmd:
        sys.exit("usage: slow-disk.py [--delay-ms N] [--size-mb N] -- COMMAND...")
    if os.geteuid() != 0:
        sys.exit("slow-disk.py: root only (losetup, mount)")
    work = tempfile.mkdtemp(prefix="gw-slowdisk-", dir="/var/tmp")
    os.chmod(work, 0o755)   # the targets' unprivileged processes go through it
    backing = os.path.join(work, "backing.img")
    fmnt, mnt = os.path.join(work, "fuse"), os.path.join(work, "mnt")
    os.makedirs(fmnt)
    os.makedirs(mnt)
    with open(backing, "wb") as f:
        f.truncate(a.size_mb << 20)
    def slow_fsync(fd):
        time.sleep(a.delay_ms / 1000.0)
        os.fdatasync(fd)

    server = fusedisk.start(fmnt, lambda: fusedisk.serve(backing, fmnt, on_fsync=slow_fsync,
                                                          threads=True))
    status = 1
    try:
        with fusedisk.ext4(os.path.join(fmnt, "disk.img"), mnt, mkfs=[]) as loop:
            dd = subprocess.run(["dd", "if=/dev/zero", "of=" + os.path.join(mnt, "dd"),
                                 "bs=4k", "count=100", "oflag=dsync"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
            os.unlink(os.path.join(mnt, "dd"))
            secs = re.search(r"copied, ([0-9.]+) s", dd)
            print("slow-disk: %s on %s (loop on FUSE, %.1f ms added to each fsync of the "
                  "image); a synchronous 4 KiB write (dd oflag=dsync, 100 of them) takes "
                  "%s ms" % (mnt, loop, a.delay_ms, "%.1f" % (float(secs.group(1)) * 10)
                             if secs else "? (%s)" % dd.strip()), flush=True)
            env = dict(os.environ, BENCH_TMPDIR=mnt, SLOW_DISK=mnt)
            status = subprocess.call(cmd, env=env)
    finally:
        fusedisk.stop(server, fmnt)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
