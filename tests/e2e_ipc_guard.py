#!/usr/bin/env python3
"""e2e_ipc_guard - a compromised child cannot take the master down.

The daemon runs as root (children as the gateway user when the test is
root).  Playing an attacker with code execution in a child, inject.py (what
gdb's `call write(3, ...)` does, with ptrace) makes the receiver, the
router or a worker write forged frames on its master socket
(fd 3, proc.h): an unknown type, a length over the cap, a string without
its NUL, a type its role may not send, a second READY, an invalid queue
ID, a sync claim not from the receiver or not a time, a flood, and a router that stops reading while the receiver feeds it
notifications.  Each time the master must log the reason and kill that
child (only that one), restart it (new pid), keep its own pid, and still
deliver mail.

The control child (forked by the master for queue commands) must hold
only stdio, its client and its notify socket plus what it opens in the
spool; a client that never reads its answer is cut off after the timeout
(10 s, control_int.h) while other gatewayctl commands keep working; a
client that sends nothing is disconnected too.

Skipped (exit 77) only when ptrace is refused (or not on x86_64).
"""
import json
import os
import re
import signal
import socket
import struct
import sys
import time

from gwtest import Gateway, TestFailure, check, main, make_message, wait_for
from inject import Injector, write_fd3

IPC = {"READY": 1, "SHUTDOWN": 2, "MSG_NEW": 3, "JOB_NEW": 4, "RECV_STATS": 5,
       "PAUSE": 6, "SYNCED": 19}
CONTROL_TIMEOUT = 10
QID = "0123456789abcdef0123"


def frame(ftype, payload=b"", length=None):
    """One IPC frame: host-order type and length, then the payload."""
    return struct.pack("=II", ftype, len(payload) if length is None else length) + payload


def child_pid(gw, role, connector=None):
    """The pid of the running child of a role, from gatewayctl status."""
    st = json.loads(gw.ctl("status", json=True, check_rc=False))  # 69 while one restarts
    for p in st["processes"]:
        if p["role"] == role and (connector is None or p["connector"] == connector) \
                and p["state"] == "ready" and p["pid"]:
            return p["pid"]
    return 0


def gone(pid):
    """pid has exited (or is a zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(") ", 1)[1][0] == "Z"
    except OSError:
        return True


def still_works(gw, master, tag, n):
    """The master kept its pid; every child is back; mail is delivered."""
    check(gw.proc.poll() is None, "the master is alive after %s:\n%s" % (tag, gw.read_log()[-3000:]))
    check(gw.proc.pid == master, "same master pid after %s" % tag)
    gw.wait_ready(timeout=90)
    before = len(gw.delivered())
    with gw.smtp() as s:
        s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(n, "ipc-" + tag))
    wait_for(lambda: len(gw.delivered()) > before, 60, "delivery after %s" % tag)


def attack(gw, master, role, data, expect, tag, n, connector=None):
    """Forge data from role's child; the master kills it and goes on."""
    pid = child_pid(gw, role, connector)
    check(pid, "a running %s" % role)
    out = write_fd3(pid, data)
    try:
        wait_for(lambda: re.search(r"%s.*\(pid %d\): .*%s.*killing it" % (role, pid, expect),
                                   gw.read_log()), 20, "the master to reject %s" % tag)
    except TestFailure:
        raise TestFailure("no rejection of %s in the log (write returned %s); log tail:\n%s"
                          % (tag, out, gw.read_log()[-3000:]))
    wait_for(lambda: gone(pid), 20, "the %s (pid %d) to be killed" % (role, pid))
    wait_for(lambda: child_pid(gw, role, connector) not in (0, pid), 90,
             "a new %s after %s" % (role, tag))
    still_works(gw, master, tag, n)
    print("ok: %s" % tag)


