#!/usr/bin/env python3
"""sync-cost.py - what each way of committing a file costs on a disk.

    python3 bench/sync-cost.py [DIR] [N]

In DIR (default: $SLOW_DISK, as bench/slow-disk.py sets it, else the
current directory) it writes N (default 40) files of 10 KB three ways and
prints the milliseconds per file of each, twice over:

  fsync1  write tmp, fsync it, rename (Postfix's pattern: it syncs the
          queue file only)
  fsync2  write tmp, fdatasync it, rename, fsync the directory (gatewayd's
          commit without syncfs, and before 4848650)
  syncfs  write tmp, rename, syncfs (gatewayd's commit of a batch)

Example: python3 bench/slow-disk.py -- python3 bench/sync-cost.py
"""
import ctypes
import os
import shutil
import sys
import time

libc = ctypes.CDLL("libc.so.6", use_errno=True)


def run(d, dfd, kind, n):
    t0 = time.monotonic()
    for i in range(n):
        p = os.path.join(d, "%s.%d" % (kind, i))
        tmp = p + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"x" * 10240)
        if kind == "fsync1":
            os.fsync(fd)
            os.rename(tmp, p)
        elif kind == "fsync2":
            os.fdatasync(fd)
            os.rename(tmp, p)
            os.fsync(dfd)
        else:
            os.rename(tmp, p)
            if libc.syncfs(fd) != 0:
                raise OSError(ctypes.get_errno(), "syncfs")
        os.close(fd)
    return (time.monotonic() - t0) / n * 1000


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SLOW_DISK", ".")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    d = os.path.join(top, "sync-cost.%d" % os.getpid())
    os.makedirs(d)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for kind in ("fsync1", "fsync2", "syncfs") * 2:
            print("%-7s %.1f ms per file" % (kind, run(d, dfd, kind, n)), flush=True)
    finally:
        os.close(dfd)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
