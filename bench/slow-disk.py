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
at the end.  Debian packages: python3-fusepy, fuse (fusermount).
"""
import argparse
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def serve(backing, mnt, delay):
    """The FUSE side (a child process): one file, 'disk.img'."""
    if "/usr/lib/python3/dist-packages" not in sys.path:
        sys.path.append("/usr/lib/python3/dist-packages")  # not Debian's python3
    from fusepy import FUSE, FuseOSError, Operations  # python3-fusepy

    class OneFile(Operations):
        def __init__(self):
            self.fd = os.open(backing, os.O_RDWR)

        def getattr(self, path, fh=None):
            if path == "/":
                st = os.stat(os.path.dirname(backing))
                return {"st_mode": 0o40755, "st_nlink": 2, "st_size": 4096,
                        "st_mtime": st.st_mtime, "st_ctime": st.st_ctime,
                        "st_atime": st.st_atime}
            if path != "/disk.img":
                raise FuseOSError(errno.ENOENT)
            st = os.fstat(self.fd)
            return {"st_mode": 0o100600, "st_nlink": 1, "st_size": st.st_size,
                    "st_mtime": st.st_mtime, "st_ctime": st.st_ctime,
                    "st_atime": st.st_atime, "st_blocks": st.st_blocks}

        def readdir(self, path, fh):
            return [".", "..", "disk.img"]

        def open(self, path, flags):
            if path != "/disk.img":
                raise FuseOSError(errno.ENOENT)
            return 0

        def read(self, path, size, offset, fh):
            return os.pread(self.fd, size, offset)

        def write(self, path, data, offset, fh):
            return os.pwrite(self.fd, data, offset)

        def truncate(self, path, length, fh=None):
            os.ftruncate(self.fd, length)

        def flush(self, path, fh):
            return 0

        def fsync(self, path, datasync, fh):
            time.sleep(delay)
            os.fdatasync(self.fd)
            return 0

        def release(self, path, fh):
            return 0

    FUSE(OneFile(), mnt, foreground=True, nothreads=False, allow_other=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kw).stdout


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
    server = os.fork()
    if server == 0:
        try:
            serve(backing, fmnt, a.delay_ms / 1000.0)
        finally:
            os._exit(0)
    loop = None
    mounted = False
    status = 1
    try:
        img = os.path.join(fmnt, "disk.img")
        for _ in range(200):
            if os.path.exists(img):
                break
            time.sleep(0.05)
        else:
            sys.exit("slow-disk.py: the FUSE file system did not come up")
        loop = run(["losetup", "--find", "--show", img]).strip()
        run(["mkfs.ext4", "-q", "-F", loop])
        run(["mount", "-t", "ext4", loop, mnt])
        mounted = True
        os.chmod(mnt, 0o755)
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
        if mounted and subprocess.call(["umount", mnt]) != 0:
            print("slow-disk: %s busy (a process of the command left running?): "
                  "detached lazily" % mnt, file=sys.stderr)
            subprocess.call(["umount", "-l", mnt])
        if loop:
            subprocess.call(["losetup", "-d", loop])
        subprocess.call(["fusermount", "-u", fmnt], stderr=subprocess.DEVNULL)
        try:
            os.kill(server, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(server, 0)
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
