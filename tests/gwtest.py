"""gwtest - start a real gatewayd from the build tree for end-to-end tests.

Every test gets a private directory with its own spool, mail folder and
configuration, and a free loopback port.  Traffic stays on 127.0.0.1 and
::1; every wait is bounded.
"""
import os
import re
import shutil
import signal
import random
import smtplib
import socket
import subprocess
import sys
import tempfile
import time

TOP_BUILDDIR = os.environ.get("GW_TOP_BUILDDIR",
                              os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
TOP_SRCDIR = os.environ.get("GW_TOP_SRCDIR", TOP_BUILDDIR)
GATEWAYD = os.path.join(TOP_BUILDDIR, "gatewayd", "gatewayd")
GATEWAYCTL = os.path.join(TOP_BUILDDIR, "gatewayd", "gatewayctl")
LIBEXEC = os.path.join(TOP_BUILDDIR, "gatewayd")
CONNECTORS = os.path.join(TOP_BUILDDIR, "connectors", ".libs")
TEST_CONNECTORS = os.path.join(TOP_BUILDDIR, "tests", ".libs")
RUN_USER = os.environ.get("GW_TEST_USER", "_gatewayd")
RECV_USER = os.environ.get("GW_TEST_RECV_USER", "_gatewayd-recv")


class TestFailure(Exception):
    pass


# A sanitizer report (--enable-sanitizers) from any process of the tree.
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|UndefinedBehavior|Thread|Memory)Sanitizer"
                          r"|: runtime error: |Sanitizer has encountered a fatal error"
                          r"|SUMMARY: \w+Sanitizer")


def sanitizer_reports(text):
    """The lines of text that belong to a sanitizer report."""
    return [l for l in text.splitlines() if SANITIZER_RE.search(l)]


def check(cond, what):
    """Assert with a message; raises TestFailure (the test fails)."""
    if not cond:
        raise TestFailure(what)


_PORTS_GIVEN = set()


def _ephemeral_low():
    """The lowest port the kernel hands out for outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback port that binds now, taken below the ephemeral range.

    A port the kernel picked with bind(("", 0)) comes from the range it also
    uses for outgoing connections: between this call and the daemon's bind,
    any connect() on the machine (another test, a benchmark) may take it.
    Ports below that range are only ever taken by an explicit bind, so the
    only race left is with another test choosing the same random port.
    """
    rng = random.SystemRandom()
    high = min(_ephemeral_low(), 65536) - 1
    low = 10000 if high > 12000 else 1024
    for _ in range(200):
        port = rng.randint(low, high)
        if port in _PORTS_GIVEN:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _PORTS_GIVEN.add(port)
        return port
    raise TestFailure("no free loopback port between %d and %d" % (low, high))


def wait_for(pred, timeout, what, interval=0.05):
    """Poll pred() until true or timeout; raises TestFailure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise TestFailure("timed out after %ss waiting for %s" % (timeout, what))


def settle(get, ok, timeout, interval=0.05):
    """Poll get() until ok(value) or timeout; return the last value.

    For state that catches up after the event a test waited for (a job
    removed after its file appeared, counters sent after the delivery):
    the check() that follows still decides, and says what it saw."""
    deadline = time.monotonic() + timeout
    while True:
        v = get()
        if ok(v) or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def run_user():
    """The user children drop to when the tests run as root, or None."""
    if os.geteuid() != 0:
        return None
    import pwd
    try:
        pwd.getpwnam(RUN_USER)
    except KeyError:
        raise TestFailure("tests run as root need the user %s (.ci/run creates it)" % RUN_USER)
    return RUN_USER


def record_file(gw):
    """An empty record file for the test connector, writable by the workers,
    in a directory of its own: the connector runs in the deliverer, which
    reaches no file directly beside the spool (doc/security.md)."""
    d = os.path.join(gw.dir, "out")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    p = os.path.join(d, "record")
    open(p, "w").close()
    os.chmod(p, 0o666)
    return p


def recv_user():
    """The user the receiver drops to when the tests run as root, or None."""
    if os.geteuid() != 0:
        return None
    import pwd
    try:
        pwd.getpwnam(RECV_USER)
    except KeyError:
        raise TestFailure("tests run as root need the user %s (.ci/run creates it)" % RECV_USER)
    return RECV_USER



def is_template(pid):
    """Is pid the worker's template, the process its delivery children are
    forked from (named gatewayd-templ)?"""
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip() == "gatewayd-templ"
    except OSError:
        return False


def ppid_of(pid):
    """The parent of process pid, or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None