def frames_attacks(gw, master):
    """Bad frames from each role; a role's restarts back off, so spread them."""
    attack(gw, master, "receiver", frame(99), "unknown frame type", "unknown type", 1)
    attack(gw, master, "router", frame(IPC["READY"]), "unexpected READY",
           "a second READY", 2)
    attack(gw, master, "receiver", frame(IPC["MSG_NEW"], length=0x7fffffff),
           "over the size cap", "over-cap length", 3)
    attack(gw, master, "router", frame(IPC["JOB_NEW"], b"archive\0abc"),
           "malformed JOB_NEW frame: malformed strings", "truncated string", 4)
    attack(gw, master, "receiver",
           frame(IPC["JOB_NEW"], b"archive\0" + QID.encode() + b"\0"),
           "unexpected JOB_NEW", "JOB_NEW from the receiver", 5)
    attack(gw, master, "router", frame(IPC["JOB_NEW"], b"archive\0../../x\0"),
           "invalid queue ID", "invalid queue ID", 6)
    attack(gw, master, "router", frame(IPC["PAUSE"]), "unexpected PAUSE",
           "PAUSE from the router", 7)
    attack(gw, master, "worker", frame(IPC["PAUSE"]), "unexpected PAUSE",
           "PAUSE from a worker", 8)
    # a sync claim comes from the receiver only, and as "seconds.nanoseconds"
    attack(gw, master, "worker", frame(IPC["SYNCED"], b"12.000000000\0"),
           "unexpected SYNCED", "SYNCED from a worker", 9)
    attack(gw, master, "receiver", frame(IPC["SYNCED"], b"12.5\0"),
           "malformed SYNCED frame: bad nanoseconds", "a malformed SYNCED", 10)
    # 2 MB of well-formed, empty counter frames: far past 20000 frames/s
    attack(gw, master, "receiver", frame(IPC["RECV_STATS"]) * (256 * 1024),
           "flooding", "a flood", 11)


