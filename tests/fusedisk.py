"""fusedisk.py - a disk whose writes and syncs a test decides: one image
file served by FUSE (python3-fusepy) as <mount>/disk.img, a loop device on
it and ext4 on the loop device.  Every journal commit, fsync, fdatasync and
syncfs of that ext4 reaches the image as an fsync (the loop device's cache
flush), where on_fsync runs.

Used by tests/e2e_powercut.py (a volatile write cache cut at a random
moment) and bench/slow-disk.py (a sync that costs a set delay).  Root only
(losetup, mount); Debian packages python3-fusepy and fuse (fusermount).
"""
import contextlib
import errno
import os
import signal
import subprocess
import sys
import time


def run(cmd):
    """Run cmd, its output as text; raises on failure."""
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True).stdout


def serve(backing, mnt, on_write=None, on_fsync=None, threads=False):
    """Serve the file backing as mnt/disk.img until unmounted (in a child
    process: it does not return before).  on_write(offset, data) runs
    before each write reaches backing; on_fsync(fd) (fd: backing's) answers
    each fsync of disk.img.  threads: FUSE requests in parallel."""
    if "/usr/lib/python3/dist-packages" not in sys.path:
        sys.path.append("/usr/lib/python3/dist-packages")  # not Debian's python3
    from fusepy import FUSE, FuseOSError, Operations

    class Disk(Operations):
        def __init__(self):
            self.fd = os.open(backing, os.O_RDWR)

        def getattr(self, path, fh=None):
            st = os.fstat(self.fd)
            times = {"st_mtime": st.st_mtime, "st_ctime": st.st_ctime,
                     "st_atime": st.st_atime}
            if path == "/":
                return dict(times, st_mode=0o40755, st_nlink=2, st_size=4096)
            if path != "/disk.img":
                raise FuseOSError(errno.ENOENT)
            return dict(times, st_mode=0o100600, st_nlink=1, st_size=st.st_size,
                        st_blocks=st.st_blocks)

        def readdir(self, path, fh):
            return [".", "..", "disk.img"]

        def open(self, path, flags):
            if path != "/disk.img":
                raise FuseOSError(errno.ENOENT)
            return 0

        def read(self, path, size, offset, fh):
            return os.pread(self.fd, size, offset)

        def write(self, path, data, offset, fh):
            if on_write is not None:
                on_write(offset, data)
            return os.pwrite(self.fd, data, offset)

        def truncate(self, path, length, fh=None):
            os.ftruncate(self.fd, length)

        def flush(self, path, fh):
            return 0

        def fsync(self, path, datasync, fh):
            if on_fsync is not None:
                on_fsync(self.fd)
            return 0

        def release(self, path, fh):
            return 0

    FUSE(Disk(), mnt, foreground=True, nothreads=not threads, allow_other=True)


def start(mnt, target, timeout=10.0):
    """Fork a process that runs target() (which calls serve for mnt), and
    wait for mnt/disk.img to appear; the process's pid."""
    pid = os.fork()
    if pid == 0:
        try:
            target()
        finally:
            os._exit(0)
    deadline = time.monotonic() + timeout
    while not os.path.exists(os.path.join(mnt, "disk.img")):
        if time.monotonic() > deadline:
            stop(pid, mnt)
            raise RuntimeError("the FUSE disk did not come up at %s" % mnt)
        time.sleep(0.05)
    return pid


def stop(pid, mnt):
    """Unmount the FUSE file system at mnt and end its server."""
    subprocess.call(["fusermount", "-u", mnt], stderr=subprocess.DEVNULL)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


@contextlib.contextmanager
def ext4(image, mnt, mkfs=None):
    """A loop device on image, mounted on mnt (0755) for the with block;
    mkfs: the mkfs.ext4 options to make a new file system first (None: use
    the one there).  Yields the loop device; unmounts (lazily if busy) and
    detaches it afterwards."""
    loop = run(["losetup", "--find", "--show", image]).strip()
    mounted = False
    try:
        if mkfs is not None:
            run(["mkfs.ext4", "-q", "-F"] + list(mkfs) + [loop])
        run(["mount", "-t", "ext4", loop, mnt])
        mounted = True
        os.chmod(mnt, 0o755)
        yield loop
    finally:
        if mounted and subprocess.call(["umount", mnt]) != 0:
            print("fusedisk: %s busy: detached lazily" % mnt, file=sys.stderr)
            subprocess.call(["umount", "-l", mnt])
        subprocess.call(["losetup", "-d", loop])
