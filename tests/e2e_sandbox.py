#!/usr/bin/env python3
"""Seccomp sandboxes: the receiver, the router and a worker's delivery child
run under a filter (Seccomp: 2 in /proc/PID/status).  Each of them is made
to call execve() from inside, and the receiver also ptrace() (not in
sanitizer builds, whose LeakSanitizer needs it): each is killed by SIGSYS,
its parent logs the death as a forbidden system call and starts a new one,
the master keeps its pid, and mail still flows.  An allowed call made the
same way leaves the receiver answering SMTP.  With "sandbox: no" the same
kind of forbidden call (chroot, which fails with EPERM for the unprivileged
user) kills nothing.

The calls are made by tests/syscall_inject (ptrace: the process executes
the system call instruction it waits at once more, with the call's number
and arguments) on x86-64, else by gdb (gdb -p PID -batch -ex 'call ...'),
which on some kernels and CPUs cannot write a process's extended register
state and so cannot call anything; skipped only when neither works."""
import os
import re
import shutil
import subprocess
import sys
import time

from gwtest import (TOP_BUILDDIR, Gateway, TestFailure, check, is_template, main, make_message, ppid_of,
                    wait_for)

SKIP = 77
SIGSYS_LINE = "killed by signal 31"


def sanitizer_build():
    """True when the tree was configured with --enable-sanitizers."""
    try:
        with open(os.path.join(TOP_BUILDDIR, "config.h")) as f:
            return re.search(r"^#define GW_SANITIZERS 1", f.read(), re.M) is not None
    except OSError:
        return False


def gdb_call(pid, expr, timeout=90, lowfds=None):
    """Run 'call EXPR' inside process pid; gdb's combined output.

    A worker loads its connector as /proc/self/fd/N, a name gdb opens in
    its own process: with lowfds (the connector's path) gdb's descriptors
    3..15 are that file, so the name resolves to it instead of to one of
    gdb's own pipes (where gdb would wait forever)."""
    def setup():
        if lowfds is not None:
            fd = os.open(lowfds, os.O_RDONLY)
            for n in range(3, 16):
                if n != fd:
                    os.dup2(fd, n, inheritable=True)
    # No core file of gdb when a process vanishing under it trips an
    # internal assertion of gdb's.
    r = subprocess.run(["gdb", "-nx", "-iex", "maint set internal-error corefile no",
                        "-iex", "maint set internal-error quit yes",
                        "-p", str(pid), "-batch",
                        "-ex", "set confirm off", "-ex", "call " + expr],
                       capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, close_fds=lowfds is None,
                       preexec_fn=setup)
    return r.stdout + r.stderr


INJECT = os.path.join(TOP_BUILDDIR, "tests", "syscall_inject")
# name: (x86-64 system call number, syscall_inject arguments, gdb expression)
CALLS = {
    "getpid": (39, [], "(int)getpid()"),
    "execve": (59, ["s:/bin/true", "0", "0"], '(int)execve("/bin/true", 0, 0)'),
    "ptrace": (101, ["0", "0", "0", "0"], "(long)syscall(101, 0, 0, 0, 0)"),
    "chroot": (161, ["s:/"], '(int)chroot("/")'),
}
USE_GDB = False     # set by test() where syscall_inject cannot work