class Gateway:
    """A gatewayd instance in a private directory."""

    def __init__(self, name, connectors=None, rules=None, relay_allow=None,
                 local_domains=None, extra="", smtp=None, listener=None):
        self.dir = tempfile.mkdtemp(prefix="gw-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.spool = os.path.join(self.dir, "spool")
        self.mail = os.path.join(self.dir, "mail")
        self.config = os.path.join(self.dir, "gatewayd.yaml")
        self.log = os.path.join(self.dir, "gatewayd.log")
        self.sock = os.path.join(self.dir, "gatewayd.sock")
        self.pidfile = os.path.join(self.dir, "gatewayd.pid")
        self.proc = None
        if connectors is None:
            connectors = [{"name": "archive", "type": "folder",
                           "settings": {"path": self.mail}}]
        if rules is None:
            rules = [{"name": "all", "connector": connectors[0]["name"]}]
        if relay_allow is None:
            relay_allow = ["127.0.0.0/8", "::1"]
        if local_domains is None:
            local_domains = ["gw.test"]
        # extra keys of the SMTP listener, e.g. {"tls": "optional", ...}
        self.listener = listener or {}
        self.write_config(connectors, rules, relay_allow, local_domains, extra, smtp or {})

    def connector_dir(self, connectors):
        if any(c["type"].startswith("testconn") for c in connectors):
            return TEST_CONNECTORS
        return CONNECTORS

    def write_config(self, connectors, rules, relay_allow, local_domains, extra="", smtp=None):
        """(Re)write the configuration file."""
        lines = []
        user = run_user()
        if user:
            lines.append("user: %s" % user)
        lines += [
            "spool: %s" % self.spool,
            "pid_file: %s" % self.pidfile,
            "control_socket: %s" % self.sock,
            "connector_dir: %s" % self.connector_dir(connectors),
            "listeners:",
            "  - name: smtp",
            "    address: 127.0.0.1",
            "    port: %d" % self.port,
        ]
        for k, v in getattr(self, "listener", {}).items():
            lines.append("    %s: %s" % (k, v))
        lines += [
            "smtp:",
            "  hostname: gw.test",
        ]
        for k, v in (smtp or {}).items():
            lines.append("  %s: %s" % (k, v))
        lines.append("relay:")
        lines.append("  local_domains: [%s]" % ", ".join(local_domains))
        lines.append("  allow: [%s]" % ", ".join('"%s"' % a for a in relay_allow))
        lines.append("connectors:")
        for c in connectors:
            lines.append("  - name: %s" % c["name"])
            lines.append("    type: %s" % c["type"])
            for k in ("concurrency", "initial_concurrency", "max_idle"):
                if k in c:
                    lines.append("    %s: %s" % (k, c[k]))
            if "retry" in c:
                lines.append("    retry: {%s}" % ", ".join(
                    "%s: %s" % kv for kv in c["retry"].items()))
            if c.get("settings"):
                lines.append("    settings:")
                for k, v in c["settings"].items():
                    lines.append("      %s: %s" % (k, v))
        lines.append("rules:")
        for r in rules:
            lines.append("  - name: %s" % r["name"])
            for k, v in r.items():
                if k == "name":
                    continue
                if isinstance(v, list):
                    lines.append("    %s: [%s]" % (k, ", ".join('"%s"' % x for x in v)))
                elif isinstance(v, dict):
                    lines.append("    %s: {%s}" % (k, ", ".join("%s: %s" % kv for kv in v.items())))
                else:
                    lines.append('    %s: "%s"' % (k, v))
        if extra:
            lines.append(extra)
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    # -- process control -------------------------------------------------

    def start(self, wait_ready=True):
        env = dict(os.environ, GATEWAYD_LIBEXECDIR=LIBEXEC)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen([GATEWAYD, "-f", "-v", "-c", self.config],
                                     stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20):
        """Until the SMTP port greets and every child reports ready."""
        def greets():
            if self.proc.poll() is not None:
                raise TestFailure("gatewayd exited with %s; log:\n%s" %
                                  (self.proc.returncode, self.read_log()))
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
                if str(self.listener.get("proxy_protocol")) in ("yes", "true", "True"):
                    s.sendall(b"PROXY UNKNOWN\r\n")
                if self.listener.get("tls") == "implicit":
                    import ssl
                    ctx = ssl.create_default_context()
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                    s = ctx.wrap_socket(s)
                data = s.recv(512)
                s.close()
                return data.startswith(b"220")
            except OSError:
                return False
        wait_for(greets, timeout, "the SMTP greeting")

        def all_ready():
            out = self.ctl("status", check_rc=False)
            lines = [l for l in out.splitlines() if l.split()[:1] and
                     l.split()[0] in ("receiver", "router", "worker")]
            return lines and all(l.rstrip().endswith("ready") for l in lines)
        wait_for(all_ready, timeout, "every child to be ready")

    def ctl(self, *args, check_rc=True, json=False):
        cmd = [GATEWAYCTL, "-s", self.sock] + (["--json"] if json else []) + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if sanitizer_reports(r.stderr):
            raise TestFailure("sanitizer report from %s:\n%s" % (" ".join(cmd), r.stderr))
        if check_rc and r.returncode != 0:
            raise TestFailure("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr))
        return r.stdout

    def children(self):
        """Direct children of the master: {pid: argv}"""
        return {pid: argv for pid, argv in self.pids().items()
                if ppid_of(pid) == self.proc.pid}

    def pids(self):
        """pid of every process in the tree: {pid: argv}"""
        out = {}
        if self.proc is None or self.proc.poll() is not None:
            return out
        pgid = os.getpgid(self.proc.pid)
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.getpgid(int(d)) != pgid:
                    continue
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    argv = f.read().split(b"\0")
                out[int(d)] = [a.decode() for a in argv if a]
            except (OSError, ProcessLookupError):
                continue
        return out

    def mapping(self, name):
        """{pid: argv} of the tree's processes that map a file whose
        name contains name (/proc/<pid>/maps; unreadable ones left out)."""
        out = {}
        for pid, argv in self.pids().items():
            try:
                with open("/proc/%d/maps" % pid) as f:
                    if name in f.read():
                        out[pid] = argv
            except OSError:
                continue
        return out

    def kill_tree(self):
        """kill -9 every process of the tree at once."""
        if self.proc is None:
            return
        try:
            os.killpg(os.getpgid(self.proc.pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        # The whole group must be gone before a restart.
        wait_for(lambda: not self._group_alive(), 10, "the killed tree to vanish")

    def _group_alive(self):
        try:
            os.killpg(self.proc.pid, 0)
            return True
        except ProcessLookupError:
            return False

    def stop(self, timeout=60):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_tree()
            raise TestFailure("gatewayd did not stop on SIGTERM within %ss" % timeout)

    def read_log(self):
        try:
            with open(self.log, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def cleanup(self, ok):
        try:
            self.stop()
        except TestFailure:
            pass
        reports = sanitizer_reports(self.read_log())
        if reports:
            print("sanitizer reports in %s:\n%s" % (self.log, "\n".join(reports[:20])))
            ok = False
        if ok and not os.environ.get("GW_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("kept %s for inspection" % self.dir)
        if reports and not sys.exc_info()[0]:
            raise TestFailure("sanitizer report in %s" % self.log)

    # -- mail ----------------------------------------------------------------

    def smtp(self, timeout=30):
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.test",
                            timeout=timeout)

    def delivered(self):
        """Files the folder connector wrote: {name: bytes}"""
        out = {}
        if not os.path.isdir(self.mail):
            return out
        for root, dirs, files in os.walk(self.mail):
            dirs[:] = [d for d in dirs if not d.startswith(".")]   # .gatewayd
            for n in files:
                if n.startswith("."):
                    continue
                with open(os.path.join(root, n), "rb") as f:
                    out[n] = f.read()
        return out

    def spool_files(self, state, spares=False):
        """The files under spool/state; in tmp/, the spare job files
        (spare.<n>: inodes of ended jobs the router writes new jobs into,
        not unfinished work) only with spares."""
        d = os.path.join(self.spool, state)
        res = []
        for root, _dirs, files in os.walk(d):
            res += [os.path.join(root, f) for f in files
                    if spares or state != "tmp" or not SPARE_RE.fullmatch(f)]
        return res


SPARE_RE = re.compile(r"spare\.(0|[1-9][0-9]{0,2})")


def strip_received(data):
    """The message without the Received: header gatewayd prepended."""
    check(data.startswith(b"Received: "), "delivered message starts with Received:")
    i = 0
    lines = data.split(b"\n")
    # Received: plus its folded continuation lines
    i = 1
    while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
        i += 1
    return b"\n".join(lines[i:])


def make_message(i, tag, size=300):
    body = ("line %d of test %s\r\n" % (i, tag)) * max(1, size // 24)
    return ("From: sender@client.test\r\nTo: rcpt@gw.test\r\n"
            "Subject: test %s %d\r\nMessage-ID: <%s.%d@client.test>\r\n\r\n%s"
            % (tag, i, tag, i, body)).encode()


def dotted_message(size):
    """A message of about size bytes whose body is short lines, many of them
    starting with dots: five lines of 17 bytes in all repeat, and as 17 is
    prime to every power of two, the chunks a sender reads in (any size of
    2**k bytes, k >= 5) end at each place of that pattern, a line start
    with a dot, a CR and its LF apart, in a large enough message."""
    pattern = b".\r\n..\r\na\r\n.b.\r\n\r\n"
    return (b"From: sender@client.test\r\nTo: rcpt@gw.test\r\nSubject: dots\r\n\r\n" +
            pattern * max(1, size // len(pattern)) + b"end\r\n")


def dot_stuffed(data):
    """data as SMTP DATA carries it: a dot before each line that begins with
    one, then the final dot (data ends with CRLF)."""
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n"
                    for l in data.split(b"\r\n")[:-1]) + b".\r\n"


def main(test):
    """Run test(); print a result line; exit 0/1 (automake: 77 = skip)."""
    name = os.path.basename(sys.argv[0])
    try:
        test()
    except TestFailure as e:
        print("FAIL %s: %s" % (name, e))
        sys.exit(1)
    print("PASS %s" % name)
    sys.exit(0)
