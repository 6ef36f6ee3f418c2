"""inject - make a running process execute system calls (x86_64, ptrace).

What a debugger does for `call write(...)`: attach, save the registers,
point the instruction pointer at a `syscall` instruction of the process's
libc with the call's number and arguments, single-step it, read the
result, restore the registers (restarting a system call the attach
interrupted) and detach.  e2e_ipc_guard.py uses it to play an attacker with
code execution in a gatewayd child; gdb 13 was seen to hang attaching the
worker here, so the test does not depend on it.  Root only.
"""
import ctypes
import os
import time

_libc = ctypes.CDLL(None, use_errno=True)
_ptrace = _libc.ptrace
_ptrace.restype = ctypes.c_long
_ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_SINGLESTEP, PTRACE_GETREGS, PTRACE_SETREGS, PTRACE_ATTACH, PTRACE_DETACH = 9, 12, 13, 16, 17
WALL = 0x40000000
REGS = ("r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax "
        "rip cs eflags rsp ss fs_base gs_base ds es fs gs").split()


class Regs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_ulonglong) for n in REGS]


class Injector:
    """Make a stopped process run system calls (x86_64), as a debugger does."""

    def __init__(self, pid):
        self.pid = pid
        if _ptrace(PTRACE_ATTACH, pid, None, None) == -1:
            raise OSError(ctypes.get_errno(), "ptrace attach %d" % pid)
        self._wait()
        self.saved = Regs()
        self._call(PTRACE_GETREGS, ctypes.byref(self.saved))
        self.sysaddr = self._find_syscall()
        self.alive = True

    def _call(self, req, data=None, addr=None):
        if _ptrace(req, self.pid, addr, data) == -1:
            raise OSError(ctypes.get_errno(), "ptrace %d" % req)

    def _wait(self):
        _, status = os.waitpid(self.pid, WALL)
        if not os.WIFSTOPPED(status):
            return None
        return os.WSTOPSIG(status)

    def _find_syscall(self):
        with open("/proc/%d/maps" % self.pid) as f:
            maps = [l.split() for l in f]
        with open("/proc/%d/mem" % self.pid, "rb", buffering=0) as mem:
            for m in maps:
                if len(m) < 6 or "x" not in m[1] or "libc" not in m[5]:
                    continue
                lo, hi = (int(x, 16) for x in m[0].split("-"))
                mem.seek(lo)
                code = mem.read(hi - lo)
                i = code.find(b"\x0f\x05")
                if i >= 0:
                    return lo + i
        raise OSError("no syscall instruction in libc of %d" % self.pid)

    def _gone(self):
        """The process died (killed under us): collect its death as its tracer,
        so that its parent is told at once."""
        self.alive = False
        for _ in range(200):
            try:
                pid, _ = os.waitpid(self.pid, WALL | os.WNOHANG)
            except ChildProcessError:
                return
            if pid:
                return
            time.sleep(0.01)

    def syscall(self, nr, *args):
        """Run one system call in the process; its result, or None if it died."""
        if not self.alive:
            return None
        try:
            return self._syscall(nr, *args)
        except ProcessLookupError:
            self._gone()
            return None

    def _syscall(self, nr, *args):
        r = Regs.from_buffer_copy(self.saved)
        r.rax, r.orig_rax, r.rip = nr, (1 << 64) - 1, self.sysaddr
        for name, v in zip(("rdi", "rsi", "rdx", "r10", "r8", "r9"), args):
            setattr(r, name, v & ((1 << 64) - 1))
        self._call(PTRACE_SETREGS, ctypes.byref(r))
        for _ in range(100):
            self._call(PTRACE_SINGLESTEP)
            sig = self._wait()
            if sig is None:
                self.alive = False      # reaped by _wait
                return None
            self._call(PTRACE_GETREGS, ctypes.byref(r))
            if r.rip == self.sysaddr + 2:
                break
            # a signal stopped it before the call: run the call again
            r.rax, r.orig_rax, r.rip = nr, (1 << 64) - 1, self.sysaddr
            self._call(PTRACE_SETREGS, ctypes.byref(r))
        v = r.rax
        return v - (1 << 64) if v >= 1 << 63 else v

    def poke(self, addr, data):
        with open("/proc/%d/mem" % self.pid, "r+b", buffering=0) as mem:
            mem.seek(addr)
            mem.write(data)

    def detach(self):
        if not self.alive:
            return
        r = Regs.from_buffer_copy(self.saved)
        rax = r.rax - (1 << 64) if r.rax >= 1 << 63 else r.rax
        if r.orig_rax < 1 << 63 and rax in (-512, -513, -514):
            r.rax, r.rip = r.orig_rax, r.rip - 2      # restart the interrupted call
        elif r.orig_rax < 1 << 63 and rax == -516:
            r.rax, r.rip = 219, r.rip - 2             # restart_syscall
        try:
            self._call(PTRACE_SETREGS, ctypes.byref(r))
            self._call(PTRACE_DETACH, 0)
        except ProcessLookupError:
            self._gone()


def write_fd3(pid, data):
    """Make pid write data on its fd 3 (blocking); what write returned, or None."""
    inj = Injector(pid)
    try:
        addr = inj.syscall(9, 0, len(data), 3, 0x22, -1, 0)     # mmap RW private anon
        if addr is None or addr < 0:
            raise OSError("mmap in %d: %s" % (pid, addr))
        inj.poke(addr, data)
        inj.syscall(72, 3, 4, 2)                                # fcntl F_SETFL O_RDWR
        n = inj.syscall(1, 3, addr, len(data))                  # write
        if n is not None:
            inj.syscall(11, addr, len(data))                    # munmap
            inj.syscall(72, 3, 4, 2 | 0o4000)                   # back to O_NONBLOCK
        return n
    finally:
        inj.detach()