def call_in(pid, name, lowfds=None):
    """Make pid make the system call name; (its return value or None, the
    tool's output).  syscall_inject needs the process stopped in a system
    call: one busy in user space is tried again a little later."""
    nr, args, expr = CALLS[name]
    if USE_GDB:
        out = gdb_call(pid, expr, lowfds=lowfds)
        m = re.search(r"\$1 = (-?\d+)\b", out)
        return (int(m.group(1)) if m else None), out
    for _ in range(50):
        r = subprocess.run([INJECT, str(pid), str(nr)] + args, capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        if r.returncode != 3:
            break
        time.sleep(0.1)
    out = r.stdout + r.stderr
    m = re.search(r"^result (-?\d+)$", r.stdout, re.M)
    return (int(m.group(1)) if m else None), out


def inject_works():
    """None when syscall_inject makes a child process call getpid here."""
    if not os.access(INJECT, os.X_OK):
        return "no %s" % INJECT
    p = subprocess.Popen(["sleep", "60"])
    try:
        time.sleep(0.2)
        r = subprocess.run([INJECT, str(p.pid), "39"], capture_output=True, text=True, timeout=30)
    finally:
        p.kill()
        p.wait()
    if r.stdout.strip() == "result %d" % p.pid:
        return None
    return "syscall_inject: %s" % (r.stdout + r.stderr).strip()[-300:]


def connector_path(gw):
    """The connector file the worker loaded (from its log line)."""
    m = re.search(r"loaded connector \S+ \S+ from (\S+)", gw.read_log())
    check(m is not None, "the worker logs the connector it loaded")
    return m.group(1)


def gdb_can_attach():
    """None when gdb attaches to a child process here, else why not."""
    if shutil.which("gdb") is None:
        return "gdb is not installed"
    p = subprocess.Popen(["sleep", "60"])
    try:
        out = gdb_call(p.pid, "(int)getpid()", timeout=60)
    finally:
        p.kill()
        p.wait()
    if re.search(r"\$1 = %d\b" % p.pid, out):
        return None
    return "gdb cannot attach to a process: %s" % out.strip()[-300:]


def seccomp_mode(pid):
    """The Seccomp: field of /proc/pid/status (0 none, 2 filter)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Seccomp:"):
                return int(line.split()[1])
    raise TestFailure("no Seccomp: line for pid %d" % pid)


def role_pids(gw, exe):
    """Direct children of the master running gatewayd-EXE."""
    return [pid for pid, argv in gw.children().items()
            if argv and argv[0].rsplit("/", 1)[-1] == "gatewayd-" + exe]


def one_role(gw, exe):
    pids = wait_for(lambda: role_pids(gw, exe), 30, "a running %s" % exe)
    check(len(pids) == 1, "exactly one %s: %s" % (exe, pids))
    return pids[0]


def delivery_child(gw):
    """pid of one delivery child of the (single) worker."""
    worker = one_role(gw, "worker")

    def kids():
        return sorted(p for p in gw.pids() if ppid_of(p) == worker and not is_template(p))
    return worker, wait_for(kids, 30, "a delivery child of worker %d" % worker)[0]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return ppid_of(pid) is not None and "Z" not in open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]


def mail_flows(gw, tag, n):
    """Send one message; wait until n messages are delivered in all."""
    s = gw.smtp()
    check(not s.sendmail("sender@client.test", ["rcpt@gw.test"], make_message(n, tag)),
          "recipient accepted (%s)" % tag)
    s.quit()
    wait_for(lambda: len(gw.delivered()) >= n, 60, "message %d delivered (%s)" % (n, tag))


def kill_by_call(gw, pid, name, what, lowfds=None):
    """Make pid make the system call name; it must die (the caller checks
    that its parent logs signal 31: gdb itself may fail an internal
    assertion when a multi-threaded process vanishes under it)."""
    _, out = call_in(pid, name, lowfds=lowfds)
    try:
        wait_for(lambda: not alive(pid), 30, "%s (pid %d) to be gone" % (what, pid))
    except TestFailure:
        raise TestFailure("%s survived %s; the tool said:\n%s" % (what, name, out[-800:]))


def sandboxed(gw, master):
    sent = 1
    mail_flows(gw, "sbx", sent)
    rcv = one_role(gw, "receiver")
    router = one_role(gw, "router")
    worker, child = delivery_child(gw)
    for pid, what in ((rcv, "receiver"), (router, "router"), (child, "delivery child")):
        check(seccomp_mode(pid) == 2, "%s runs under a seccomp filter" % what)
    check(seccomp_mode(master) == 0 and seccomp_mode(worker) == 0,
          "the master and the worker parent are not filtered")
    log = gw.read_log()
    for role in ("receiver", "router"):
        check("sandbox: %s: a seccomp allowlist" % role in log, "%s logs its sandbox" % role)
    check("sandbox: delivery children: a seccomp deny list" in log, "the worker logs its children's")

    # An allowed call made from inside: the receiver lives and still answers.
    res, out = call_in(rcv, "getpid")
    check(res == rcv, "getpid() from inside the receiver: %s" % out[-400:])
    check(alive(rcv), "the receiver survives an allowed call")
    s = gw.smtp()
    check(s.noop()[0] == 250, "the receiver answers SMTP after the call")
    s.quit()

    calls = [(rcv, "receiver", "execve")]
    if not sanitizer_build():
        calls.append((None, "receiver", "ptrace"))
    calls.append((router, "router", "execve"))
    for pid, role, expr in calls:
        pid = pid or one_role(gw, role)
        nlines = gw.read_log().count(SIGSYS_LINE)
        kill_by_call(gw, pid, expr, role)
        wait_for(lambda: re.search(r"%s \(pid %d\) killed by signal 31 \([^)]*\), a system call "
                                   r"its seccomp sandbox forbids(, core dumped)?; restarting" % (role, pid),
                                   gw.read_log()), 30, "the master's log line for the %s" % role)
        check(gw.read_log().count(SIGSYS_LINE) == nlines + 1, "one death line per kill")
        new = wait_for(lambda: [p for p in role_pids(gw, role) if p != pid], 60,
                       "a new %s" % role)
        check(new[0] != pid, "the %s was restarted" % role)
        gw.wait_ready(timeout=60)
        check(gw.proc.poll() is None and one_role(gw, role) == new[0], "the master kept it running")
        sent += 1
        mail_flows(gw, "sbx", sent)

    kill_by_call(gw, child, "execve", "delivery child", lowfds=connector_path(gw))
    wait_for(lambda: re.search(r"delivery child died \(killed by signal 31 \(a system call the "
                               r"seccomp sandbox forbids\)\)", gw.read_log()), 30,
             "the worker's log line for its delivery child")

    def new_child():
        return [p for p in gw.pids() if ppid_of(p) == worker and p != child and
                not is_template(p)]
    wait_for(new_child, 30, "a new delivery child")
    check(one_role(gw, "worker") == worker, "the worker parent was not killed")
    sent += 1
    mail_flows(gw, "sbx", sent)
    check(gw.proc.poll() is None, "the master is still running")
    check(one_role(gw, "receiver") and gw.proc.pid == master, "same master pid")


def unsandboxed(gw):
    mail_flows(gw, "nosbx", 1)
    rcv = one_role(gw, "receiver")
    router = one_role(gw, "router")
    _worker, child = delivery_child(gw)
    log = gw.read_log()
    check("sandbox: receiver: no seccomp filter (sandbox: no)" in log, "the receiver says it")
    for pid, what in ((rcv, "receiver"), (router, "router"), (child, "delivery child")):
        check(seccomp_mode(pid) == 0, "%s runs without a filter" % what)
        res, out = call_in(pid, "chroot", lowfds=connector_path(gw) if pid == child else None)
        # gdb: chroot() -1 (errno EPERM); syscall_inject: the raw -EPERM
        check(res == -1, "%s: chroot fails with EPERM: %s" % (what, out[-400:]))
        check(alive(pid), "%s survives a call its filter would forbid" % what)
    check(SIGSYS_LINE not in gw.read_log(), "no process killed by SIGSYS")
    mail_flows(gw, "nosbx", 2)


def test():
    global USE_GDB
    why = inject_works()
    if why is not None:
        gdb_why = gdb_can_attach()
        if gdb_why is not None:
            print("SKIP e2e_sandbox.py: %s; %s" % (why, gdb_why))
            sys.exit(SKIP)
        USE_GDB = True
    for enabled in (True, False):
        gw = Gateway("sandbox", extra="" if enabled else "sandbox: no")
        ok = False
        try:
            gw.start()
            master = gw.proc.pid
            if enabled:
                sandboxed(gw, master)
            else:
                unsandboxed(gw)
            check(gw.proc.pid == master and gw.proc.poll() is None, "the master survived")
            ok = True
        finally:
            gw.cleanup(ok)


main(test)