def stall_attack(gw, master):
    """A router that stops reading (SIGSTOP) while the receiver sends it
    notifications within the flood bounds: past 16 MB waiting and 10 s
    without reading, the master kills the router, not the receiver."""
    router, receiver = child_pid(gw, "router"), child_pid(gw, "receiver")
    qids = b"".join(b"%020x\0" % (i + 1) for i in range(1000))
    chunk = frame(IPC["MSG_NEW"], qids) * 144          # about 3 MB
    os.kill(router, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        for _ in range(7):                               # about 21 MB
            check(write_fd3(receiver, chunk) == len(chunk), "the receiver wrote its frames")
            time.sleep(1.2)
        time.sleep(max(0, 11 - (time.monotonic() - t0)))
        write_fd3(receiver, frame(IPC["MSG_NEW"], qids[:21]))
        wait_for(lambda: re.search(r"router \(pid %d\): not reading from the master.*killing it"
                                   % router, gw.read_log()), 20, "the stalled router killed")
    finally:
        try:
            os.kill(router, signal.SIGCONT)
        except ProcessLookupError:
            pass
    check(child_pid(gw, "receiver") == receiver, "the receiver was not blamed")
    wait_for(lambda: child_pid(gw, "router") not in (0, router), 90, "a new router")
    still_works(gw, master, "a stalled router", 20)
    print("ok: a router that stopped reading")


def control_child(gw, master):
    """The pid of a forked control child (same argv as the master)."""
    margv = open("/proc/%d/cmdline" % master, "rb").read()
    for pid in gw.children():
        try:
            if pid != master and open("/proc/%d/cmdline" % pid, "rb").read() == margv:
                return pid
        except OSError:
            continue
    return 0


def control_checks(gw, master):
    """Descriptors of a control child; a client that never reads is cut off."""
    gw.ctl("pause", "delivery")
    with gw.smtp() as s:
        s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(100, "big", size=4 << 20))
    wait_for(lambda: gw.spool_files("queue"), 30, "a queued job")
    qid = os.path.basename(gw.spool_files("queue")[0])
    # the child that served "pause" may still be exiting: not the one to look at
    wait_for(lambda: control_child(gw, master) == 0, 10, "the earlier control child gone")
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(gw.sock)
    client.sendall(("queue show %s --body\n" % qid).encode())
    pid = wait_for(lambda: control_child(gw, master), 10, "the control child")
    time.sleep(1)                        # it is blocked writing by now
    fds = {}
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            fds[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    extra = {fd: t for fd, t in fds.items() if fd > 2}
    sockets = [t for t in extra.values() if t.startswith("socket:")]
    others = [t for t in extra.values()
              if not t.startswith("socket:") and not t.startswith(gw.spool)]
    print("control child fds: %s" % sorted(fds.items()))
    check(len(sockets) == 2, "the control child holds 2 sockets (client, notify): %s" % extra)
    check(not others, "the control child holds nothing outside the spool: %s" % others)
    # other commands work while that client does not read
    t0 = time.monotonic()
    for _ in range(3):
        check(gw.ctl("status").startswith("master"), "status while a client does not read")
        check(qid in gw.ctl("queue", "list"), "queue list while a client does not read")
        time.sleep(1)
    wait_for(lambda: gone(pid), CONTROL_TIMEOUT + 10,
             "the control child to give up on the client")
    check(time.monotonic() - t0 >= CONTROL_TIMEOUT - 3, "the client was given its timeout")
    check("client read nothing for %d s" % CONTROL_TIMEOUT in gw.read_log(),
          "the cut is logged")
    client.close()
    # a client that sends nothing is disconnected
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(gw.sock)
    idle.settimeout(CONTROL_TIMEOUT + 10)
    t0 = time.monotonic()
    check(idle.recv(100) == b"", "a silent client gets EOF")
    check(time.monotonic() - t0 >= CONTROL_TIMEOUT - 2, "after the timeout")
    idle.close()
    # a client that dribbles its request (a byte every 2 s, each byte well
    # inside the idle timeout) is cut at CONTROL_TIMEOUT after it connected
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.connect(gw.sock)
    t0 = time.monotonic()
    cut = None
    for b in b"status " + b"x" * 40:
        try:
            slow.sendall(bytes([b]))
        except OSError:
            cut = time.monotonic() - t0
            break
        slow.settimeout(2)
        try:
            if slow.recv(100) == b"":
                cut = time.monotonic() - t0
                break
        except socket.timeout:
            pass
    slow.close()
    check(cut is not None and cut < CONTROL_TIMEOUT + 5,
          "a dribbling client is cut near %d s (cut after %s s)" % (CONTROL_TIMEOUT, cut))
    check("no request line within %d s" % CONTROL_TIMEOUT in gw.read_log(),
          "the dribbler's cut is logged")
    check(gw.proc.poll() is None and gw.proc.pid == master, "master alive after control checks")
    gw.ctl("resume", "delivery")
    wait_for(lambda: any(len(d) > (3 << 20) for d in gw.delivered().values()), 60,
             "the big message delivered")
    print("ok: control child")


def test():
    if os.geteuid() != 0:
        print("SKIP: needs root (the daemon must run as root)")
        sys.exit(77)
    if os.uname().machine != "x86_64":
        print("SKIP: the frame injector (inject.py) is for x86_64")
        sys.exit(77)
    gw = Gateway("ipc-guard")
    ok = False
    try:
        gw.start()
        master = gw.proc.pid
        try:
            Injector(child_pid(gw, "router")).detach()
        except OSError as e:
            print("SKIP: cannot trace a child (ptrace refused?): %s" % e)
            gw.cleanup(True)
            sys.exit(77)
        frames_attacks(gw, master)
        stall_attack(gw, master)
        control_checks(gw, master)
        check(gw.proc.poll() is None and gw.proc.pid == master, "the master survived")
        ok = True
    finally:
        gw.cleanup(ok)


if __name__ == "__main__":
    main(test)
